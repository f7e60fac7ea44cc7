"""The asyncio driver of the Socket.IO protocol over one WebSocket (`wire.py`).

`open_session` dials (`wire.dial`) and feeds the handshake's messages to a
`protocol.SioProtocol` until it is open, sending what it says to send, the
whole bounded by connect_timeout. `WebSocketSession.batches()` then takes
the messages of each socket read at once (`WebSocketClient.recv_batch`) and
yields the frames `SioProtocol.receive` (text) or `receive_binary` (binary)
make of them, a batch per read: their records go to the output together.

Text messages come decoded; one that is not UTF-8 comes as `BadText` and
becomes a meta.bad_frame (websockets' own client would close with 1007). A
binary message goes to `receive_binary` while a binary event waits for its
attachments, and in Engine.IO 3 when it starts with a byte below 7 (the
packet type of a binary packet); any other binary message is read as text
(an Engine.IO 4 binary frame no event waits for is reported as a bad frame).
A message over --max-frame-size (`Oversized`, never held) is a meta.bad_frame
and ends the session (closed with 1009), as the size of the packets after it
cannot be trusted to fit the protocol's state.

The heartbeat runs on a timer, off the reader's path (`heartbeat.py`): it
sends the pings the protocol queues (EIO3) and, when the protocol gives the
server up, cuts the connection; the reader's recv_batch() then returns what
was received and raises ConnectionClosed, and `reason` says why. The reader
only notes when it starts waiting on an empty buffer, which is when the
server may be judged.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode

from wstail.envelope import now_us
from wstail.frames import Frame, oversized_frame, too_big_frame
from wstail.sources.socketio import codec, wire
from wstail.sources.socketio.heartbeat import Heartbeat
from wstail.sources.socketio.protocol import SioProtocol
from wstail.sources.socketio.session import (
    HandshakeFailed,
    Refused,
    SessionDropped,
    SioTarget,
)
from wstail.sources.wsclient import WebSocketClient
from wstail.sources.wsframes import BadText, Message, Oversized
from wstail.words import counted

__all__ = ["WebSocketSession", "open_session"]


async def open_session(target: SioTarget, dialect: str) -> WebSocketSession:
    """Handshake, join the namespace, emit the channels; bounded by connect_timeout.

    `dialect`: "eio3" dials `?EIO=3`; "eio4" and "auto" (`probe.py`) dial
    `?EIO=4`. Raises Refused (401/403, namespace refused, a server that is
    not Socket.IO v5 for "eio4"), UpgradeRejected (another HTTP status) or
    HandshakeFailed (anything else worth a retry, the timeout included).
    """
    ws: WebSocketClient | None = None
    heard = False  # any handshake message at all
    try:
        async with asyncio.timeout(target.connect_timeout):
            ws = await wire.dial(target, 3 if dialect == "eio3" else 4)
            protocol = SioProtocol(target, dialect)
            messages: list[Message] = []
            while not protocol.is_open:
                if not messages:
                    grace = protocol.join_grace
                    if grace is None:
                        messages = await _recv(ws)
                    else:
                        try:
                            async with asyncio.timeout(grace):
                                messages = await _recv(ws)
                        except TimeoutError:  # no join of `/` unasked: not socket.io 1.x/2.x
                            protocol.join_now()
                            for text in protocol.take_outgoing():
                                _send(ws, text)
                            continue
                heard = True
                protocol.receive_handshake(_handshake_message(messages.pop(0)))
                for text in protocol.take_outgoing():
                    _send(ws, text)
            # what came with the namespace ack is the session's first read
            return WebSocketSession(ws, protocol, target.max_frame_size, messages)
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
    ws: WebSocketClient | None = None
    try:
        async with asyncio.timeout(target.connect_timeout):
            ws = await wire.dial(target, 4)
            first = (await ws.recv_batch())[0]
            return type(first) is str and type(codec.decode_packet(first)) is codec.Open
    except (HandshakeFailed, Refused, TimeoutError, ConnectionClosed, OSError):
        return False
    finally:
        await wire.abort(ws)


async def _recv(ws: WebSocketClient) -> list[Message]:
    """The messages of one read during the handshake; a closed connection is a HandshakeFailed."""
    try:
        return await ws.recv_batch()
    except ConnectionClosed as exc:
        raise HandshakeFailed(wire.closed_reason(exc)) from None


def _handshake_message(message: Message) -> str | bytes:
    """A handshake message as the protocol takes it; a frame it cannot be, a HandshakeFailed."""
    if type(message) is str or type(message) is bytes:
        return message
    if isinstance(message, Oversized):
        raise HandshakeFailed(
            f"frame of {counted(message.size, 'byte')} over the limit during the handshake"
        )
    raise HandshakeFailed("invalid UTF-8 in a text frame during the handshake")


def _send(ws: WebSocketClient, text: str) -> None:
    """Send one packet during the handshake; a closed connection is a HandshakeFailed."""
    try:
        ws.send_text(text)
    except ConnectionClosed as exc:
        raise HandshakeFailed(wire.closed_reason(exc)) from None


class WebSocketSession:
    """One open Socket.IO connection over WebSocket, joined to its namespace."""

    transport = "websocket"

    def __init__(
        self,
        ws: WebSocketClient,
        protocol: SioProtocol,
        max_frame_size: int = 0,
        first: list[Message] | None = None,
    ) -> None:
        self._ws = ws
        self.max_frame_size = max_frame_size  # 0: no limit
        self._sio = protocol
        self.protocol = protocol.protocol or ""  # "eio3" | "eio4": known once open
        self._first = first or []  # messages read with the handshake's last
        self._loop = asyncio.get_running_loop()
        self._waiting_since: float | None = None  # None while the consumer has the frames
        self._reason: str | None = None  # why the heartbeat cut the connection
        self._heartbeat = Heartbeat(protocol, self._send, self._cut, lambda: self._waiting_since)

    def __repr__(self) -> str:
        return f"<WebSocketSession {self._sio!r}>"

    async def batches(self) -> AsyncIterator[list[Frame]]:
        """The frames of each read, in order; ends by raising SessionDropped."""
        loop = self._loop
        ws = self._ws
        self._heartbeat.start()
        messages, self._first = self._first, []
        try:
            while True:
                if not messages:
                    self._waiting_since = loop.time()
                    try:
                        messages = await ws.recv_batch()
                    except ConnectionClosed as exc:
                        limit = self.max_frame_size
                        if exc.sent is not None and exc.sent.code == 1009 and limit:
                            # a compressed message, judged by websockets: its max_size
                            yield [too_big_frame(now_us(), exc.sent.reason, limit)]
                            raise SessionDropped(
                                f"frame over the limit of {counted(limit, 'byte')}"
                            ) from None
                        raise SessionDropped(self._reason or wire.closed_reason(exc)) from None
                    self._waiting_since = None
                frames: list[Frame] = []
                dropped: SessionDropped | None = None
                try:
                    self._receive(messages, loop.time(), now_us(), frames)
                except SessionDropped as exc:  # the frames before it still go on
                    dropped = exc
                messages = []
                if self._sio.outgoing:
                    self._send(self._sio.take_outgoing())
                if frames:
                    yield frames
                if dropped is not None:
                    raise dropped
        finally:
            self._heartbeat.stop()

    def _receive(self, messages: list[Message], now: float, recv_us: int, out: list[Frame]) -> None:
        """The frames of one read's messages into `out`; SessionDropped ends the session."""
        sio = self._sio
        receive = sio.receive
        eio3 = self.protocol == "eio3"
        for raw in messages:
            if type(raw) is str:
                frame = receive(raw, now, recv_us)
            elif type(raw) is bytes:
                if sio.attachments_due or (eio3 and raw and raw[0] < 7):
                    frame = sio.receive_binary(raw, now, recv_us)
                else:
                    frame = receive(raw, now, recv_us)
            elif isinstance(raw, BadText):
                frame = receive(raw.payload, now, recv_us)
            else:
                assert isinstance(raw, Oversized)
                limit = self.max_frame_size
                out.append(oversized_frame(recv_us, raw.size, limit, raw.head))
                self._ws.fail(
                    CloseCode.MESSAGE_TOO_BIG,
                    f"frame of {counted(raw.size, 'byte')} over the limit",
                )
                raise SessionDropped(f"frame over the limit of {counted(limit, 'byte')}")
            if frame is not None:
                out.append(frame)
                if sio.backlog:
                    out.extend(sio.take_backlog())

    def _cut(self, reason: str) -> None:
        """The heartbeat gave the server up: the reader's recv_batch() ends, `reason` says why."""
        self._reason = reason
        self._ws.abort()

    def _send(self, texts: list[str]) -> None:
        """Send packets; a closed connection is left for the reader to find."""
        try:
            for text in texts:
                self._ws.send_text(text)
        except ConnectionClosed:
            pass  # the reader's recv_batch() raises it, with the server's reason

    async def close(self) -> None:
        """Close the WebSocket (idempotent)."""
        self._heartbeat.stop()
        await wire.abort(self._ws)
