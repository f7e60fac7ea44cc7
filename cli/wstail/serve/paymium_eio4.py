"""`--serve --eio 4` for Paymium captures: python-socketio's AsyncServer on aiohttp.

Engine.IO 4, websocket and polling, CORS open so a browser app can connect.
Its packets are written with exact JSON, so a recorded number keeps its
digits (the args are decoded with every float kept as its text); a
recorded binary event is emitted with its attachments' bytes in place of its
placeholders, which python-socketio sends as a binary event. Which
frames go to which namespace: `wstail.serve.paymium`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from typing import Any

import engineio
import socketio
import socketio.packet
from aiohttp import web
from aiohttp.typedefs import Handler

from wstail.frames import Frame
from wstail.placeholders import attachments_of, with_bytes
from wstail.serve.paymium import NAMESPACES, replays_namespace
from wstail.serve.playback import Playback, Replays, play
from wstail.sources.socketio.polling import ExactJSON
from wstail.sources.socketio.session import silent_logger

__all__ = ["PaymiumEio4Server"]

_CLOSE_TIMEOUT = 2.0  # seconds a closing client is given
# Packets python-engineio may hold for one slow client before its replay waits.
_HIGH_WATER = 256

log = logging.getLogger("wstail.serve")
# python-socketio and python-engineio log packets at INFO: `channel` values are secrets.
_silent = silent_logger("wstail.serve.library")


def _event_of(payload: str | bytes) -> list[Any] | None:
    """The recorded event array (name first), numbers exact; None if it is not one."""
    try:
        event = ExactJSON.loads(payload)
    except (ValueError, RecursionError):
        return None
    if not isinstance(event, list) or not event or not isinstance(event[0], str):
        return None
    return event


class _ExactPacket(socketio.packet.Packet):
    """python-socketio's packet, writing exact numbers as their digits.

    A subclass passed as `serializer=`, not `json=`: that would rebind `json`
    on python-socketio's global Packet class, and so on any client in this
    process.
    """

    json = ExactJSON


class _EngineIO(engineio.AsyncServer):
    """python-engineio's server, holding on to its background tasks to end them on close.

    Each socket's heartbeat is such a task, asleep for a ping interval: left
    alone it would outlive the server.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.background: set[asyncio.Task[Any]] = set()

    def start_background_task(self, target: Any, *args: Any, **kwargs: Any) -> Any:
        """Start a task (python-engineio's way) and keep it until it is done."""
        task = super().start_background_task(target, *args, **kwargs)
        if isinstance(task, asyncio.Task):
            self.background.add(task)
            task.add_done_callback(self.background.discard)
        return task


class _SocketIO(socketio.AsyncServer):
    """python-socketio's server on `_EngineIO`."""

    def _engineio_server_class(self) -> type[engineio.AsyncServer]:
        return _EngineIO


class PaymiumEio4Server:
    """Socket.IO 4 (Engine.IO 4) through python-socketio."""

    def __init__(self, path: str, playback: Playback, replays: Replays) -> None:
        self._path = path
        self._playback = playback
        self._replays = replays
        self._bad_events = 0
        self._requests: set[asyncio.Future[None]] = set()
        self.sio = _SocketIO(
            async_mode="aiohttp",
            cors_allowed_origins="*",
            serializer=_ExactPacket,
            logger=_silent,
            engineio_logger=_silent,
            # ack the namespace before the connect handler starts the replay,
            # so that no event can overtake the CONNECT packet
            always_connect=True,
        )
        for namespace in NAMESPACES:
            self._serve(namespace)

    def add_routes(self, app: web.Application) -> None:
        """Attach Socket.IO at the endpoint path (/ws/socket.io/)."""
        self.sio.attach(app, socketio_path=self._path.strip("/"))
        app.middlewares.append(self._track_request)

    @web.middleware
    async def _track_request(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Keep a future per request in flight (WebSocket sessions, long polls) for close()."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._requests.add(done)
        try:
            return await handler(request)
        finally:
            self._requests.discard(done)
            done.set_result(None)

    def _serve(self, namespace: str) -> None:
        async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
            log.info("Socket.IO client %s joined %s", sid, namespace)
            if namespace == "/public":
                self._start(sid, namespace)

        async def channel(sid: str, *_: Any) -> None:
            if namespace == "/user":  # the value is a secret: never logged
                self._start(sid, namespace)

        async def disconnect(sid: str, *_: Any) -> None:
            self._replays.cancel(("eio4", sid, namespace))
            log.info("Socket.IO client %s left %s", sid, namespace)

        self.sio.on("connect", connect, namespace=namespace)
        self.sio.on("channel", channel, namespace=namespace)
        self.sio.on("disconnect", disconnect, namespace=namespace)

    def _start(self, sid: str, namespace: str) -> None:
        async def send(frame: Frame) -> None:
            event = _event_of(frame.payload)
            if event is None:
                self._report_bad_event()
                return
            attachments = attachments_of(frame.data)
            if attachments is not None:  # python-socketio sends bytes as a binary event
                event = with_bytes(event, attachments)
            await self._drain(sid, namespace)
            await self.sio.emit(event[0], tuple(event[1:]), to=sid, namespace=namespace)

        replay = play(self._playback, replays_namespace(namespace), send)
        self._replays.start(("eio4", sid, namespace), replay)

    def _report_bad_event(self) -> None:
        # Said once, on stderr like every other message: python-socketio cannot
        # re-send such a frame as an event (not an event array, or JSON nested
        # deeper than its encoder goes). `--eio 3` sends recorded text as is.
        if self._bad_events == 0:
            sys.stderr.write(
                "wstail: skipping recorded Socket.IO frames that cannot be sent again as"
                " events (not an event array, or nested too deeply); --eio 3 sends them as"
                " recorded\n"
            )
            sys.stderr.flush()
        self._bad_events += 1

    async def _drain(self, sid: str, namespace: str) -> None:
        """Wait while python-engineio holds many packets for this client (it never pushes back)."""
        eio_sid = self.sio.manager.eio_sid_from_sid(sid, namespace)
        socket = self.sio.eio.sockets.get(eio_sid) if eio_sid is not None else None
        queue = getattr(socket, "queue", None)
        if isinstance(queue, asyncio.Queue) and queue.qsize() >= _HIGH_WATER:
            await queue.join()

    async def close(self) -> None:
        """Disconnect every client and stop python-engineio's background work."""
        eio = self.sio.eio
        sockets, eio.sockets = list(eio.sockets.values()), {}
        # Not eio.disconnect(): it waits until each client took the close
        # packet, and a polling client with no request in flight never does.
        for socket in sockets:
            await socket.close(wait=False, reason=eio.reason.SERVER_DISCONNECT)
        # Let the WebSocket handlers see their clients go, before python-engineio
        # and aiohttp shut down under them (which would leave each waiting for
        # aiohttp's shutdown timeout).
        if self._requests:
            await asyncio.wait(self._requests, timeout=_CLOSE_TIMEOUT)
        await self.sio.shutdown()
        background = list(self.sio.eio.background)
        for task in background:
            task.cancel()
        for task in background:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
