"""`--serve` for Paymium captures: Socket.IO at `/ws/socket.io`, namespaces /public and /user.

Each recorded `sio` frame goes to the clients of the namespace it was
recorded on, with its recorded event name and arguments:
- /public: from the moment a client joins the namespace;
- /user: only once the client emitted `channel` (any value: a replay has no
  secrets to check), and from then on, like the live server.

Two dialects, as the live server and its successors speak them:
- `eio="4"` (`PaymiumEio4Server`): python-socketio's AsyncServer on aiohttp,
  Engine.IO 4, websocket and polling, CORS open so a browser app can connect.
  Its packets are written with exact JSON, so a recorded number keeps its
  digits (the args are decoded with every float kept as its text).
- `eio="3"` (`PaymiumEio3Server`): Engine.IO 3 like the live Paymium server
  (socket.io 1.x), written here with the `eio3` codec. WebSocket transport
  only: a polling request gets HTTP 400, so socket.io-client 1.x/2.x need
  `transports: ['websocket']`. The recorded event text goes out verbatim.
  The `EIO` query parameter is ignored, as the live server does, so that
  `--eio auto` clients find an EIO3 server.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
import sys
from collections.abc import Callable, Hashable
from typing import Any

import engineio
import socketio
import socketio.packet
from aiohttp import WSCloseCode, WSMsgType, web
from aiohttp.typedefs import Handler

from wstail.frames import Frame
from wstail.serve_replay import ClientGone, Playback, Replays, play
from wstail.sources.socketio import codec as eio3
from wstail.sources.socketio.polling import ExactJSON
from wstail.sources.socketio.session import DEFAULT_PATH, silent_logger

__all__ = ["NAMESPACES", "SOCKETIO_PATH", "PaymiumEio3Server", "PaymiumEio4Server"]

SOCKETIO_PATH = DEFAULT_PATH  # "/ws/socket.io"
NAMESPACES = ("/public", "/user")
# Engine.IO 3 heartbeat announced to clients (ms); engine.io's defaults.
PING_INTERVAL_MS = 25_000
PING_TIMEOUT_MS = 60_000
_CLOSE_TIMEOUT = 2.0  # seconds a closing client is given
# Packets python-engineio may hold for one slow client before its replay waits.
_HIGH_WATER = 256

log = logging.getLogger("wstail.serve")
# python-socketio and python-engineio log packets at INFO: `channel` values are secrets.
_silent = silent_logger("wstail.serve.library")


def _replays_namespace(namespace: str) -> Callable[[Frame], bool]:
    """The `keep` rule of a namespace's replay: its own recorded Socket.IO frames."""

    def keep(frame: Frame) -> bool:
        return frame.kind == "sio" and frame.channel == namespace

    return keep


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

    def __init__(self, playback: Playback, replays: Replays) -> None:
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
        """Attach Socket.IO at /ws/socket.io/."""
        self.sio.attach(app, socketio_path=SOCKETIO_PATH.strip("/"))
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
            await self._drain(sid, namespace)
            await self.sio.emit(event[0], tuple(event[1:]), to=sid, namespace=namespace)

        replay = play(self._playback, _replays_namespace(namespace), send)
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


class _Eio3Client:
    """One Engine.IO 3 WebSocket client: its namespaces and its send lock."""

    def __init__(self, ws: web.WebSocketResponse, number: int) -> None:
        self.ws = ws
        self.number = number
        self.sid = secrets.token_urlsafe(15)
        self.joined: set[str] = set()
        self._lock = asyncio.Lock()  # replays of two namespaces and pongs share the socket

    async def send(self, text: str) -> None:
        """Write one packet; ClientGone if the client is no longer there."""
        async with self._lock:
            if self.ws.closed:
                raise ClientGone()
            try:
                await self.ws.send_str(text)
            except ConnectionError:  # aiohttp's ClientConnectionResetError among them
                raise ClientGone() from None


def _of_client(number: int) -> Callable[[Hashable], bool]:
    """A `cancel_where` rule: the replays of one Engine.IO 3 client, every namespace."""
    return lambda key: isinstance(key, tuple) and key[:2] == ("eio3", number)


