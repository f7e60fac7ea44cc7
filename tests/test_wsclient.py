"""wsclient's WebSocketClient against real servers on 127.0.0.1: every way frames come on the wire.

Two kinds of peers: `websockets`' own asyncio server, and `RawPeer`, whose
upgrade and reading of the client are websockets' sans-I/O ServerProtocol
while the test writes the server's frames as raw bytes: in the same write as
the 101 response, byte by byte, malformed. Where behaviour must not change,
the same scenario runs against websockets' plain ClientConnection and both
outcomes (messages, describe_close reason) must be equal.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import itertools
import json
import logging
import os
import random
import shutil
import termios
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as websockets_connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConcurrencyError, ConnectionClosed, InvalidStatus
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
from websockets.frames import PING, PONG, Close, Frame
from websockets.server import ServerProtocol

from helpers.node_peers import run, scaled
from helpers.sio_peers import NodeSioPeer, ensure_node_modules
from wstail.sources.node import describe_close
from wstail.sources.wsclient import WebSocketClient
from wstail.sources.wsconnect import connect
from wstail.sources.wsframes import BadText, frame_end

TEXT, BINARY, CONT, CLOSE = 0x1, 0x2, 0x0, 0x8
TESTS_DIR = Path(__file__).parent
Outcome = tuple[list[str | bytes], str]
Client = WebSocketClient | ClientConnection


# -- the bytes on the wire ----------------------------------------------------


def frame(
    opcode: int, payload: bytes, *, fin: bool = True, rsv: int = 0, mask: bool = False
) -> bytes:
    """One WebSocket frame as a server (or, with `mask`, a client) writes it."""
    head = bytes([(0x80 if fin else 0) | rsv << 4 | opcode])
    masked = 0x80 if mask else 0
    size = len(payload)
    if size < 126:
        head += bytes([masked | size])
    elif size < 65536:
        head += bytes([masked | 126]) + size.to_bytes(2, "big")
    else:
        head += bytes([masked | 127]) + size.to_bytes(8, "big")
    if mask:
        key = b"\x37\xfa\x21\x3d"
        head += key
        payload = bytes(byte ^ key[index % 4] for index, byte in enumerate(payload))
    return head + payload


def text(message: str, *, fin: bool = True) -> bytes:
    """A text frame."""
    return frame(TEXT, message.encode(), fin=fin)


def close(code: int | None = None, reason: str = "") -> bytes:
    """A close frame (no code: an empty one)."""
    payload = b"" if code is None else code.to_bytes(2, "big") + reason.encode()
    return frame(CLOSE, payload)


# -- RawPeer ------------------------------------------------------------------


class RawConnection:
    """One accepted connection: the test writes raw frames, a task reads the client."""

    def __init__(self, protocol: ServerProtocol, writer: asyncio.StreamWriter) -> None:
        self.protocol = protocol
        self.writer = writer
        self.received: list[Frame] = []  # what the client sent, pings and close included
        self.changed = asyncio.Condition()

    async def write(
        self, data: bytes, *, step: int | None = None, client: Client | None = None
    ) -> None:
        """Write bytes; with `step`, that many at a time, each piece read by `client` on its own.

        Bytes the client is no longer there to read (it closed) are dropped.
        """
        pieces = [data] if step is None else [data[i : i + step] for i in range(0, len(data), step)]
        for piece in pieces:
            if self.writer.is_closing():
                return
            self.writer.write(piece)
            with contextlib.suppress(ConnectionError):
                await self.writer.drain()
            if client is not None:
                await self._read_by(client)

    async def _read_by(self, client: Client) -> None:
        """Until what was written left this socket and `client` read it all (Linux ioctls)."""
        ours = self.writer.get_extra_info("socket")
        theirs = client.transport.get_extra_info("socket")
        async with asyncio.timeout(scaled(5)):
            while not self.writer.is_closing() and not client.transport.is_closing():
                unsent = fcntl.ioctl(ours.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
                unread = fcntl.ioctl(theirs.fileno(), termios.FIONREAD, b"\0\0\0\0")
                if unsent == unread == b"\0\0\0\0":
                    return
                await asyncio.sleep(0)

    async def until(self, test: Callable[[list[Frame]], bool], timeout: float = 5.0) -> None:
        """Wait until the frames received from the client pass `test`."""
        async with asyncio.timeout(scaled(timeout)), self.changed:
            await self.changed.wait_for(lambda: test(self.received))

    def end(self) -> None:
        """Close the TCP connection (FIN), as a server does after a close frame."""
        self.writer.close()

    async def serve_client(self, reader: asyncio.StreamReader) -> None:
        """Answer the client like websockets does (pongs, close echo), record its frames."""
        while data := await reader.read(65536):
            self.protocol.receive_data(data)
            events = self.protocol.events_received()
            self._send_pending()
            async with self.changed:
                self.received.extend(event for event in events if isinstance(event, Frame))
                self.changed.notify_all()
        self.writer.close()

    def _send_pending(self) -> None:
        for data in self.protocol.data_to_send():
            if data:
                self.writer.write(data)
            else:
                self.writer.close()


class RawPeer:
    """A WebSocket server on 127.0.0.1 whose frames the test writes byte for byte.

    `greeting` goes out in the same write as the 101 response. With `cuts`
    (offsets from the end of the response head), the response and greeting
    go out in pieces, the next one once `read()` says the client read one.
    """

    def __init__(
        self,
        greeting: bytes = b"",
        cuts: Sequence[int] = (),
        read: Callable[[], Awaitable[Any]] | None = None,
        deflate: bool = False,
    ) -> None:
        self.greeting = greeting
        self.cuts = cuts
        self.read = read
        self.deflate = deflate
        self.port = 0
        self._accepted: asyncio.Queue[RawConnection] = asyncio.Queue()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        """The ws:// URL to dial."""
        return f"ws://127.0.0.1:{self.port}/ws"

    async def start(self) -> RawPeer:
        """Listen on a free port."""
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def accepted(self) -> RawConnection:
        """The next upgraded connection."""
        async with asyncio.timeout(scaled(5)):
            return await self._accepted.get()

    async def stop(self) -> None:
        """Close the listener and cut every connection."""
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.transport.abort()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        extensions = [ServerPerMessageDeflateFactory()] if self.deflate else None
        protocol = ServerProtocol(extensions=extensions, max_size=None)
        events: list[Any] = []
        while not events:
            data = await reader.read(65536)
            if not data:
                return
            protocol.receive_data(data)
            events = protocol.events_received()
        protocol.send_response(protocol.accept(events[0]))
        head = b"".join(protocol.data_to_send())
        data = head + self.greeting
        bounds = [0, *(len(head) + cut for cut in self.cuts), len(data)]
        for start, stop in itertools.pairwise(bounds):
            writer.write(data[start:stop])
            if stop < len(data):
                assert self.read is not None
                await writer.drain()
                await self.read()
        connection = RawConnection(protocol, writer)
        await self._accepted.put(connection)
        with contextlib.suppress(ConnectionError):
            await connection.serve_client(reader)


