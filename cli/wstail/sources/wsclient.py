"""A read-only WebSocket client whose messages come in batches: `recv_batch()`.

`wsconnect.connect()` opens one.

websockets' sans-I/O `ClientProtocol` (its public API: `receive_data`,
`events_received`, `data_to_send`, `fail`, `close_exc`) runs the opening
handshake, every control frame, the close handshake and every judgement of
a malformed frame; our own asyncio Protocol drives it. Its frame parser is a
generator costing ~9 µs per message here, more than wstail spends on all the
rest, so the commonest frame, a whole unmasked text or binary frame, is cut
out of each received chunk by a tight loop (`wsframes.split_frames`) and never
reaches it. websockets only ever gets whole frames (or, once something is
wrong, everything from there on), so its parser stays at a frame boundary
and its view of the stream, the frames a whole data frame cannot change,
stays true.

Frames websockets sees: control frames, fragments (and every frame while a
fragmented message is open), compressed frames, frames with other RSV bits,
mask bits or a reserved opcode, everything once the connection leaves OPEN or
once a compressed message comes fragmented, and everything when the logger is
at DEBUG. With permessage-deflate negotiated, uncompressed frames (a server
compresses only messages over a threshold: 1 KiB in socket.io 1.x's
engine.io) are still cut out here: they never touch the inflater's window
(RFC 7692), which sees every compressed frame, whole and in order.

A data frame over `max_size` bytes (or a fragmented message growing over it)
is never held: on the fast path its length is known from its header, an
`Oversized` marker takes the message's place, websockets sees the same frame
with an empty payload (so its view of the stream stays true) and the body is
discarded as it arrives. Where websockets parses, and for every compressed
message (its inflated size is websockets' to judge), its own `max_size`
closes the connection with 1009.
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING

from websockets.client import ClientProtocol
from websockets.exceptions import ConcurrencyError, ConnectionClosedError
from websockets.extensions.permessage_deflate import PerMessageDeflate
from websockets.frames import CloseCode, Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import CLOSED, OPEN

from wstail.sources.wsframes import (
    NO_LIMIT,
    BadText,
    Message,
    Oversized,
    frame_end,
    judged_by_websockets,
    payload_span,
    split_frames,
)

if TYPE_CHECKING:
    from websockets.exceptions import ConnectionClosed

__all__ = ["END_OF_FEED", "MAX_FRAGMENTS", "WebSocketClient", "end_of_feed"]

# wstail's own close code (RFC 6455 leaves 4000-4999 to applications): the
# server says the feed is over (`replay --serve` at the end of a capture). A
# client takes it as the end of its run; any other close is a drop.
END_OF_FEED = 4000

# Fragments of one message, at most (as websockets' asyncio client allows).
MAX_FRAGMENTS = 4096
_END_OF_HEAD = b"\r\n\r\n"


class WebSocketClient(asyncio.Protocol):
    """One client connection: an asyncio Protocol driving websockets' ClientProtocol.

    Messages queue until `recv_batch()` takes them all; reading pauses
    above `max_queue[0]` queued messages and resumes once taken.
    """

    def __init__(
        self,
        protocol: ClientProtocol,
        *,
        max_queue: tuple[int, int] = (4096, 1024),
        ping_interval: float | None = None,
        ping_timeout: float | None = None,
        close_timeout: float = 2.0,
        max_size: int | None = None,
        strict_text: bool = True,
    ) -> None:
        self.protocol = protocol
        self._strict_text = strict_text
        self._limit = max_size or NO_LIMIT
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.close_timeout = close_timeout
        self._high, self._low = max_queue
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._transport: asyncio.Transport | None = None
        self._opened: asyncio.Future[None] = loop.create_future()
        self._lost: asyncio.Future[None] = loop.create_future()
        self._lost_exc: BaseException | None = None
        self._messages: list[Message] = []
        self._waiter: asyncio.Future[None] | None = None
        self._paused = False
        self._head: bytes | None = b""  # the response head so far (None once it ended)
        self._fast = False
        self._inflating = False  # permessage-deflate negotiated
        # The start of an incomplete frame, in pieces (joined once: no copy per read),
        # their size, and the size that frame needs to be judged.
        self._partial: list[bytes] = []
        self._partial_size = 0
        self._needed = 0
        self._fragments: list[bytes] | None = None  # a message in progress in websockets
        self._fragments_text = False
        self._fragments_size = 0
        self._skip = 0  # body bytes of an oversized frame still to discard
        self._dropping = False  # the rest of an oversized fragmented message goes too
        self._muted = False  # websockets is shown a dropped frame: no message from it
        self._failed = False  # we failed the connection: no message after that
        self._pong: asyncio.Future[None] | None = None
        self._closer: asyncio.TimerHandle | None = None
        self._keepalive: asyncio.Task[None] | None = None
        self.latency = 0.0  # seconds from the last keepalive ping to its pong

    # -- the consumer's side --------------------------------------------------

    async def recv_batch(self) -> list[Message]:
        """Every message received so far, in order; waits for one if none is queued.

        A message over `max_size` comes as an `Oversized` marker; without
        `strict_text`, a text message that is not UTF-8 as a `BadText` (with
        it, the connection fails with 1007, as websockets' client does). Raises
        websockets' ConnectionClosed once every message was taken
        after the connection ended, ConcurrencyError if another coroutine
        is already waiting.
        """
        while not self._messages:
            if self._lost.done():
                raise self.protocol.close_exc from self._lost_exc
            if self._waiter is not None:
                raise ConcurrencyError("cannot receive from two coroutines at once")
            self._waiter = self._loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        messages, self._messages = self._messages, []
        if self._paused and self._transport is not None:
            self._paused = False
            self._transport.resume_reading()
        return messages

    @property
    def fast_path(self) -> bool:
        """Whether whole data frames are cut out here right now (False: websockets parses)."""
        return self._fast

    @property
    def transport(self) -> asyncio.Transport:
        """The TCP (or TLS) transport."""
        assert self._transport is not None
        return self._transport

    @property
    def close_code(self) -> int | None:
        """The close code of the closing handshake, once the connection ended."""
        return self.protocol.close_code

    @property
    def close_exc(self) -> ConnectionClosed:
        """Why the connection ended (websockets' exception, as its own client raises)."""
        return self.protocol.close_exc

    async def close(self, code: int = CloseCode.NORMAL_CLOSURE, reason: str = "") -> None:
        """The closing handshake, waiting for the server at most `close_timeout`."""
        if self._keepalive is not None:
            self._keepalive.cancel()
        transport = self._transport
        if transport is None or self._lost.done():
            return
        if self._paused:
            self._paused = False
            transport.resume_reading()  # the server's close frame must get through
        if self.protocol.state is OPEN:
            self.protocol.send_close(code, reason)
            self._flush()
        try:
            async with asyncio.timeout(self.close_timeout):
                await asyncio.shield(self._lost)
        except TimeoutError:
            transport.abort()
            await asyncio.shield(self._lost)

    def send_text(self, text: str) -> None:
        """Send one text message; raises websockets' ConnectionClosed once it is not open."""
        protocol = self.protocol
        if protocol.state is not OPEN:
            if protocol.state is CLOSED:
                raise protocol.close_exc
            sent, rcvd = protocol.close_sent, protocol.close_rcvd  # closing
            raise ConnectionClosedError(rcvd, sent, protocol.close_rcvd_then_sent)
        protocol.send_text(text.encode())
        self._flush()

    def fail(self, code: int, reason: str) -> None:
        """Close with `code` at once, as websockets does on a protocol error (no more messages)."""
        if self.protocol.state is OPEN:
            self._fail(code, reason)

    def abort(self) -> None:
        """Drop the TCP connection at once (a failed handshake, a server given up)."""
        if self._transport is not None:
            self._transport.abort()

    # -- asyncio Protocol callbacks -------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Send the upgrade request."""
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._flush()

    def data_received(self, data: bytes) -> None:
        """Cut whole data frames out here while open; hand websockets everything else."""
        if self._fast:
            self._read_frames(data)
        elif self._head is not None:
            self._read_head(data)
        else:
            self._to_websockets(data)
        waiter = self._waiter
        if self._messages and waiter is not None and not waiter.done():
            waiter.set_result(None)
        if (
            len(self._messages) >= self._high
            and not self._paused
            and self.protocol.state is OPEN  # closing: the close frame must get through
            and self._transport is not None
        ):
            self._paused = True
            self._transport.pause_reading()

    def eof_received(self) -> None:
        """A truncated frame is websockets' to report."""
        self._hand_back()
        self.protocol.receive_eof()
        self._process()

    def connection_lost(self, exc: Exception | None) -> None:
        """Wake the consumer: recv_batch() raises once the queue is drained."""
        self._hand_back()
        self.protocol.receive_eof()  # a no-op if the stream already ended
        self._process()
        self._lost_exc = exc
        if self._keepalive is not None:
            self._keepalive.cancel()
        if self._closer is not None:
            self._closer.cancel()
        for future in (self._lost, self._opened, self._pong, self._waiter):
            if future is not None and not future.done():
                future.set_result(None)

    # -- the opening handshake ------------------------------------------------

    def _read_head(self, data: bytes) -> None:
        """Give websockets the response up to its blank line: frames after it are ours."""
        assert self._head is not None
        seen = self._head + data
        end = seen.find(_END_OF_HEAD)
        if end < 0:
            self._head = seen[-3:]
            self._to_websockets(data)
            return
        self._head = None
        cut = end + len(_END_OF_HEAD) - (len(seen) - len(data))
        self._to_websockets(data[:cut])
        protocol = self.protocol
        # websockets' client offers no extension but permessage-deflate
        deflate_only = all(isinstance(ext, PerMessageDeflate) for ext in protocol.extensions)
        self._inflating = deflate_only and bool(protocol.extensions)
        self._fast = protocol.state is OPEN and deflate_only and not protocol.debug
        if self._fast:
            self._read_frames(data[cut:])
        elif cut < len(data):
            self._to_websockets(data[cut:])

    async def wait_open(self) -> None:
        """Until the handshake ended; raises what websockets made of a refusal."""
        await self._opened
        if self.protocol.handshake_exc is not None:
            raise self.protocol.handshake_exc
        # Frames (a close even) may have come with the 101: recv_batch() tells.
        if self.ping_interval is not None and self.protocol.state is OPEN:
            self._keepalive = asyncio.create_task(self._keep_alive(self.ping_interval))

    # -- frames ---------------------------------------------------------------

    def _read_frames(self, data: bytes) -> None:
        """Queue the messages of whole data frames; websockets takes any other frame."""
        if self._skip:
            if len(data) <= self._skip:
                self._skip -= len(data)
                return
            data = data[self._skip :]
            self._skip = 0
        partial = self._partial
        if partial:
            partial.append(data)
            self._partial_size += len(data)
            if self._partial_size < self._needed:
                return
            data = b"".join(partial)
            partial.clear()
        pos = 0
        end = len(data)
        while pos < end:
            if self._fragments is None and not self._dropping and self.protocol.state is OPEN:
                pos, needed = split_frames(data, pos, self._messages, self._limit)
                if pos == end:
                    return
                if needed:
                    self._keep(data[pos:], needed)
                    return
            if not judged_by_websockets(data[pos], self._inflating):
                # A frame websockets refuses, or the start of a compressed message in
                # fragments (websockets inflates them all): websockets takes it all from here.
                self._fast = False
                self._to_websockets(data[pos:])
                return
            span = payload_span(data, pos)
            if span is not None and self._over_limit(data[pos], span[1]):
                # masked: websockets fails it at its header; compressed: its limit says 1009
                if data[pos + 1] & 0x80 or data[pos] & 0x40:
                    self._fast = False
                    self._to_websockets(data[pos:])
                    return
                pos = self._drop(data, pos, *span)
                if self._skip or self.protocol.state is not OPEN:
                    return
                continue
            stop = frame_end(data, pos)
            if stop > end:
                self._keep(data[pos:], stop - pos)
                return
            self._to_websockets(data[pos:stop])
            if self.protocol.state is not OPEN:
                self._fast = False
                if stop < end:
                    self._to_websockets(data[stop:])
                return
            pos = stop

    def _over_limit(self, head: int, length: int) -> bool:
        """Whether the data frame with this first byte takes its message over the limit."""
        opcode = head & 0x0F
        if opcode == Opcode.CONT.value:
            return self._dropping or self._fragments_size + length > self._limit
        return opcode in (Opcode.TEXT.value, Opcode.BINARY.value) and length > self._limit

    def _drop(self, data: bytes, pos: int, begin: int, length: int) -> int:
        """Drop an oversized data frame; returns where the next frame starts (or data's end)."""
        head = data[pos]
        if not self._dropping:
            size = length if head & 0x0F else self._fragments_size + length
            self._messages.append(Oversized(size, data[begin : begin + min(length, 800)]))
            self._fragments = None
        self._dropping = not head & 0x80
        self._muted = True
        try:
            self._to_websockets(bytes((head, 0)))  # the same frame, its payload left out
        finally:
            self._muted = False
        stop = begin + length
        if stop > len(data):
            self._skip = stop - len(data)
            return len(data)
        return stop

    def _keep(self, start: bytes, needed: int) -> None:
        """Wait for the rest of a frame: `needed` bytes in all."""
        self._partial.append(start)
        self._partial_size = len(start)
        self._needed = needed

    def _hand_back(self) -> None:
        """websockets parses everything from here on, the incomplete frame kept first."""
        self._fast = False
        if self._partial:
            data = b"".join(self._partial)
            self._partial.clear()
            self._to_websockets(data)

    def _to_websockets(self, data: bytes) -> None:
        self.protocol.receive_data(data)
        self._process()

    def _process(self) -> None:
        """Act on websockets' events: open, data frames, pongs; send what it wants sent."""
        for event in self.protocol.events_received():
            if isinstance(event, Response):
                if not self._opened.done():
                    self._opened.set_result(None)
            elif not isinstance(event, Frame):
                continue
            elif event.opcode in (Opcode.TEXT, Opcode.BINARY, Opcode.CONT):
                self._data_frame(event)
            elif event.opcode is Opcode.PONG:
                pong = self._pong
                if pong is not None and not pong.done():
                    pong.set_result(None)
        if self.protocol.handshake_exc is not None and not self._opened.done():
            self._opened.set_result(None)
        self._flush()

    def _data_frame(self, frame: Frame) -> None:
        """Queue the message a frame completes (or keep its fragment)."""
        if self._muted or self._failed:  # failed: frames parsed with the bad one are dropped
            return
        if frame.opcode is not Opcode.CONT:
            if frame.fin:
                self._message(frame.opcode is Opcode.TEXT, bytes(frame.data))
                return
            self._fragments = [bytes(frame.data)]
            self._fragments_size = len(frame.data)
            self._fragments_text = frame.opcode is Opcode.TEXT
            return
        fragments = self._fragments
        assert fragments is not None
        if len(fragments) >= MAX_FRAGMENTS:
            self._fragments = None
            self._fail(CloseCode.MESSAGE_TOO_BIG, "too many fragments")
            return
        fragments.append(bytes(frame.data))
        self._fragments_size += len(frame.data)
        if frame.fin:
            self._fragments = None
            self._message(self._fragments_text, b"".join(fragments))

    def _message(self, text: bool, payload: bytes) -> None:
        if not text:
            self._messages.append(payload)
            return
        try:
            self._messages.append(payload.decode())
        except UnicodeDecodeError as exc:
            if not self._strict_text:
                self._messages.append(BadText(payload))
                return
            self._fail(CloseCode.INVALID_DATA, f"{exc.reason} at position {exc.start}")

    def _fail(self, code: int, reason: str) -> None:
        """A message websockets' client would refuse: fail the connection as it does."""
        self._fast = False
        self._failed = True
        self.protocol.fail(code, reason)
        self._flush()

    # -- writing --------------------------------------------------------------

    def _flush(self) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        for data in self.protocol.data_to_send():
            if data:
                transport.write(data)
            elif transport.can_write_eof():
                transport.write_eof()
        if self.protocol.close_expected() and self._closer is None:
            self._closer = self._loop.call_later(self.close_timeout, transport.abort)

    async def _keep_alive(self, interval: float) -> None:
        """A ping every `interval`; no pong within `ping_timeout` fails the connection."""
        while self.protocol.state is OPEN:
            await asyncio.sleep(interval)
            if self.protocol.state is not OPEN:
                return
            self._pong = self._loop.create_future()
            self.protocol.send_ping(os.urandom(4))
            self._flush()
            sent = self._loop.time()
            try:
                async with asyncio.timeout(self.ping_timeout):
                    await self._pong
                self.latency = self._loop.time() - sent
            except TimeoutError:
                if self.protocol.state is OPEN:
                    self._fail(CloseCode.INTERNAL_ERROR, "keepalive ping timeout")
                return


def end_of_feed(closed: ConnectionClosed) -> str | None:
    """The reason to report when the server closed with END_OF_FEED (the run is over), else None."""
    rcvd = closed.rcvd
    if rcvd is None or rcvd.code != END_OF_FEED:
        return None
    said = f": {rcvd.reason}" if rcvd.reason else ""
    return f"the server ended the feed (close code {END_OF_FEED}{said})"
