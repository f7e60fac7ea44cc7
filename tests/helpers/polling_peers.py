"""Hand-made long-polling peers: what no real server does on purpose, or a proxy in between.

- `UpgradeRefusingProxy`: a loopback TCP proxy that answers WebSocket
  upgrades with HTTP 400, as nginx without the Upgrade headers does.
- `RawPollingServer`: an Engine.IO 3 or 4 polling server playing a script of
  payloads (forgotten sessions, broken payloads).
- `LossyRelay`: a loopback TCP relay that loses one long-poll's answer in
  flight and resets the connection, as a NAT or a load balancer does.
- `check_exact_envelopes`: `tail public` and `tail user` over long-polling
  against an official server print the WebSocket's exact envelopes.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import struct
import zlib
from pathlib import Path
from typing import Any, Self

from aiohttp import web

from helpers.live import (
    PAYMENT_UUID,
    USER_CHANNEL,
    case_items,
    expected_lines,
    grep_secrets,
    masked,
    paymium_cases,
    run_wstail,
    scenario_steps,
    wstail_env,
)
from helpers.sio_peers import AiohttpServer, run, start_peer
from wstail.sources.socketio.payload import decode_payload, decode_payload4, encode_payload

__all__ = ["LossyRelay", "RawPollingServer", "UpgradeRefusingProxy", "check_exact_envelopes"]


def check_exact_envelopes(
    kind: str, eio: str, protocol: str, tmp_path: Path, public_cases: list[Any] | None = None
) -> None:
    """tail public and tail user against a polling-only `kind` server with `--eio eio`:
    meta.connected says `protocol` over polling, then the WebSocket's exact envelopes,
    the channels joined, no secret printed."""
    public = public_cases if public_cases is not None else paymium_cases("/public")
    user = paymium_cases("/user")
    public_items, user_items = case_items(public), case_items(user)
    steps = scenario_steps(public, "/public") + scenario_steps(user, "/user", after_channels=2)
    scenario = {"steps": steps, "transports": ["polling"]}
    env = wstail_env(tmp_path)

    async def body() -> tuple[Any, Any, list[dict[str, Any]]]:
        async with start_peer(kind, scenario) as peer:
            common = ["--url", peer.url, "--eio", eio, "--meta"]
            return (
                *await asyncio.gather(
                    run_wstail("tail", "public", *common, "-n", str(len(public_items)), env=env),
                    run_wstail(
                        "tail",
                        "user",
                        USER_CHANNEL,
                        PAYMENT_UUID,
                        *common,
                        "-n",
                        str(len(user_items)),
                        env=env,
                    ),
                ),
                peer.log.of("channel"),
            )

    tail_public, tail_user, channels = run(body, timeout=60)
    for done, items in ((tail_public, public_items), (tail_user, user_items)):
        assert done.code == 0, done.err
        connected = json.loads(done.lines[0])
        assert connected["event"] == "meta.connected"
        assert connected["data"]["protocol"] == protocol
        assert connected["data"]["transport"] == "polling"
        assert [masked(line) for line in done.lines[1:]] == expected_lines(items, 2)
    assert [entry["channel"] for entry in channels] == [USER_CHANNEL, PAYMENT_UUID]
    out = (tail_public.out, tail_public.err, tail_user.out, tail_user.err)
    assert grep_secrets(*out) == []


class LoopbackRelay:
    """A TCP relay on 127.0.0.1 (port 0) to a local server: the lifecycle its kinds share.

    A subclass writes `_relay`, one client connection's life; the task
    running it is cancelled when the relay closes.
    """

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        """The base URL to give wstail or SocketIOSource."""
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._relay(reader, writer)
        finally:
            self._tasks.discard(task)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError


class UpgradeRefusingProxy(LoopbackRelay):
    """A loopback TCP proxy: plain HTTP goes through, a WebSocket upgrade gets HTTP 400.

    As nginx without `proxy_set_header Upgrade` effectively does. With
    `let_sid`, an upgrade of an open session (`sid=` in its query) goes
    through: a bare WebSocket is refused, an Engine.IO upgrade is not.
    """

    def __init__(self, upstream: int, *, let_sid: bool = False) -> None:
        super().__init__(upstream)
        self.let_sid = let_sid
        self.upgrades: list[str] = []  # request targets of the upgrades seen

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            target = head.split(b" ", 2)[1].decode()
            if b"\r\nupgrade: websocket" in head.lower():
                self.upgrades.append(target)
                if not (self.let_sid and "sid=" in target):
                    writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                    await writer.drain()
                    return
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream)
            up_writer.write(head)
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        except (OSError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


CUTS = ("nothing", "status line", "half the body")  # what of a lost answer reaches the client


class LossyRelay(LoopbackRelay):
    """A loopback TCP relay that loses a long-poll's answer in flight, then resets the client.

    Requests go through as they are, responses whole (read by their
    Content-Length, or chunked), except the `lose`-th response (1-based, counted over all
    connections) whose body holds `needle`: the server has written it, but
    of it only `cut` reaches the client ("nothing", its "status line", or the
    head and "half the body"), then the client's connection is reset (RST,
    SO_LINGER 0), as a NAT or load balancer that lost the flow does.
    """

    def __init__(self, upstream: int, *, needle: bytes, lose: int, cut: str) -> None:
        assert cut in CUTS, cut
        super().__init__(upstream)
        self.needle = needle
        self.lose = lose
        self.cut = cut
        self.matched = 0  # responses seen holding `needle`
        self.lost: list[bytes] = []  # the bodies lost (decoded)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream)
            requests = asyncio.ensure_future(_pipe(reader, up_writer))
            try:
                await self._responses(up_reader, writer)
            finally:
                requests.cancel()
                up_writer.close()
        except (OSError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def _responses(self, up: asyncio.StreamReader, down: asyncio.StreamWriter) -> None:
        """Pass responses on, whole, until one is lost or the server closes."""
        while head := await _read_head(up):
            raw, body = await _read_body(head, up)
            if self._loses(body):
                sent = {"nothing": 0, "status line": head.index(b"\r\n") + 2}
                down.write((head + raw)[: sent.get(self.cut, len(head) + len(raw) // 2)])
                await down.drain()
                _reset(down)
                return
            down.write(head + raw)
            await down.drain()

    def _loses(self, text: bytes) -> bool:
        """Whether this response (its decoded body `text`) is the one to lose."""
        if self.needle not in text:
            return False
        self.matched += 1
        if self.matched != self.lose:
            return False
        self.lost.append(text)
        return True


async def _read_head(reader: asyncio.StreamReader) -> bytes:
    """A response's status line and headers, b"" when the connection ends between responses."""
    try:
        return await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        assert not exc.partial, f"a response cut short by the server: {exc.partial!r}"
        return b""


