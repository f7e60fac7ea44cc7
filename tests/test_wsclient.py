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
import shutil
import termios
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as websockets_connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConcurrencyError, ConnectionClosed, InvalidStatus
from websockets.frames import PING, PONG, Close, Frame
from websockets.server import ServerProtocol

from helpers.node_peers import run, scaled
from helpers.sio_peers import ensure_node_modules
from wstail.sources.node import describe_close
from wstail.sources.wsclient import WebSocketClient
from wstail.sources.wsconnect import connect
from wstail.sources.wsframes import BadText

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
    ) -> None:
        self.greeting = greeting
        self.cuts = cuts
        self.read = read
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
        protocol = ServerProtocol(max_size=None)
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
) -> AsyncIterator[RawPeer]:
    """A started RawPeer, stopped on exit."""
    peer = await RawPeer(greeting, cuts, read).start()
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


async def outcome(kind: type[Client], wire: bytes, drop: bool, how: str) -> Outcome:
    """What a client of `kind` makes of `wire`: sent with the 101, at once, or byte by byte."""
    async with raw_peer(wire if how == "with the 101" else b"") as peer:
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


@pytest.mark.parametrize("how", ["with the 101", "at once", "byte by byte"])
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_same_outcome_as_websockets_client(name: str, how: str) -> None:
    """Messages and the close reason equal websockets' own client's, however the bytes come."""
    wire, drop, expected = SCENARIOS[name]

    async def body() -> tuple[Outcome, Outcome]:
        fast = await outcome(WebSocketClient, wire, drop, how)
        plain = await outcome(ClientConnection, wire, drop, how)
        return fast, plain

    fast, plain = run(body, timeout=30)
    assert fast == plain
    if expected is not None:
        assert fast[1] == expected
    if name == "close 1000":
        assert fast[0] == WIRE_MESSAGES


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
