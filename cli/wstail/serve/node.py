"""`--serve` for WebSocket captures: a WebSocket at its path playing the recorded frames.

The node's captures at `/ws`, those of `tail ws` at their recorded URL's
path. Text frames go out verbatim (pretty-printed JSON as the node sends
it), binary frames as binary. Like the real node it never pings; unlike it,
it never echoes: whatever a client sends (a subscription) is read and dropped.
"""

from __future__ import annotations

import itertools
import logging

from aiohttp import WSCloseCode, web
from aiohttp.web_urldispatcher import PlainResource
from yarl import URL

from wstail.frames import Frame
from wstail.serve.playback import ClientGone, Playback, Replays, play

__all__ = ["NodeServer"]

_CLOSE_TIMEOUT = 2.0  # seconds a closing client is given to answer the close frame

log = logging.getLogger("wstail.serve")


def _is_node_frame(frame: Frame) -> bool:
    return frame.kind in ("text", "binary")


class NodeServer:
    """A WebSocket endpoint (node's, `tail ws`'s): every client gets the capture from its start."""

    def __init__(self, path: str, playback: Playback, replays: Replays) -> None:
        self._path = path
        self._playback = playback
        self._replays = replays
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
        key = ("node", next(self._ids))
        self._sockets.add(ws)
        log.info("client %s connected from %s", key[1], request.remote)

        async def send(frame: Frame) -> None:
            try:
                if isinstance(frame.payload, bytes):
                    await ws.send_bytes(frame.payload)
                else:
                    await ws.send_str(frame.payload)
            except ConnectionError:  # aiohttp's ClientConnectionResetError among them
                raise ClientGone() from None

        self._replays.start(key, play(self._playback, _is_node_frame, send))
        try:
            async for _message in ws:
                pass  # the real node echoes to everyone: a replay never does
        finally:
            self._replays.cancel(key)
            self._sockets.discard(ws)
            await ws.close()
            log.info("client %s left", key[1])
        return ws

    async def close(self) -> None:
        """Close every client connection (going away)."""
        for ws in list(self._sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down")
