"""A websockets client connection that reads data frames in bulk: `recv_batch()`.

websockets parses every frame with a generator-based sans-I/O parser and
hands each message to a queue and a future: ~6.5 µs per message, about what
a fast server sends, leaving nothing for the rest of wstail. Here websockets
keeps the opening handshake (TLS, headers, proxies, status errors) and every
control frame, while a tight loop over each received chunk turns complete
server data frames into messages, queued for `recv_batch()` to take all at
once.

Who parses what, once the connection is open:

- Text and binary frames (whole or fragmented, unmasked, no RSV bit) are
  ours. Fragments are joined and text decoded like websockets' Assembler does.
- A control frame (ping, pong, close) goes to websockets, as exactly one whole
  frame's bytes: it answers pings, acknowledges our keepalive pings, runs the
  close handshake. Its parser, only ever fed whole frames, stays at a frame
  boundary.
- Anything else (a masked frame, a reserved opcode, RSV bits, a continuation
  out of place) goes to websockets with everything after it: its parser
  fails the connection exactly as it would have.
- Once the connection leaves the OPEN state (a close frame either way, a
  failure), all bytes go to websockets again; the data frames its parser
  still delivers reach the same queue through `process_event`.

The fast path stays off for the whole connection (websockets parses every
frame, into the same batch queue) when an extension was negotiated (per-
message deflate: its decoder keeps state across frames), when a size limit
(`max_size`) is set, or when the logger is at DEBUG (websockets logs every
frame). The response's bytes are handed to websockets only up to the blank
line that ends its headers, so frames sent together with the 101 response
never enter websockets' buffer: the fast path starts on them.

websockets internals relied on (checked against websockets 17.x; the
dependency is pinned to that major in pyproject.toml):

- `Connection.data_received`, `eof_received`, `connection_lost` and
  `process_event` (the asyncio Protocol callbacks and the event hook that
  `ClientConnection` itself overrides; data frames no longer reach its
  Assembler, `recv_messages`), `send_context()`, `set_connection_exc()`,
  `close_exc`, `connection_lost_waiter`, `loop`, `transport`, and
  `max_queue_high` / `max_queue_low` (set from `max_queue`). `recv()` is
  served from the batch queue, `recv_streaming()` raises, `close()` first
  resumes reading.
- `Protocol.state`, `extensions`, `max_message_size`, `max_fragment_size`,
  `debug`, `fail()`, and `current_size` (the size of the fragmented message
  in progress, None between messages: set before handing websockets a frame,
  so it judges a close or a data frame in the middle of a message as before).
- That the parser handles every frame of a `receive_data()` call at once, and
  that the HTTP response it parses ends at its first CRLF CRLF (a 101 has no
  body).
- `websockets.asyncio.messages.MAX_FRAGMENTS` (the fragment limit of recv()).
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator
from typing import Any, Literal, overload

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.messages import MAX_FRAGMENTS
from websockets.exceptions import ConcurrencyError, TooManyFragments
from websockets.frames import BINARY, CONT, TEXT, CloseCode, Frame
from websockets.protocol import OPEN, Event
from websockets.typing import Data

__all__ = ["FastClientConnection"]

_U64 = struct.Struct("!Q").unpack_from
_END_OF_HEAD = b"\r\n\r\n"
# First header bytes of data frames: FIN bit, then the opcode.
_FIN_TEXT, _FIN_BINARY = 0x81, 0x82
_FIRST_TEXT, _FIRST_BINARY, _MORE, _LAST = 0x01, 0x02, 0x00, 0x80
_FRAGMENT_HEADS = frozenset((_FIRST_TEXT, _FIRST_BINARY, _MORE, _LAST, _FIN_TEXT, _FIN_BINARY))
# Close, ping, pong with FIN; websockets validates the rest of them.
_CONTROL_HEADS = frozenset((0x88, 0x89, 0x8A))


class FastClientConnection(ClientConnection):
    """A ClientConnection whose messages come in batches from `recv_batch()`.

    Pass it as `create_connection=` to `websockets.asyncio.client.connect`.
    `max_queue=(high, low)` counts queued messages: reading pauses above
    `high` and resumes once `recv_batch()` took them (below `low`). It never
    pauses once closing: the peer's close frame must get through.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._messages: list[str | bytes] = []
        self._waiter: asyncio.Future[None] | None = None
        high, low = self.max_queue_high, self.max_queue_low
        if high is not None and low is None:
            low = high // 4
        self._high = high
        self._low = low if low is not None else 0
        self._reading_paused = False
        # Handshake: the last bytes seen while looking for the end of the response head.
        self._head_tail: bytes | None = b""
        self._fast = False
        # The start of an incomplete frame, and how many bytes it needs to go on.
        self._partial: list[bytes] = []
        self._partial_size = 0
        self._needed = 0
        # The fragments of a message in progress (None between messages).
        self._fragments: list[bytes] | None = None
        self._fragments_text = False
        self._fragments_size = 0
        # A message that cannot be delivered (invalid UTF-8, too many
        # fragments): recv_batch() fails the connection once it gets there.
        self._failure: tuple[Exception, int, str] | None = None

    @property
    def fast_path(self) -> bool:
        """Whether data frames are parsed here right now (False: websockets parses them)."""
        return self._fast

    # -- the consumer's side --------------------------------------------------

    async def recv_batch(self) -> list[str | bytes]:
        """Every message received so far, in order; waits for one if none is queued.

        Raises ConnectionClosed, once every message was taken, after the
        connection ended (as `recv()` does), and ConcurrencyError when
        another coroutine is already waiting.
        """
        if not self._messages:
            await self._wait()
        messages = self._messages
        self._messages = []
        self._resume_reading()
        return messages

    @overload
    async def recv(self, decode: Literal[True]) -> str: ...

    @overload
    async def recv(self, decode: Literal[False]) -> bytes: ...

    @overload
    async def recv(self, decode: bool | None = None) -> Data: ...

    async def recv(self, decode: bool | None = None) -> Data:
        """One message, from the same queue; `recv_batch()` is the fast way."""
        if not self._messages:
            await self._wait()
        message = self._messages.pop(0)
        if len(self._messages) <= self._low:
            self._resume_reading()
        if decode is True and isinstance(message, bytes):
            return message.decode()
        if decode is False and isinstance(message, str):
            return message.encode()
        return message

    @overload
    def recv_streaming(self, decode: Literal[True]) -> AsyncIterator[str]: ...

    @overload
    def recv_streaming(self, decode: Literal[False]) -> AsyncIterator[bytes]: ...

    @overload
    def recv_streaming(self, decode: bool | None = None) -> AsyncIterator[Data]: ...

    def recv_streaming(self, decode: bool | None = None) -> AsyncIterator[Data]:
        """Not available: fragments are joined into whole messages here."""
        raise NotImplementedError("FastClientConnection receives whole messages: recv_batch()")

    async def _wait(self) -> None:
        """Until a message is queued; ConnectionClosed when none will come."""
        while not self._messages:
            if self._failure is not None:
                await self._fail_on_message(*self._failure)
            if self.connection_lost_waiter.done():
                raise self.close_exc
            if self._waiter is not None:
                raise ConcurrencyError("cannot receive from two coroutines at once")
            self._waiter = self.loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    async def close(self, code: int = CloseCode.NORMAL_CLOSURE, reason: str = "") -> None:
        """The closing handshake; reading resumes first, so the close frame gets through."""
        self._resume_reading()
        await super().close(code, reason)

    def _resume_reading(self) -> None:
        if self._reading_paused:
            self._reading_paused = False
            self.transport.resume_reading()

    async def _fail_on_message(self, exc: Exception, code: int, reason: str) -> None:
        # What websockets' recv() does when the Assembler raises.
        self.set_connection_exc(exc)
        async with self.send_context():
            self.protocol.fail(code, reason)
        await asyncio.shield(self.connection_lost_waiter)
        raise self.close_exc

    # -- asyncio Protocol callbacks -------------------------------------------

    def data_received(self, data: bytes) -> None:
        """Parse data frames here while open; hand websockets everything else."""
        if self._fast:
            if self.protocol.state is OPEN:
                self._read_frames(data)
            else:
                self._hand_back(data)
        elif self._head_tail is not None:
            self._read_head(data)
        else:
            super().data_received(data)
        queued = len(self._messages)
        waiter = self._waiter
        if waiter is not None and (queued or self._failure is not None) and not waiter.done():
            waiter.set_result(None)
        if (
            self._high is not None
            and queued >= self._high
            and not self._reading_paused
            and self.protocol.state is OPEN  # closing: the close frame must get through
        ):
            self._reading_paused = True
            self.transport.pause_reading()

    def eof_received(self) -> None:
        """A truncated frame is websockets' to report, as it always was."""
        self._hand_back(b"")
        super().eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        """Wake recv_batch(): it raises once the queue is drained."""
        self._hand_back(b"")
        super().connection_lost(exc)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def process_event(self, event: Event) -> None:
        """Data frames websockets parsed (fast path off) join the same queue."""
        if isinstance(event, Frame) and event.opcode in (TEXT, BINARY, CONT):
            self._data_frame(event.opcode, event.fin, bytes(event.data))
        else:
            super().process_event(event)

    # -- the opening handshake ------------------------------------------------

    def _read_head(self, data: bytes) -> None:
        """Give websockets the response up to the end of its head, then start the fast path."""
        assert self._head_tail is not None
        seen = self._head_tail + data
        end = seen.find(_END_OF_HEAD)
        if end < 0:
            self._head_tail = seen[-3:]
            super().data_received(data)
            return
        self._head_tail = None
        cut = end + len(_END_OF_HEAD) - (len(seen) - len(data))
        super().data_received(data[:cut])
        rest = data[cut:]
        if self.protocol.state is OPEN and self._fast_path_allowed():
            self._fast = True
            if rest:
                self._read_frames(rest)
        elif rest:
            super().data_received(rest)

    def _fast_path_allowed(self) -> bool:
        protocol = self.protocol
        return (
            not protocol.extensions
            and protocol.max_message_size is None
            and protocol.max_fragment_size is None
            and not protocol.debug
        )

    # -- frames ---------------------------------------------------------------

    def _read_frames(self, data: bytes) -> None:
        """Queue the messages of every complete frame; keep an incomplete one for later."""
        partial = self._partial
        if partial:
            partial.append(data)
            self._partial_size += len(data)
            if self._partial_size < self._needed:
                return
            data = b"".join(partial)
            partial.clear()
            self._partial_size = 0
        append = self._messages.append
        fin_text, fin_binary = _FIN_TEXT, _FIN_BINARY  # locals: this loop runs per frame
        whole = self._fragments is None  # no fragmented message in progress
        end = len(data)
        pos = 0
        needed = 2
        while end - pos >= 2:
            head = data[pos]
            length = data[pos + 1]
            if length < 126:
                start = pos + 2
            elif length == 126:
                if end - pos < 4:
                    needed = 4
                    break
                length = (data[pos + 2] << 8) | data[pos + 3]
                start = pos + 4
            elif length == 127:
                if end - pos < 10:
                    needed = 10
                    break
                (length,) = _U64(data, pos + 2)
                start = pos + 10
            else:  # the mask bit: servers never mask, websockets fails the connection
                self._give_up(data, pos)
                return
            stop = start + length
            if stop > end:
                if head not in _FRAGMENT_HEADS and head not in _CONTROL_HEADS:
                    self._give_up(data, pos)  # no need to wait for a frame websockets refuses
                    return
                needed = stop - pos
                break
            if head == fin_text and whole:
                try:
                    append(data[start:stop].decode())
                except UnicodeDecodeError as exc:
                    self._undeliverable(exc, CloseCode.INVALID_DATA)
                    self._give_up(data, stop)
                    return
            elif head == fin_binary and whole:
                append(data[start:stop])
            elif head in _CONTROL_HEADS:
                self._to_websockets(data[pos:stop])
                if self.protocol.state is not OPEN:
                    self._give_up(data, stop)
                    return
            elif head in _FRAGMENT_HEADS and self._in_order(head):
                self._data_frame(head & 0x0F, head & 0x80 != 0, data[start:stop])
                if self._failure is not None:
                    self._give_up(data, stop)
                    return
                whole = self._fragments is None
            else:
                self._give_up(data, pos)
                return
            pos = stop
        if pos < end:
            partial.append(data[pos:] if pos else data)
            self._partial_size = end - pos
            self._needed = needed

    def _in_order(self, head: int) -> bool:
        """Whether a data frame fits the fragmentation state (else websockets objects)."""
        opcode = head & 0x0F
        return (opcode == CONT) == (self._fragments is not None)

    def _data_frame(self, opcode: int, fin: bool, payload: bytes) -> None:
        """Queue the message a data frame completes (or keep its fragment)."""
        if self._failure is not None:
            return  # websockets' recv() delivers nothing after a bad message either
        fragments = self._fragments
        if opcode != CONT:
            if fin:
                self._queue(opcode == TEXT, payload)
                return
            self._fragments = [payload]
            self._fragments_text = opcode == TEXT
            self._fragments_size = len(payload)
            return
        assert fragments is not None
        if len(fragments) >= MAX_FRAGMENTS:
            self._undeliverable(TooManyFragments(MAX_FRAGMENTS), CloseCode.MESSAGE_TOO_BIG)
            return
        fragments.append(payload)
        self._fragments_size += len(payload)
        if fin:
            self._fragments = None
            self._fragments_size = 0
            self._queue(self._fragments_text, b"".join(fragments))

    def _queue(self, text: bool, payload: bytes) -> None:
        if not text:
            self._messages.append(payload)
            return
        try:
            self._messages.append(payload.decode())
        except UnicodeDecodeError as exc:
            self._undeliverable(exc, CloseCode.INVALID_DATA)

    def _undeliverable(self, exc: Exception, code: int) -> None:
        if isinstance(exc, UnicodeDecodeError):
            reason = f"{exc.reason} at position {exc.start}"
        else:
            reason = "too many fragments"
        self._failure = (exc, code, reason)

    # -- handing bytes to websockets ------------------------------------------

    def _to_websockets(self, data: bytes) -> None:
        """Feed websockets' parser, telling it first whether a fragmented message is open."""
        self.protocol.current_size = None if self._fragments is None else self._fragments_size
        super().data_received(data)

    def _give_up(self, data: bytes, pos: int) -> None:
        """websockets parses everything from `pos` on, for the rest of the connection."""
        self._fast = False
        if pos < len(data):
            self._to_websockets(data[pos:] if pos else data)

    def _hand_back(self, data: bytes) -> None:
        """The connection left the OPEN state: websockets takes the buffered bytes on."""
        if not self._fast:
            return
        self._fast = False
        partial = self._partial
        if partial:
            data = b"".join(partial) + data
            partial.clear()
            self._partial_size = 0
        if data:
            self._to_websockets(data)