def _header(head: bytes, name: bytes) -> bytes | None:
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name:
            return value.strip().lower()
    return None


async def _read_body(head: bytes, reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """A response's body as sent (by Content-Length, chunked, or to the end), and its content
    (dechunked, decompressed)."""
    if _header(head, b"transfer-encoding") == b"chunked":
        raw, content = bytearray(), bytearray()
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            raw += size_line + chunk
            content += chunk[:-2]
            if size == 0:
                assert chunk == b"\r\n", f"a chunked response with trailers: {head!r}"
                return bytes(raw), _decoded(head, bytes(content))
    length = _header(head, b"content-length")
    raw = await reader.readexactly(int(length)) if length is not None else await reader.read()
    return raw, _decoded(head, raw)


def _decoded(head: bytes, body: bytes) -> bytes:
    """The body as sent before Content-Encoding (engine.io compresses answers over 1 KB)."""
    encoding = _header(head, b"content-encoding")
    if encoding == b"gzip":
        return zlib.decompress(body, 16 + zlib.MAX_WBITS)
    if encoding == b"deflate":
        return zlib.decompress(body)
    assert encoding is None, f"content-encoding {encoding!r}"
    return body


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST (SO_LINGER 0) instead of a FIN."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class RawPollingServer(AiohttpServer):
    """A hand-made Engine.IO 3 (or 4) polling server: one scripted session per connection.

    Each open session gets (EIO3: `40`,) the namespace ack and then the
    `script` payloads (already encoded), one per GET; after the script it
    answers 400 "Session ID unknown" (as engine.io does for a session it
    forgot). EIO3 pings are answered; EIO4 POSTs are kept in `posted`.
    """

    def __init__(self, script: list[str], tls: ssl.SSLContext | None = None, eio: int = 3) -> None:
        self.script = script
        self.tls = tls
        self.eio = eio
        self.posted: list[str] = []  # EIO4: the packets the client POSTed
        self.requests: list[web.Request] = []
        self.opened = 0
        self._queues: dict[str, list[str]] = {}

    @property
    def url(self) -> str:
        """The base URL to give SocketIOSource."""
        return f"{'https' if self.tls else 'http'}://localhost:{self.port}"

    async def _handle(self, request: web.Request) -> web.Response:
        self.requests.append(request)
        sid = request.query.get("sid")
        if request.query.get("transport") != "polling":
            return web.Response(status=400, text='{"code":3,"message":"Bad request"}')
        if sid is None:
            self.opened += 1
            sid = f"raw{self.opened}"
            info = {"sid": sid, "upgrades": [], "pingInterval": 25000, "pingTimeout": 60000}
            if self.eio == 4:
                self._queues[sid] = list(self.script)
                response = web.Response(text="0" + json.dumps(info))
            else:
                self._queues[sid] = [encode_payload(["40"]), *self.script]
                response = web.Response(text=encode_payload(["0" + json.dumps(info)]))
            response.set_cookie("io", sid)  # as engine.io does
            return response
        queue = self._queues.get(sid)
        if queue is None:
            return web.Response(status=400, text='{"code":1,"message":"Session ID unknown"}')
        if request.method == "POST" and self.eio == 4:
            for packet in decode_payload4(await request.text()):
                self.posted.append(packet)
                if packet.startswith("40/"):
                    queue.insert(0, packet + '{"sid":"raw"}')
            return web.Response(text="ok")
        if request.method == "POST":
            for packet in decode_payload(await request.text()):
                if packet.startswith("40/"):
                    queue.insert(1, encode_payload([packet]))
                elif packet == "2":
                    queue.insert(0, encode_payload(["3"]))
            return web.Response(text="ok")
        while not queue:
            await asyncio.sleep(0.01)
            if sid not in self._queues:
                return web.Response(status=400, text='{"code":1,"message":"Session ID unknown"}')
        payload = queue.pop(0)
        if payload == "forget":
            del self._queues[sid]
            return web.Response(status=400, text='{"code":1,"message":"Session ID unknown"}')
        return web.Response(text=payload)

    def route(self, app: web.Application) -> None:
        app.router.add_route("*", "/ws/socket.io/", self._handle)
