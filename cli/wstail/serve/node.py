"""`--serve` for WebSocket captures: a WebSocket at its path playing the recorded frames.

The node's captures at `/ws`, those of `tail ws` at their recorded URL's
path. Text frames go out verbatim (pretty-printed JSON as the node sends
it), binary frames as binary. Like the real node it never pings; unlike it,
it never echoes: whatever a client sends (a subscription) is read and
dropped. Without --loop a client's session ends after the capture's last
frame: a close with wstail's own code (`END_OF_FEED`, 4000 "end of
capture"), which wstail's client takes as the end of its run.
"""

from __future__ import annotations

import asyncio
import itertools
import logging

from aiohttp import WSCloseCode, web
from aiohttp.web_urldispatcher import PlainResource
from yarl import URL

from wstail.frames import Frame
from wstail.serve.access import client_address
from wstail.serve.playback import ClientGone, Playback, Replays, Say, play
from wstail.sources.wsclient import END_OF_FEED

__all__ = ["END_OF_CAPTURE", "NodeServer"]

_CLOSE_TIMEOUT = 2.0  # seconds a closing client is given to answer the close frame
END_OF_CAPTURE = "end of capture"  # the reason of the END_OF_FEED close

log = logging.getLogger("wstail.serve")


def _is_node_frame(frame: Frame) -> bool:
    return frame.kind in ("text", "binary")


class NodeServer:
    """A WebSocket endpoint (node's, `tail ws`'s): every client gets the capture from its start."""

    def __init__(
        self, path: str, playback: Playback, replays: Replays, say: Say = log.info
    ) -> None:
        self._path = path
        self._playback = playback
        self._replays = replays
        self._say = say
        self._sockets: set[web.WebSocketResponse] = set()
        self._ids = itertools.count(1)

    def add_routes(self, app: web.Application) -> None:
        """Route the endpoint path (`/ws`, a `tail ws` capture's) to the endpoint."""
        # A recorded path is matched as written: no `{name}` patterns, escapes decoded as
        # aiohttp decodes the request's path (`%2F` kept).
        path = URL.build(path=self._path, encoded=True).path_safe
        resource = PlainResource(path)
        app.router.register_resource(resource)
        resource.add_route("GET", self._handle)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(
            timeout=_CLOSE_TIMEOUT, autoping=True, heartbeat=None, compress=False
        )
        if not ws.can_prepare(request).ok:
            return web.Response(status=400, text="a WebSocket endpoint: connect with ws://\n")
        await ws.prepare(request)
        number = next(self._ids)
        key = ("node", number)
        address = client_address(request)
        self._sockets.add(ws)
        self._say(f"client {number} connected from {address} (websocket, {self._path})")

        async def send(frame: Frame) -> None:
            try:
                if isinstance(frame.payload, bytes):
                    await ws.send_bytes(frame.payload)
                else:
                    await ws.send_str(frame.payload)
            except ConnectionError:  # aiohttp's ClientConnectionResetError among them
                raise ClientGone() from None

        closing: list[asyncio.Task[bool]] = []

        async def replay() -> None:
            if await play(self._playback, _is_node_frame, send) and not ws.closed:
                self._say(f"client {number}: end of the capture: closing with {END_OF_FEED}")
                # A task of its own: the handler waits for the close handshake, never cancels it
                close = ws.close(code=END_OF_FEED, message=END_OF_CAPTURE.encode())
                closing.append(asyncio.ensure_future(close))

        self._replays.start(key, replay())
        try:
            async for _message in ws:
                pass  # the real node echoes to everyone: a replay never does
        finally:
            self._replays.cancel(key)
            self._sockets.discard(ws)
            if closing:
                await closing[0]
            else:
                await ws.close()
            self._say(f"client {number} left ({address}, websocket, {self._path})")
        return ws

    async def close(self) -> None:
        """Close every client connection (going away)."""
        for ws in list(self._sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down")