class PaymiumEio3Server:
    """Socket.IO 1.x/2.x (Engine.IO 3) over aiohttp WebSockets, with the `eio3` codec."""

    def __init__(self, playback: Playback, replays: Replays) -> None:
        self._playback = playback
        self._replays = replays
        self._clients: set[_Eio3Client] = set()
        self._numbers = itertools.count(1)

    def add_routes(self, app: web.Application) -> None:
        """Route /ws/socket.io/ (with or without the slash) to the endpoint."""
        app.router.add_get(SOCKETIO_PATH + "/", self._handle)
        app.router.add_get(SOCKETIO_PATH, self._handle)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(
            timeout=_CLOSE_TIMEOUT, autoping=True, heartbeat=None, compress=False
        )
        if request.query.get("transport") != "websocket" or not ws.can_prepare(request).ok:
            # engine.io's error body; polling is not served (see the module docstring)
            return web.json_response(
                {"code": 0, "message": "Transport unknown: this replay serves transport=websocket"},
                status=400,
                headers={"Access-Control-Allow-Origin": "*"},
            )
        await ws.prepare(request)
        client = _Eio3Client(ws, next(self._numbers))
        self._clients.add(client)
        log.info("Engine.IO 3 client %d connected from %s", client.number, request.remote)
        try:
            await self._converse(client)
        except ClientGone:
            pass
        finally:
            self._replays.cancel_where(_of_client(client.number))
            self._clients.discard(client)
            await ws.close()
            log.info("Engine.IO 3 client %d left", client.number)
        return ws

    async def _converse(self, client: _Eio3Client) -> None:
        """Handshake, then answer the client's packets until it leaves or falls silent."""
        opened = eio3.Open(client.sid, PING_INTERVAL_MS, PING_TIMEOUT_MS)
        await client.send(eio3.encode_packet(opened))
        await client.send(eio3.encode_connect("/"))  # socket.io 1.x/2.x join "/" at once
        silence = (PING_INTERVAL_MS + PING_TIMEOUT_MS) / 1000
        while True:
            try:
                message = await client.ws.receive(timeout=silence)
            except TimeoutError:
                log.info("Engine.IO 3 client %d sent no ping for %g s", client.number, silence)
                return
            if message.type == WSMsgType.TEXT:
                if not await self._on_packet(client, eio3.decode_packet(message.data)):
                    return
            elif message.type != WSMsgType.BINARY:  # CLOSE, CLOSING, CLOSED, ERROR
                return

    async def _on_packet(self, client: _Eio3Client, packet: eio3.Packet) -> bool:
        """Act on one client packet; False when the client closed the session."""
        match packet:
            case eio3.Ping(data=data):
                await client.send(eio3.encode_pong(data))
            case eio3.Connect(namespace=namespace) if namespace in NAMESPACES:
                await client.send(eio3.encode_connect(namespace))
                client.joined.add(namespace)
                if namespace == "/public":
                    self._start(client, namespace)
            case eio3.Connect(namespace=namespace) if namespace not in ("", "/"):
                refusal = eio3.NamespaceError(namespace, "Invalid namespace")
                await client.send(eio3.encode_packet(refusal))
            case eio3.Event(namespace="/user", name="channel") if "/user" in client.joined:
                self._start(client, "/user")  # the value is a secret: never logged
            case eio3.Disconnect(namespace=namespace):
                client.joined.discard(namespace)
                self._replays.cancel(("eio3", client.number, namespace))
            case eio3.Close():
                return False
            case _:
                pass  # pongs, upgrades, noops, acks, events of no interest
        return True

    def _start(self, client: _Eio3Client, namespace: str) -> None:
        async def send(frame: Frame) -> None:
            if namespace not in client.joined:
                raise ClientGone()  # left the namespace between two frames
            if isinstance(frame.payload, str):  # always, from a capture
                await client.send(eio3.encode_event_text(namespace, frame.payload))

        replay = play(self._playback, _replays_namespace(namespace), send)
        self._replays.start(("eio3", client.number, namespace), replay)

    async def close(self) -> None:
        """Close every client: the Engine.IO close packet, then the WebSocket (going away)."""
        for client in list(self._clients):
            with contextlib.suppress(ClientGone):
                await client.send(eio3.encode_close())
            await client.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down")