@contextlib.asynccontextmanager
async def raw_peer(
    greeting: bytes = b"",
    cuts: Sequence[int] = (),
    read: Callable[[], Awaitable[Any]] | None = None,
    deflate: bool = False,
) -> AsyncIterator[RawPeer]:
    """A started RawPeer, stopped on exit; with `deflate`, it accepts permessage-deflate."""
    peer = await RawPeer(greeting, cuts, read, deflate).start()
    try:
        yield peer
    finally:
        await peer.stop()


# -- clients ------------------------------------------------------------------


async def open_client(url: str, kind: type[Client] = WebSocketClient, **options: Any) -> Any:
    """A client connection as NodeSource opens it (no size limit), keepalive off by default.

    `kind` WebSocketClient (or a subclass): ours; ClientConnection: websockets' own client.
    """
    options = {
        "max_queue": (4096, 1024),
        "ping_interval": None,
        "close_timeout": scaled(2),
        **options,
    }
    if issubclass(kind, WebSocketClient):
        return await connect(url, client_class=kind, **options)
    return await websockets_connect(url, max_size=None, **options)


async def take(connection: WebSocketClient, count: int) -> list[str | bytes]:
    """At least `count` messages, batch by batch."""
    messages: list[str | bytes] = []
    while len(messages) < count:
        messages += await connection.recv_batch()
    return messages


async def drain(connection: Client) -> Outcome:
    """Every message until the connection ends, and why it ended (as tail node says)."""
    messages: list[str | bytes] = []
    try:
        while True:
            if isinstance(connection, WebSocketClient):
                batch = await connection.recv_batch()
                assert batch  # never empty
                messages += batch
            else:
                messages.append(await connection.recv())
    except ConnectionClosed as closed:
        return messages, describe_close(closed, None)


# -- fidelity: the same outcome as websockets' own client ---------------------

BIG = os.urandom(70_000)  # a 64-bit length
WIRE = (
    text("small")
    + frame(BINARY, b"\x00\xff binary")
    + text("")
    + frame(BINARY, b"")
    + text("é" * 100)  # a 16-bit length
    + frame(BINARY, BIG)
    + text("frag", fin=False)
    + frame(PING.value, b"between fragments")
    + frame(CONT, b"mented " + "€"[:1].encode(), fin=False)
    + frame(CONT, b"", fin=False)
    + frame(CONT, b" done")
    + frame(BINARY, b"\x01", fin=False)
    + frame(CONT, b"\x02")
    + frame(PONG.value, b"unsolicited")
)
WIRE_MESSAGES: list[str | bytes] = [
    "small",
    b"\x00\xff binary",
    "",
    b"",
    "é" * 100,
    BIG,
    "fragmented € done",
    b"\x01\x02",
]

