"""The asyncio driver of the Socket.IO protocol over one `websockets` connection.

`open_session` dials (`wire.dial`) and feeds the handshake's messages to a
`protocol.SioProtocol` until it is open, sending what it says to send, the
whole bounded by connect_timeout. `WebSocketSession.frames()` then reads
message after message into `SioProtocol.receive` (text) or `receive_binary`
(binary) and yields the frames they make.

Text messages are read undecoded (`decode=False`: a text frame that is not
UTF-8 becomes a meta.bad_frame instead of a 1007 close), which hides whether
a message came as a text or a binary frame. So: while the protocol waits for
a binary event's attachments, the next message is read with websockets'
default decoding, which tells the two apart exactly (a text frame that is
not UTF-8 then closes the connection, 1007); otherwise a message is
text, but in Engine.IO 3 one starting with a byte below 7 (the packet type
of a binary packet, where text packets start with an ASCII digit). An
Engine.IO 4 binary frame no event waits for is read as text (and reported
as a bad frame).

The heartbeat runs on a timer, off the reader's path (`heartbeat.py`): it
sends the pings the protocol queues (EIO3) and, when the protocol gives the
server up, cuts the connection; the reader's recv() then returns what was
received and raises ConnectionClosed, and `reason` says why. The reader
only notes when it starts waiting on an empty buffer, which is when the
server may be judged.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from wstail.envelope import now_us
from wstail.frames import Frame, too_big_frame
from wstail.sources.socketio import codec, wire
from wstail.sources.socketio.heartbeat import Heartbeat
from wstail.sources.socketio.protocol import SioProtocol
from wstail.sources.socketio.session import (
    HandshakeFailed,
    Refused,
    SessionDropped,
    SioTarget,
)

__all__ = ["WebSocketSession", "open_session"]


async def open_session(target: SioTarget, dialect: str) -> WebSocketSession:
    """Handshake, join the namespace, emit the channels; bounded by connect_timeout.

    `dialect`: "eio3" dials `?EIO=3`; "eio4" and "auto" (`probe.py`) dial
    `?EIO=4`. Raises Refused (401/403, namespace refused, a server that is
    not Socket.IO v5 for "eio4"), UpgradeRejected (another HTTP status) or
    HandshakeFailed (anything else worth a retry, the timeout included).
    """
    ws: ClientConnection | None = None
    heard = False  # any handshake message at all
    try:
        async with asyncio.timeout(target.connect_timeout):
            ws = await wire.dial(target, 3 if dialect == "eio3" else 4)
            protocol = SioProtocol(target, dialect)
            while not protocol.is_open:
                message = await _recv(ws)
                heard = True
                protocol.receive_handshake(message)
                for text in protocol.take_outgoing():
                    await _send(ws, text)
            return WebSocketSession(ws, protocol, target.max_frame_size)
    except TimeoutError:
        await wire.abort(ws)
        raise HandshakeFailed(f"handshake timed out after {target.connect_timeout:g} s") from None
    except HandshakeFailed:
        await wire.abort(ws)
        if dialect == "eio3" and ws is not None and not heard and await _opens_eio4(target):
            # socket.io 3/4 without allowEIO3 accept the upgrade, then drop it unanswered
            raise Refused(
                f"{target.display_url} speaks Socket.IO 3/4 (Engine.IO 4), not Engine.IO 3: "
                "use --eio 4 or --eio auto"
            ) from None
        raise
    except BaseException:
        await wire.abort(ws)
        raise


async def _opens_eio4(target: SioTarget) -> bool:
    """Whether the server answers `?EIO=4` with an open packet (asked once, after EIO3 failed)."""
    ws: ClientConnection | None = None
    try:
        async with asyncio.timeout(target.connect_timeout):
            ws = await wire.dial(target, 4)
            return type(codec.decode_packet(await ws.recv())) is codec.Open
    except (HandshakeFailed, Refused, TimeoutError, ConnectionClosed, OSError):
        return False
    finally:
        await wire.abort(ws)


async def _recv(ws: ClientConnection) -> str | bytes:
    """One message during the handshake; a closed connection is a HandshakeFailed."""
    try:
        return await ws.recv()
    except ConnectionClosed as exc:
        raise HandshakeFailed(wire.closed_reason(exc)) from None


async def _send(ws: ClientConnection, text: str) -> None:
    """Send one packet during the handshake; a closed connection is a HandshakeFailed."""
    try:
        await ws.send(text)
    except ConnectionClosed as exc:
        raise HandshakeFailed(wire.closed_reason(exc)) from None


class WebSocketSession:
    """One open Socket.IO connection over WebSocket, joined to its namespace."""

    transport = "websocket"

    def __init__(
        self, ws: ClientConnection, protocol: SioProtocol, max_frame_size: int = 0
    ) -> None:
        self._ws = ws
        self.max_frame_size = max_frame_size  # websockets closes 1009 over it; 0: no limit
        self._sio = protocol
        self.protocol = protocol.protocol or ""  # "eio3" | "eio4": known once open
        self._loop = asyncio.get_running_loop()
        self._pinging: asyncio.Task[None] | None = None
        self._waiting_since: float | None = None  # None while the consumer has the frame
        self._reason: str | None = None  # why the heartbeat cut the connection
        self._heartbeat = Heartbeat(protocol, self._ping, self._cut, lambda: self._waiting_since)

    def __repr__(self) -> str:
        return f"<WebSocketSession {self._sio!r}>"

    async def frames(self) -> AsyncIterator[Frame]:
        """Events of the namespace and bad-frame reports; ends by raising SessionDropped."""
        loop = self._loop
        ws = self._ws
        sio = self._sio
        receive = sio.receive
        receive_binary = sio.receive_binary
        eio3 = self.protocol == "eio3"
        self._heartbeat.start()
        try:
            while True:
                self._waiting_since = loop.time()
                try:
                    binary_due = sio.attachments_due
                    raw = await ws.recv(decode=None if binary_due else False)
                except ConnectionClosed as exc:
                    limit = self.max_frame_size
                    if exc.sent is not None and exc.sent.code == 1009 and limit:
                        # websockets' max_size: the message was never held; reconnect
                        yield too_big_frame(now_us(), exc.sent.reason, limit)
                        raise SessionDropped(f"frame over the limit of {limit} bytes") from None
                    raise SessionDropped(self._reason or wire.closed_reason(exc)) from None
                now = loop.time()
                self._waiting_since = None
                if isinstance(raw, str) or not (binary_due or (eio3 and raw and raw[0] < 7)):
                    frame = receive(raw, now, now_us())
                else:
                    frame = receive_binary(raw, now, now_us())
                if sio.outgoing:
                    await self._send(sio.take_outgoing())
                if frame is not None:
                    yield frame
                    if sio.backlog:
                        for late in sio.take_backlog():
                            yield late
        finally:
            self._stop()

    def _cut(self, reason: str) -> None:
        """The heartbeat gave the server up: the reader's recv() ends, `reason` says why."""
        self._reason = reason
        self._ws.transport.abort()

    def _ping(self, texts: list[str]) -> None:
        if self._pinging is None or self._pinging.done():  # else one is still on its way
            self._pinging = self._loop.create_task(self._send_pings(texts))

    async def _send_pings(self, texts: list[str]) -> None:
        try:
            for text in texts:
                await self._ws.send(text)
        except ConnectionClosed:
            pass  # the reader finds the connection closed

    async def _send(self, texts: list[str]) -> None:
        try:
            for text in texts:
                await self._ws.send(text)
        except ConnectionClosed as exc:
            raise SessionDropped(self._reason or wire.closed_reason(exc)) from None

    def _stop(self) -> None:
        self._heartbeat.stop()
        if self._pinging is not None:
            self._pinging.cancel()

    async def close(self) -> None:
        """Close the WebSocket (idempotent)."""
        self._stop()
        await wire.abort(self._ws)
