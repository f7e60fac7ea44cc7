"""Engine.IO 3 long-polling for `--serve --eio 3`: the payload framing, CORS, one session.

socket.io-client 1.x/2.x start with long-polling by default (as browsers
do) and upgrade to a WebSocket: GET waits for the packets queued for the
client, POST carries the client's packets. A payload is `len:packet` per
packet, `len` counted in UTF-16 code units as JavaScript counts a string
length (`sources/socketio/payload.py`, the client's codec); `b64=1` clients
get the same text, as every packet here is text.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping

from aiohttp import web

from wstail.serve.playback import ClientGone
from wstail.sources.socketio.payload import decode_payload, encode_payload

__all__ = [
    "PollingSession",
    "cors_headers",
    "decode_payload",
    "encode_payload",
    "preflight_headers",
]

# Packets queued for one polling client before its replays wait for a GET.
_HIGH_WATER = 256


def cors_headers(request: web.Request) -> dict[str, str]:
    """CORS for a credentialed request (socket.io-client sends cookies): echo the Origin."""
    origin = request.headers.get("Origin")
    if origin is None:
        return {"Access-Control-Allow-Origin": "*"}
    return {"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true"}


def preflight_headers(request: web.Request) -> dict[str, str]:
    """The answer to a CORS preflight (OPTIONS): the methods and headers asked for."""
    headers = cors_headers(request)
    headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
    asked: Mapping[str, str] = request.headers
    if "Access-Control-Request-Headers" in asked:
        headers["Access-Control-Allow-Headers"] = asked["Access-Control-Request-Headers"]
    return headers


class PollingSession:
    """One Engine.IO 3 client that came by long-polling: its queue, namespaces, upgrade."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.sid = secrets.token_urlsafe(15)
        self.joined: set[str] = set()
        self.ws: web.WebSocketResponse | None = None  # once upgraded
        self.closed = False
        self.heard = asyncio.Event()  # the client sent something (its pings keep it alive)
        self._outbox: list[str] = []
        self._ready = asyncio.Event()  # the outbox has packets, or a poll must return now
        self._drained = asyncio.Event()
        self._lock = asyncio.Lock()  # replays of two namespaces and pongs share the session

    async def send(self, text: str) -> None:
        """Queue one packet for the next GET (or write it, once upgraded); ClientGone if gone."""
        async with self._lock:
            if self.closed:
                raise ClientGone()
            if self.ws is not None:
                try:
                    await self.ws.send_str(text)
                except ConnectionError:
                    raise ClientGone() from None
                return
            self._outbox.append(text)
            self._ready.set()
            full = len(self._outbox) >= _HIGH_WATER
            if full:
                self._drained.clear()
        if full:
            await self._drained.wait()  # a slow client: the replay waits for its next GET

    async def poll(self, timeout: float) -> list[str]:
        """The packets for one GET: waits until there are some, a wake-up, or `timeout`."""
        if not self._outbox and not self.closed:
            try:
                await asyncio.wait_for(self._ready.wait(), timeout)
            except TimeoutError:
                pass
        packets, self._outbox = self._outbox, []
        self._ready.clear()
        self._drained.set()
        if self.closed:
            packets.append("1")  # close
        return packets or ["6"]  # noop: the poll returns empty-handed

    def wake(self) -> None:
        """End the GET in flight now (an upgrade probe: the client pauses polling)."""
        self._ready.set()

    async def upgrade(self, ws: web.WebSocketResponse) -> None:
        """Move to the WebSocket: what is queued goes first, in order, then everything else."""
        async with self._lock:
            packets, self._outbox = self._outbox, []
            for packet in packets:
                await ws.send_str(packet)
            self.ws = ws
        self._ready.set()
        self._drained.set()

    def close(self) -> None:
        """End the session: the next GET gets the close packet, replays stop at their next send."""
        self.closed = True
        self._ready.set()
        self._drained.set()