SCENARIOS: dict[str, tuple[bytes, bool, str | None]] = {
    # name: (bytes the server writes, then whether it drops TCP, expected reason)
    "close 1000": (
        WIRE + close(1000, "bye"),
        False,
        "server closed the connection: 1000 (OK) bye",
    ),
    "close 1001": (
        text("a") + close(1001),
        False,
        "server closed the connection: 1001 (going away)",
    ),
    "close 4000": (
        text("a") + close(4000, "custom"),
        False,
        "server closed the connection: 4000 (private use) custom",
    ),
    "empty close": (text("a") + close(), False, None),
    "frames after close are discarded": (
        text("a") + close(1000) + text("never"),
        False,
        "server closed the connection: 1000 (OK)",
    ),
    "masked frame": (
        text("a") + frame(TEXT, b"masked", mask=True) + text("never"),
        False,
        "closed the connection: 1002 (protocol error) incorrect masking",
    ),
    "rsv bit": (text("a") + frame(TEXT, b"x", rsv=4), False, None),
    "reserved opcode": (text("a") + frame(0x3, b"x"), False, None),
    "fragmented ping": (text("a") + frame(PING.value, b"", fin=False), False, None),
    "ping too long": (text("a") + frame(PING.value, b"p" * 126), False, None),
    "unexpected continuation": (text("a") + frame(CONT, b"x"), False, None),
    "expected continuation": (text("a") + text("b", fin=False) + text("c"), False, None),
    "close inside a fragmented message": (text("b", fin=False) + close(1000), False, None),
    "invalid utf-8": (
        text("a") + frame(TEXT, b"ok \xff\xfe") + text("never"),
        False,
        "closed the connection: 1007 (invalid frame payload data) invalid start byte at position 3",
    ),
    "invalid utf-8 across fragments": (
        frame(TEXT, b"\xe2\x82", fin=False) + frame(CONT, b"(") + text("never"),
        False,
        None,
    ),
    "too many fragments": (
        text("f", fin=False) + frame(CONT, b"x", fin=False) * 4096 + frame(CONT, b"!") + text("z"),
        False,
        "closed the connection: 1009 (message too big) too many fragments",
    ),
    "as many fragments as allowed": (
        text("f", fin=False) + frame(CONT, b"x", fin=False) * 4094 + frame(CONT, b"!"),
        True,
        None,
    ),
    "truncated frame then EOF": (text("a") + text("cut short")[:5], True, None),
    "EOF between frames": (text("a"), True, "connection lost (no close frame)"),
}


async def dribble(server: RawConnection, wire: bytes, client: Client) -> None:
    """Write `wire` a byte at a time, each read on its own, but for the middle of the 70 kB one."""
    middle = wire.find(BIG)
    if middle < 0:
        await server.write(wire, step=1, client=client)
        return
    await server.write(wire[: middle + 100], step=1, client=client)
    await server.write(wire[middle + 100 : middle + len(BIG) - 100])
    await server.write(wire[middle + len(BIG) - 100 :], step=1, client=client)


async def outcome(
    kind: type[Client], wire: bytes, drop: bool, how: str, deflate: bool = False
) -> Outcome:
    """What a client of `kind` makes of `wire`: sent with the 101, at once, or byte by byte."""
    async with raw_peer(wire if how == "with the 101" else b"", deflate=deflate) as peer:
        client = await open_client(peer.url, kind)
        server = await peer.accepted()
        consumer = asyncio.create_task(drain(client))
        if how == "at once":
            await server.write(wire)
        elif how == "byte by byte":
            await dribble(server, wire, client)
        if drop:
            server.end()
        return await consumer


def test_many_frames_split_at_every_byte_boundary() -> None:
    """Frames of every length form, fragments and pings between: each byte read on its own."""
    frames = [text(f"message {i} " + "x" * (i * 7 % 300)) for i in range(60)]
    wire = b"".join(frames) + WIRE[: -len(frame(PONG.value, b"unsolicited"))]
    expected = [f"message {i} " + "x" * (i * 7 % 300) for i in range(60)] + WIRE_MESSAGES

    class Counting(WebSocketClient):
        chunks = 0

        def data_received(self, data: bytes) -> None:
            self.chunks += 1
            super().data_received(data)

    async def body() -> None:
        async with raw_peer() as peer:
            client = await open_client(peer.url, Counting)
            server = await peer.accepted()
            await dribble(server, wire, client)
            assert await take(client, len(expected)) == expected
            assert client.chunks >= len(wire) - len(BIG) + 200  # each byte read on its own
            assert client.fast_path
            # The ping between fragments was answered.
            await server.until(lambda got: any(f.opcode is PONG for f in got))
            await client.close()

    run(body, timeout=60)


# -- permessage-deflate: uncompressed frames are still cut out here -------------


