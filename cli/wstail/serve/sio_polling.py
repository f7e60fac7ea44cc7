"""Engine.IO long-polling for `--serve`: the payload framing of both dialects, CORS, a session.

socket.io-client starts with long-polling by default (as browsers do) and
upgrades to a WebSocket: GET waits for the packets queued for the client,
POST carries the client's packets.

- Engine.IO 3 (socket.io 1.x/2.x): a payload is `len:packet` per packet,
  `len` counted in UTF-16 code units as JavaScript counts a string length
  (`sources/socketio/payload.py`, the client's codec, decodes them). A
  binary packet (a binary event's attachment, held as the bytes an EIO3
  WebSocket binary frame carries: the packet type byte 4, then the
  attachment) goes to clients that asked `b64=1` at the handshake (Node.js
  socket.io-client 2.x) as the text packet `b4<base64>`; to the others
  (browsers with XHR2) a payload holding one is sent in engine.io-parser 2's
  binary framing: per packet, 0 (text) or 1 (binary), the length's decimal
  digits as bytes, 255, then the packet (text as UTF-8).
- Engine.IO 4 (socket.io 3+): packets joined by the record separator
  `\\x1e`, a binary packet (the attachment's bytes alone) as `b<base64>`.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
from collections.abc import Mapping, Sequence

from aiohttp import web

from wstail.serve.access import access_of
from wstail.serve.playback import ClientGone
from wstail.sources.socketio.payload import SEPARATOR, decode_payload, decode_payload4, js_length

__all__ = [
    "Packet",
    "PollingSession",
    "cors_headers",
    "decode_payload",
    "decode_payload4",
    "encode_payload",
    "encode_payload4",
    "preflight_headers",
]

# Packets queued for one polling client before its replays wait for a GET.
_HIGH_WATER = 256


Packet = str | bytes
"""A text packet, or a binary one (EIO3: its type byte 4, then its bytes; EIO4: its bytes)."""


def _as_text(packet: Packet) -> str:
    """An EIO3 packet as text: a binary one base64 (`b4<base64>`)."""
    if isinstance(packet, str):
        return packet
    return f"b{packet[0]}" + base64.b64encode(packet[1:]).decode("ascii")


def encode_payload(packets: Sequence[Packet], *, binary: bool = False) -> str | bytes:
    """The EIO3 payload of `packets`: text (`len:packet` each), or binary framing.

    `binary`: the client takes binary payloads (it did not ask `b64`); the
    binary framing is used only when a packet is binary, as engine.io does.
    """
    if binary and any(isinstance(packet, bytes) for packet in packets):
        return _binary_payload(packets)
    texts = [_as_text(packet) for packet in packets]
    return "".join(f"{js_length(text)}:{text}" for text in texts)


def encode_payload4(packets: Sequence[Packet]) -> str:
    """The EIO4 payload of `packets`: joined by `\\x1e`, a binary one as `b<base64>`."""
    return SEPARATOR.join(
        packet if isinstance(packet, str) else "b" + base64.b64encode(packet).decode("ascii")
        for packet in packets
    )


def _binary_payload(packets: Sequence[Packet]) -> bytes:
    """engine.io-parser 2's binary payload: 0|1, the length's digits as bytes, 255, packet."""
    out = bytearray()
    for packet in packets:
        data = packet.encode("utf-8") if isinstance(packet, str) else packet
        out.append(0 if isinstance(packet, str) else 1)
        out.extend(int(digit) for digit in str(len(data)))
        out.append(255)
        out.extend(data)
    return bytes(out)


def cors_headers(request: web.Request) -> dict[str, str]:
    """CORS: an origin `--cors` names echoed with credentials, or `*` (rules: `access`)."""
    return access_of(request).cors_headers(request.headers.get("Origin"))


def preflight_headers(request: web.Request) -> dict[str, str]:
    """The answer to a CORS preflight (OPTIONS): the methods and headers asked for."""
    headers = cors_headers(request)
    headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
    asked: Mapping[str, str] = request.headers
    if "Access-Control-Request-Headers" in asked:
        headers["Access-Control-Allow-Headers"] = asked["Access-Control-Request-Headers"]
    return headers


class PollingSession:
    """One client that came by long-polling: its queue, namespaces, upgrade."""

    def __init__(self, number: int, address: str = "", *, b64: bool = False) -> None:
        self.number = number
        self.address = address  # where the client came from, for the server's notices
        self.b64 = b64  # EIO3: the client asked for base64 binary packets: no binary payloads
        self.sid = secrets.token_urlsafe(15)
        self.joined: set[str] = set()
        self.ws: web.WebSocketResponse | None = None  # once upgraded
        self.closed = False
        self.heard = asyncio.Event()  # the client sent something (its pings keep it alive)
        self._outbox: list[Packet] = []
        self._ready = asyncio.Event()  # the outbox has packets, or a poll must return now
        self._drained = asyncio.Event()
        self._lock = asyncio.Lock()  # replays of two namespaces and pongs share the session

    async def send(self, text: str) -> None:
        """Queue one packet for the next GET (or write it, once upgraded); ClientGone if gone."""
        await self.send_many((text,))

    async def send_many(self, packets: Sequence[Packet]) -> None:
        """Queue packets together (a binary event and its attachments); ClientGone if gone."""
        async with self._lock:
            if self.closed:
                raise ClientGone()
            if self.ws is not None:
                try:
                    for packet in packets:
                        await _write(self.ws, packet)
                except ConnectionError:
                    raise ClientGone() from None
                return
            self._outbox.extend(packets)
            self._ready.set()
            full = len(self._outbox) >= _HIGH_WATER
            if full:
                self._drained.clear()
        if full:
            await self._drained.wait()  # a slow client: the replay waits for its next GET

    async def poll(self, timeout: float) -> list[Packet]:
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
                await _write(ws, packet)
            self.ws = ws
        self._ready.set()
        self._drained.set()

    def close(self) -> None:
        """End the session: the next GET gets the close packet, replays stop at their next send."""
        self.closed = True
        self._ready.set()
        self._drained.set()


async def _write(ws: web.WebSocketResponse, packet: Packet) -> None:
    """One packet on a WebSocket: a text frame, or a binary frame."""
    if isinstance(packet, str):
        await ws.send_str(packet)
    else:
        await ws.send_bytes(packet)