class Deflater:
    """A server's permessage-deflate compressor, one per connection (context takeover)."""

    def __init__(self) -> None:
        self._zlib = zlib.compressobj(wbits=-zlib.MAX_WBITS)

    def frame(self, opcode: int, payload: bytes, pieces: int = 1) -> bytes:
        """A compressed message (RSV1 on its first frame), in `pieces` frames."""
        data = self._zlib.compress(payload) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
        assert data.endswith(b"\x00\x00\xff\xff")
        data = data[:-4]
        step = -(-len(data) // pieces)
        parts = [data[i : i + step] for i in range(0, len(data), step)] or [b""]
        parts += [b""] * (pieces - len(parts))
        wire = frame(opcode, parts[0], fin=pieces == 1, rsv=4)
        for number, part in enumerate(parts[1:], 2):
            wire += frame(CONT, part, fin=number == pieces)
        return wire


def deflated_wire() -> tuple[bytes, list[str | bytes]]:
    """Plain and compressed frames, pings and fragments in between; the messages they make."""
    deflater = Deflater()
    noise = random.Random(7).randbytes(3000)  # the same each call
    wire = (
        text("plain")
        + deflater.frame(TEXT, ("é" * 1000).encode())
        + frame(BINARY, b"\x00 plain binary")
        + deflater.frame(BINARY, noise)
        + deflater.frame(TEXT, b"")
        + frame(PING.value, b"between")
        + deflater.frame(TEXT, ("é" * 1000 + " again").encode())  # the window is still there
        + text("x" * 70_000)  # a 64-bit length, plain
        + deflater.frame(TEXT, b"y" * 70_000)
        + text("frag", fin=False)
        + frame(CONT, b"mented")
        + text("plain " * 50)
        + deflater.frame(TEXT, b"last")
    )
    messages: list[str | bytes] = [
        "plain",
        "é" * 1000,
        b"\x00 plain binary",
        noise,
        "",
        "é" * 1000 + " again",
        "x" * 70_000,
        "y" * 70_000,
        "fragmented",
        "plain " * 50,
        "last",
    ]
    return wire, messages


def deflate_scenarios() -> dict[str, tuple[bytes, bool, str | None]]:
    """What a permessage-deflate server may write (each its own compressor), as SCENARIOS."""
    mixed, _ = deflated_wire()
    one, two, three = Deflater(), Deflater(), Deflater()
    return {
        "mixed, close 1000": (
            mixed + close(1000, "bye"),
            False,
            "server closed the connection: 1000 (OK) bye",
        ),
        "compressed message in fragments": (
            text("a")
            + one.frame(TEXT, ("ü" * 500).encode(), pieces=3)
            + text("b")
            + one.frame(TEXT, b"c" * 100)
            + close(1000),
            False,
            "server closed the connection: 1000 (OK)",
        ),
        "corrupt compressed data": (
            text("a") + frame(TEXT, b"\xff\xff\xff\xff", rsv=4) + text("never"),
            False,
            None,
        ),
        "compressed text that is not utf-8": (
            text("a") + two.frame(TEXT, b"ok \xff\xfe") + text("never"),
            False,
            None,
        ),
        "plain text that is not utf-8": (
            text("a") + frame(TEXT, b"\xff") + text("no"),
            False,
            None,
        ),
        "rsv1 on a ping": (text("a") + frame(PING.value, b"", rsv=4), False, None),
        "rsv1 on a continuation": (
            text("a", fin=False) + frame(CONT, b"x", rsv=4),
            False,
            None,
        ),
        "rsv2 bit": (text("a") + frame(TEXT, b"x", rsv=2), False, None),
        "compressed frame cut short then EOF": (
            text("a") + three.frame(TEXT, b"z" * 5000)[:-10],
            True,
            None,
        ),
    }


DEFLATE_SCENARIOS = deflate_scenarios()


@pytest.mark.parametrize("how", ["with the 101", "at once", "byte by byte"])
@pytest.mark.parametrize(
    ("deflate", "name"),
    [(False, name) for name in SCENARIOS] + [(True, name) for name in DEFLATE_SCENARIOS],
    ids=lambda value: {False: "plain", True: "deflate"}.get(value, value),
)
def test_same_outcome_as_websockets_client(deflate: bool, name: str, how: str) -> None:
    """Messages and the close reason equal websockets' own client's, however the bytes come,
    with permessage-deflate negotiated or not."""
    wire, drop, expected = (DEFLATE_SCENARIOS if deflate else SCENARIOS)[name]

    async def body() -> tuple[Outcome, Outcome]:
        fast = await outcome(WebSocketClient, wire, drop, how, deflate)
        plain = await outcome(ClientConnection, wire, drop, how, deflate)
        return fast, plain

    fast, plain = run(body, timeout=60)
    assert fast == plain
    if expected is not None:
        assert fast[1] == expected
    if name == "close 1000":
        assert fast[0] == WIRE_MESSAGES
    if name == "mixed, close 1000":
        assert fast[0] == deflated_wire()[1]


@pytest.mark.parametrize("how", ["at once", "byte by byte"])
def test_deflate_keeps_the_fast_path_for_plain_frames(how: str) -> None:
    """Whole compressed frames go to websockets one by one: the fast path stays on.

    A compressed message in fragments hands everything to websockets from there on.
    """
    wire, messages = deflated_wire()
    deflater = Deflater()
    fragmented = deflater.frame(TEXT, b"in pieces", pieces=2)

    async def body() -> None:
        async with raw_peer(deflate=True) as peer:
            client = await open_client(peer.url)
            server = await peer.accepted()
            assert client.protocol.extensions  # deflate negotiated
            step = {"step": 1, "client": client} if how == "byte by byte" else {}
            await server.write(wire[:5000], **step)
            await server.write(wire[5000:])
            assert await take(client, len(messages)) == messages
            assert client.fast_path
            await server.until(lambda got: any(f.opcode is PONG for f in got))
            await server.write(fragmented + text("after"))
            assert await take(client, 2) == ["in pieces", "after"]
            assert not client.fast_path
            await client.close()

    run(body, timeout=60)


# -- the handshake ------------------------------------------------------------


def test_frames_sent_with_the_101_response_come_first_and_in_order() -> None:
    """Frames in the same TCP write as the 101 are neither lost nor reordered; later ones follow."""
    early = [f"early {i}" for i in range(300)]

    async def body() -> None:
        greeting = b"".join(text(message) for message in early) + frame(PING.value, b"hello")
        async with raw_peer(greeting) as peer:
            client = await open_client(peer.url)
            server = await peer.accepted()
            await server.write(text("later"))
            assert await take(client, len(early) + 1) == [*early, "later"]
            assert client.fast_path
            await server.until(lambda got: [(f.opcode, f.data) for f in got] == [(PONG, b"hello")])
            await client.close()

    run(body)


@pytest.mark.parametrize(
    "cuts",
    [(-4,), (-3,), (-2,), (-1,), (-30, -2, 3), (-1, 1, 2, 3)],
    ids=lambda cuts: ",".join(map(str, cuts)),
)
def test_response_head_and_early_frames_split_anywhere(cuts: tuple[int, ...]) -> None:
    """The 101's blank line split across reads, frames right behind it: all found, in order."""
    greeting = text("first") + frame(BINARY, b"second")

    async def body() -> None:
        reads: asyncio.Queue[int] = asyncio.Queue()

        class Observed(WebSocketClient):
            def data_received(self, data: bytes) -> None:
                super().data_received(data)
                reads.put_nowait(len(data))

        async with raw_peer(greeting, cuts, reads.get) as peer:
            client = await open_client(peer.url, Observed)
            await peer.accepted()
            assert await take(client, 2) == ["first", b"second"]
            assert client.fast_path
            await client.close()

    run(body)


def test_refused_upgrade_still_raises_invalid_status() -> None:
    """A 403 with a body is websockets' to report, as before."""

    async def refuse(connection: ServerConnection, request: Any) -> Any:
        return connection.respond(403, "no\n")

    async def body() -> None:
        async with serve(
            lambda c: c.wait_closed(), "127.0.0.1", 0, process_request=refuse
        ) as server:
            port = server.sockets[0].getsockname()[1]
            with pytest.raises(InvalidStatus) as caught:
                await open_client(f"ws://127.0.0.1:{port}/ws")
            assert caught.value.response.status_code == 403

    run(body)


# -- a websockets server ------------------------------------------------------


@contextlib.asynccontextmanager
async def ws_server(
    compression: str | None = None,
) -> AsyncIterator[tuple[str, asyncio.Queue[ServerConnection]]]:
    """websockets' asyncio server; yields its URL and a queue of accepted connections."""
    accepted: asyncio.Queue[ServerConnection] = asyncio.Queue()

    async def handler(connection: ServerConnection) -> None:
        await accepted.put(connection)
        await connection.wait_closed()

    async with serve(
        handler, "127.0.0.1", 0, compression=compression, max_size=None, ping_interval=None
    ) as server:
        port = server.sockets[0].getsockname()[1]
        yield f"ws://127.0.0.1:{port}/ws", accepted


def test_large_frames_with_64_bit_lengths() -> None:
    """8 MiB text and binary messages arrive whole, between small ones."""
    big_text = "".join(chr(0x41 + i % 26) for i in range(8 * 2**20))
    big_binary = os.urandom(8 * 2**20)

    async def body() -> None:
        async with ws_server() as (url, accepted):
            client = await open_client(url)
            server = await accepted.get()
            for message in ("before", big_text, big_binary, "after"):
                await server.send(message)
            got = await take(client, 4)
            assert len(got) == 4 and got[0] == "before" and got[3] == "after"
            assert got[1] == big_text and got[2] == big_binary
            await client.close()

    run(body, timeout=30)


def test_server_pings_are_answered_during_a_flood() -> None:
    """A ping behind thousands of data frames gets its pong; no message is lost."""
    messages = [f'{{"n": {i}}}' for i in range(5000)]

    async def body() -> None:
        async with ws_server() as (url, accepted):
            client = await open_client(url)
            server = await accepted.get()
            for message in messages[:2500]:
                await server.send(message)
            pong = await server.ping(b"are you there")
            for message in messages[2500:]:
                await server.send(message)
            assert await take(client, len(messages)) == messages
            await asyncio.wait_for(pong, scaled(5))
            await client.close()

    run(body)


def test_keepalive_pings_from_the_client_are_answered() -> None:
    """Our keepalive pings reach the server and its pongs are acknowledged (latency measured)."""

    async def body() -> None:
        async with raw_peer() as peer:
            client = await open_client(peer.url, ping_interval=0.02, ping_timeout=scaled(5))
            server = await peer.accepted()
            await server.until(lambda got: sum(f.opcode is PING for f in got) >= 3)
            await server.write(text("still here"))
            assert await client.recv_batch() == ["still here"]
            async with asyncio.timeout(scaled(5)):
                while client.latency == 0:
                    await asyncio.sleep(0.01)
            assert client.fast_path
            await client.close()
            assert client.close_code == 1000

    run(body)


def test_slow_consumer_pauses_reading_and_loses_nothing() -> None:
    """Past max_queue's high mark reading pauses (TCP pushes back); taking the batch resumes it."""
    messages = [f"{i:06d}" + "y" * 1000 for i in range(20_000)]

    async def body() -> None:
        async with ws_server() as (url, accepted):
            client = await open_client(url, max_queue=(64, 16))
            server = await accepted.get()

            async def send_all() -> None:
                for message in messages:
                    await server.send(message)

            sender = asyncio.create_task(send_all())
            async with asyncio.timeout(scaled(5)):
                while client.transport.is_reading():
                    await asyncio.sleep(0.01)
            assert not sender.done()  # ~20 MB cannot all sit in socket buffers
            got: list[str | bytes] = []
            largest = 0
            while len(got) < len(messages):
                batch = await client.recv_batch()
                largest = max(largest, len(batch))
                got += batch
                await asyncio.sleep(0)  # a slow consumer
            assert got == messages
            # At most one read's worth (256 KiB) beyond the high mark.
            assert largest <= 64 + 256 * 1024 // 1000 + 1
            assert client.transport.is_reading()
            await sender
            await client.close()

    run(body, timeout=30)


def test_close_while_paused_under_a_flood_completes_the_handshake() -> None:
    """A consumer that stops reading then closes: the server's close frame still gets read."""

    async def body() -> None:
        async with ws_server() as (url, accepted):
            # A close stuck behind paused reading would wait close_timeout, then abort (1006).
            client = await open_client(url, max_queue=(64, 16), close_timeout=scaled(60))
            server = await accepted.get()

            async def flood() -> None:
                with contextlib.suppress(ConnectionClosed):
                    while True:
                        for _ in range(100):
                            await server.send("f" * 500)
                        await asyncio.sleep(0)

            flooder = asyncio.create_task(flood())
            async with asyncio.timeout(scaled(5)):
                while client.transport.is_reading():
                    await asyncio.sleep(0.01)
            await client.close()
            assert client.close_code == 1000  # the server's answer was read
            await flooder

    run(body)


@pytest.mark.parametrize("compression", [None, "deflate"])
def test_permessage_deflate_on_and_off(compression: str | None) -> None:
    """With deflate negotiated websockets parses (and inflates) every frame; same messages."""
    messages: list[str | bytes] = [
        "x" * 10_000,
        b"\x00" * 5000,
        '{"a": 1}',
        "é" * 70_000,
        *(f"m{i}" for i in range(1000)),
    ]

    async def body() -> None:
        async with ws_server(compression) as (url, accepted):
            client = await open_client(url)
            server = await accepted.get()
            for message in messages:
                await server.send(message)
            await server.send(["frag", "mented"])  # a fragmented (compressed) message
            pong = await server.ping()
            assert await take(client, len(messages) + 1) == [*messages, "fragmented"]
            await asyncio.wait_for(pong, scaled(5))
            assert client.fast_path is (compression is None)
            assert bool(client.protocol.extensions) is (compression == "deflate")
            await server.close(1001, "bye")
            assert await drain(client) == (
                [],
                "server closed the connection: 1001 (going away) bye",
            )

    run(body)


def test_recv_batch_is_for_one_consumer_and_stays_closed() -> None:
    """Two waiting consumers is an error; once closed, recv_batch() raises every time."""

    async def body() -> None:
        async with raw_peer(text("one") + frame(BINARY, b"two") + text("2.5")) as peer:
            client = await open_client(peer.url)
            server = await peer.accepted()
            assert await take(client, 3) == ["one", b"two", "2.5"]
            waiting = asyncio.create_task(client.recv_batch())
            await asyncio.sleep(0)
            with pytest.raises(ConcurrencyError):
                await client.recv_batch()
            await server.write(text("three"))
            assert await waiting == ["three"]
            await server.write(close(1000))
            with pytest.raises(ConnectionClosed):
                await client.recv_batch()
            with pytest.raises(ConnectionClosed):  # and again: it stays closed
                await client.recv_batch()

    run(body)


def test_debug_logging_leaves_parsing_to_websockets(caplog: pytest.LogCaptureFixture) -> None:
    """With the logger at DEBUG websockets parses (and logs) every frame; same messages."""

    async def body() -> None:
        async with raw_peer(text("logged") + text("too")) as peer:
            logger = logging.getLogger("test.wsclient")
            logger.setLevel(logging.DEBUG)
            client = await open_client(peer.url, logger=logger)
            await peer.accepted()
            assert await take(client, 2) == ["logged", "too"]
            assert not client.fast_path
            await client.close()

    with caplog.at_level(logging.DEBUG, logger="test.wsclient"):
        run(body)
    assert any("< TEXT 'logged'" in record.getMessage() for record in caplog.records)


def test_no_message_after_a_failure_where_websockets_parses() -> None:
    """Frames parsed in the same read as a text that is not UTF-8 are dropped, as websockets does.

    (websockets parses every frame of a read before the bad one is judged.)
    """
    wire = text("a") + frame(TEXT, b"ok \xff\xfe") + text("never") + text("nor this")

    async def body() -> Outcome:
        async with raw_peer() as peer:
            logger = logging.getLogger("test.wsclient.failure")
            logger.setLevel(logging.DEBUG)  # websockets parses everything
            client = await open_client(peer.url, logger=logger)
            server = await peer.accepted()
            await server.write(wire)
            got = await drain(client)
            assert not client.fast_path
            return got

    assert run(body) == (
        ["a"],
        "closed the connection: 1007 (invalid frame payload data) invalid start byte at position 3",
    )


# A message: (text?, payload, compressed?, frames it comes in, a ping before it?)
_DeflateMessage = tuple[bool, bytes, bool, int, bool]
_DEFLATE_MESSAGES = st.lists(
    st.tuples(
        st.booleans(),
        st.one_of(
            st.binary(max_size=300),
            st.builds(lambda n, b: b * n, st.integers(0, 5000), st.binary(min_size=1, max_size=3)),
        ),
        st.booleans(),
        st.integers(1, 3),
        st.booleans(),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sent=_DEFLATE_MESSAGES, step=st.one_of(st.none(), st.integers(7, 2000)))
def test_any_mix_of_plain_and_compressed_frames_gives_the_messages(
    sent: list[_DeflateMessage], step: int | None
) -> None:
    """Plain and compressed messages, whole or in fragments, pings between, in any read sizes:
    every message comes out, in order; the fast path stays on until a compressed message
    comes in fragments."""
    deflater = Deflater()
    wire = b""
    expected: list[str | bytes] = []
    for is_text, payload, compressed, pieces, ping in sent:
        if is_text:
            payload = payload.decode("latin-1").encode()  # any bytes, as UTF-8 text
        opcode = TEXT if is_text else BINARY
        if ping:
            wire += frame(PING.value, b"p")
        if compressed:
            wire += deflater.frame(opcode, payload, pieces)
        else:
            step_size = -(-len(payload) // pieces) or 1
            parts = [payload[i : i + step_size] for i in range(0, len(payload), step_size)]
            parts = (parts or [b""]) + [b""] * (pieces - len(parts or [b""]))
            wire += frame(opcode, parts[0], fin=pieces == 1)
            for number, part in enumerate(parts[1:], 2):
                wire += frame(CONT, part, fin=number == pieces)
        expected.append(payload.decode() if is_text else payload)
    handed_over = any(compressed and pieces > 1 for _, _, compressed, pieces, _ in sent)

    async def body() -> None:
        async with raw_peer(deflate=True) as peer:
            client = await open_client(peer.url)
            server = await peer.accepted()
            await server.write(wire, **({"step": step, "client": client} if step else {}))
            assert await take(client, len(expected)) == expected
            assert client.fast_path is not handed_over
            await client.close()
            assert client.close_code == 1000

    run(body, timeout=60)


# -- socket.io 1.x: permessage-deflate, only messages of 1 KiB and more compressed --


def test_socketio_1x_server_compresses_big_events_only_and_the_fast_path_stays() -> None:
    """The official socket.io 1.7.4 (Paymium's generation) negotiates permessage-deflate and
    compresses a message only from 1024 bytes on: small events are still cut out here."""
    ensure_node_modules()
    big = "b" * 3000
    steps = [
        *({"ns": "/public", "data": f"small {i}"} for i in range(50)),
        {"ns": "/public", "data": big},
        *({"ns": "/public", "data": f"after {i}"} for i in range(50)),
    ]
    expected = [
        *(f'42/public,["stream","small {i}"]' for i in range(50)),
        f'42/public,["stream","{big}"]',
        *(f'42/public,["stream","after {i}"]' for i in range(50)),
    ]

    class Heads(WebSocketClient):
        """Records the first byte of every frame after the handshake."""

        heads: list[int]
        _wire = b""

        def data_received(self, data: bytes) -> None:
            if self.fast_path:
                self._wire += data
            super().data_received(data)

        def frame_heads(self) -> list[int]:
            heads, pos = [], 0
            while pos < len(self._wire):
                heads.append(self._wire[pos])
                pos = frame_end(self._wire, pos)
            return heads

    async def body() -> None:
        async with NodeSioPeer("sio1", steps) as peer:
            url = f"ws://127.0.0.1:{peer.port}/ws/socket.io/?EIO=3&transport=websocket"
            client = await open_client(url, Heads)
            assert client.protocol.extensions  # permessage-deflate negotiated
            client.send_text("40/public")
            got: list[str | bytes] = []
            while len([m for m in got if str(m).startswith("42")]) < len(expected):
                got += await client.recv_batch()
            assert [m for m in got if str(m).startswith("42")] == expected
            assert client.fast_path
            heads = client.frame_heads()
            assert heads.count(0xC1) == 1  # the big event, compressed
            assert heads.count(0x81) >= 100  # the small ones, plain
            await client.close()

    run(body, timeout=30)


# -- the Node.js `ws` server (what bench/servers.js runs) ----------------------

WS_SERVER_JS = r"""
const ws = require(require.resolve('ws', { paths: [require.resolve('sio4')] }));
const deflate = process.argv[1] === 'deflate';
const big = 'z'.repeat(8 * 1024 * 1024);
const wss = new ws.WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: deflate });
wss.on('listening', () => console.log(JSON.stringify({ port: wss.address().port })));
wss.on('connection', (socket) => {
  socket.on('pong', (data) => {
    console.log(JSON.stringify({ pong: data.toString() }));
    socket.close(4001, 'bye');
  });
  for (let i = 0; i < 3000; i++) socket.send(`{"n": ${i}}`);
  socket.send(big);
  socket.send(Buffer.from([0, 1, 2, 255]));
  socket.send('frag', { fin: false });
  socket.send('mented', { fin: true });
  socket.ping('from node');
});
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
@pytest.mark.parametrize("compression", [None, "deflate"])
def test_node_ws_server(compression: str | None) -> None:
    """Node's `ws` (as in bench/servers.js): a flood, 8 MiB, fragments, its ping, its close."""
    ensure_node_modules()
    expected: list[str | bytes] = [f'{{"n": {i}}}' for i in range(3000)]
    expected += ["z" * (8 * 1024 * 1024), b"\x00\x01\x02\xff", "fragmented"]

    async def body() -> None:
        server = await asyncio.create_subprocess_exec(
            "node",
            "-e",
            WS_SERVER_JS,
            compression or "plain",
            cwd=TESTS_DIR,
            stdout=asyncio.subprocess.PIPE,
        )
        assert server.stdout is not None
        try:
            port = json.loads(await server.stdout.readline())["port"]
            client = await open_client(f"ws://127.0.0.1:{port}/")
            assert await drain(client) == (
                expected,
                "server closed the connection: 4001 (private use) bye",
            )
            assert json.loads(await server.stdout.readline()) == {"pong": "from node"}
            assert client.fast_path is False  # closed: websockets took the bytes back
            assert bool(client.protocol.extensions) is (compression == "deflate")
        finally:
            server.kill()
            await server.wait()

    run(body, timeout=30)


@pytest.mark.parametrize("fragmented", [False, True])
def test_text_that_is_not_utf8_is_a_bad_text_without_strict_text(fragmented: bool) -> None:
    """strict_text=False (Socket.IO): a text message that is not UTF-8 is handed on as BadText.

    Whole frames (cut out here) and fragmented ones (websockets' parser) alike;
    the connection stays open and the next message follows.
    """
    bad = (
        frame(TEXT, b"ok \xff", fin=False) + frame(CONT, b"\xfe")
        if fragmented
        else frame(TEXT, b"ok \xff\xfe")
    )

    async def body() -> None:
        async with raw_peer(text("a") + bad + text("b")) as peer:
            client = await open_client(peer.url, strict_text=False)
            assert await take(client, 3) == ["a", BadText(b"ok \xff\xfe"), "b"]
            await client.close()

    run(body)


def test_send_text_and_fail() -> None:
    """send_text() reaches the server; fail() closes with its code; then send_text() raises."""

    async def body() -> None:
        async with raw_peer() as peer:
            client = await open_client(peer.url)
            server = await peer.accepted()
            client.send_text("40/public,")
            await server.until(lambda got: [f.data for f in got] == [b"40/public,"])
            client.fail(1009, "frame of 2000 bytes over the limit")
            await server.until(lambda got: len(got) == 2)
            assert Close.parse(server.received[1].data) == Close(
                1009, "frame of 2000 bytes over the limit"
            )
            with pytest.raises(ConnectionClosed):
                client.send_text("2")
            server.end()
            await client.close()

    run(body)
