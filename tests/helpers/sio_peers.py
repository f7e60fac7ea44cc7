"""Real Socket.IO peers for the Paymium source tests, all on 127.0.0.1, port 0.

- `NodeSioPeer`: the official socket.io 1.7.4, 2.5.0 or 4.8.1 server running
  tests/peers/paymium_server.js (a subprocess; it prints its port first).
- `PySioPeer`: a python-socketio AsyncServer (aiohttp app, in-process) that
  plays the same scenarios.
- `RawSioServer`: a `websockets` server speaking Engine.IO 3 (or 4) by hand,
  for what no real server does on purpose: junk packets, unanswered pings,
  a refused first attempt.
- `StatusServer`: an aiohttp server that answers every request with one HTTP status.

A scenario is a list of steps (or {"steps": [...], "refuse": {ns: message}},
plus Engine.IO settings both kinds of peer take: "transports", "pingInterval",
"pingTimeout"):
{"ns", "event", "data"} emits, {"ns", "raw"} writes an event array's text as
is, "after_channels": N waits for a socket that sent N channels,
"after_connects": N for the namespace's N-th connection, {"drop": true}
closes every client's Engine.IO connection (clients reconnect), {"end": true}
sends every client its namespace's disconnect packet (clients stop), {"sleep":
ms} waits. Each step waits for a client on its namespace and is played once: a
client that reconnects after a drop gets the steps that follow. The peers log
what happened as dicts ({"ev": "connect"|"channel"|"disconnect"|"sent"|"drop"|
"end"|"done", ...}).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import shutil
import ssl
import subprocess
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any, Self, TypeVar

import socketio
from aiohttp import web
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from helpers.timeouts import scaled
from wstail.frames import Frame

T = TypeVar("T")

TESTS = Path(__file__).resolve().parent.parent
PEER_SCRIPT = TESTS / "peers" / "paymium_server.js"
NODE_PACKAGES = ("sio1", "sio2", "sio4", "sioc2", "sioc4", "playwright-core")

NODE_VERSIONS = {"sio1": "1", "sio2": "2", "sio4": "4"}
PEER_KINDS = ("sio1", "sio2", "sio4", "python")


def run(make: Callable[[], Awaitable[T]], timeout: float = 15.0) -> T:
    """Run one async test body under a (scaled) overall timeout."""

    async def bounded() -> T:
        async with asyncio.timeout(scaled(timeout)):
            return await make()

    return asyncio.run(bounded())


def ensure_node_modules() -> None:
    """Install the pinned JS peers (tests/package.json) unless they are there already."""
    modules = TESTS / "node_modules"
    if all((modules / name / "package.json").exists() for name in NODE_PACKAGES):
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is needed for the Socket.IO reference peers (tests/package.json)")
    subprocess.run(
        [npm, "install", "--no-audit", "--no-fund"],
        cwd=TESTS,
        check=True,
        timeout=scaled(300),
        stdout=subprocess.DEVNULL,
    )


async def collect(
    source: Any,
    stop: Callable[[list[Frame]], bool] = lambda frames: False,
    timeout: float = 10.0,
    into: list[Frame] | None = None,
) -> list[Frame]:
    """Frames from a source until `stop(frames)` holds; the source is closed after.

    `into` receives the frames as they come, so a test sees them even when
    the source raises.
    """
    frames: list[Frame] = [] if into is None else into
    stream = aiter(source)
    try:
        async with asyncio.timeout(scaled(timeout)):
            async for frame in stream:
                frames.append(frame)
                if stop(frames):
                    break
    finally:
        await stream.aclose()
    return frames


def names(frames: Iterable[Frame]) -> list[str]:
    """Each frame as "sio" or its meta name, for comparing lifecycles."""
    return ["sio" if f.kind == "sio" else str(f.payload) for f in frames]


def payloads(frames: Iterable[Frame]) -> list[str | bytes]:
    """The payloads of the Socket.IO frames."""
    return [f.payload for f in frames if f.kind == "sio"]


def meta_data(frames: Iterable[Frame], name: str) -> list[dict[str, Any]]:
    """The details of every meta frame called `name`."""
    return [dict(f.data or {}) for f in frames if f.kind == "meta" and f.payload == name]


def count_sio(n: int) -> Callable[[list[Frame]], bool]:
    """A `collect` stop rule: n Socket.IO frames received."""
    return lambda frames: sum(f.kind == "sio" for f in frames) >= n


def last_is(name: str) -> Callable[[list[Frame]], bool]:
    """A `read_until` stop rule: the last frame is the meta frame `name`."""
    return lambda frames: frames[-1].payload == name


async def read_until(
    stream: AsyncIterator[Frame], frames: list[Frame], stop: Callable[[list[Frame]], bool]
) -> None:
    """Append frames from an open source iterator until `stop(frames)` holds (or it ends)."""
    with contextlib.suppress(StopAsyncIteration):
        async for frame in stream:
            frames.append(frame)
            if stop(frames):
                return


def stream(n: int, **extra: Any) -> dict[str, Any]:
    """A public scenario step carrying sequence number n."""
    return {"ns": "/public", "event": "stream", "data": {"n": n}, **extra}


def stream_payload(n: int) -> str:
    """The payload text of `stream(n)`."""
    return f'["stream",{{"n":{n}}}]'


async def read_across_restart(
    kind: str, scenario: dict[str, Any], make_source: Callable[[str], Any]
) -> list[Frame]:
    """Read `stream(1)` from a peer of `kind` playing `scenario`, kill the peer, start it
    again on its port with `stream(2)`: every frame the source made meanwhile."""
    async with start_peer(kind, dict(scenario, steps=[stream(1)])) as first:
        assert isinstance(first, NodeSioPeer)
        incoming = aiter(make_source(first.url))
        frames: list[Frame] = []
        try:
            await read_until(incoming, frames, count_sio(1))
            await first.kill()
            await read_until(incoming, frames, last_is("meta.disconnected"))
            async with start_peer(kind, dict(scenario, steps=[stream(2)], port=first.port)):
                await read_until(incoming, frames, count_sio(2))
        finally:
            await incoming.aclose()
        return frames


def assert_came_back(frames: list[Frame]) -> None:
    """The lifecycle of `read_across_restart`: read, dropped, retried, back, read on."""
    assert names(frames)[:3] == ["meta.connected", "sio", "meta.disconnected"]
    assert set(names(frames)[3:-2]) == {"meta.reconnecting"}
    assert names(frames)[-2:] == ["meta.connected", "sio"]
    assert payloads(frames) == [stream_payload(1), stream_payload(2)]


class _Log:
    """What a peer did, as dicts, with a way to wait for an entry."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self._changed = asyncio.Event()

    def add(self, entry: dict[str, Any]) -> None:
        self.entries.append(entry)
        self._changed.set()

    def of(self, ev: str) -> list[dict[str, Any]]:
        """Entries of one kind."""
        return [e for e in self.entries if e.get("ev") == ev]

    async def wait_for(self, found: Callable[[list[dict[str, Any]]], bool]) -> None:
        """Wait until `found(entries)` holds (the caller bounds the time)."""
        while not found(self.entries):
            self._changed.clear()
            await self._changed.wait()


def _scenario(scenario: Any) -> dict[str, Any]:
    return {"steps": scenario} if isinstance(scenario, list) else dict(scenario)


class NodeScriptPeer:
    """A Node.js peer script (`script ARGUMENT SCENARIO.json`) as a subprocess.

    The script prints its port on its first line, then one JSON object a line
    (what it did and received: `log`), and exits when its stdin closes.
    """

    def __init__(self, script: Path, argument: str, scenario: Any, prefix: str) -> None:
        self.script = script
        self.argument = argument
        self.scenario = scenario
        self.log = _Log()
        self.port = 0
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._tmp = tempfile.TemporaryDirectory(prefix=prefix)

    async def __aenter__(self) -> Self:
        path = Path(self._tmp.name) / "scenario.json"
        path.write_text(json.dumps(self.scenario))
        node = shutil.which("node") or "node"
        self._process = await asyncio.create_subprocess_exec(
            node,
            str(self.script),
            self.argument,
            str(path),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert self._process.stdout is not None
        async with asyncio.timeout(scaled(10)):
            first = await self._process.stdout.readline()
        self.port = int(first)
        self._reader = asyncio.create_task(self._read(self._process.stdout))
        return self

    async def _read(self, stdout: asyncio.StreamReader) -> None:
        async for line in stdout:
            self.log.add(json.loads(line))

    def send_signal(self, signum: int) -> None:
        """Signal the server process (SIGSTOP freezes it: its connections go half-open)."""
        assert self._process is not None
        self._process.send_signal(signum)

    async def kill(self) -> None:
        """SIGKILL the server process: its connections drop as in a crash, its port frees."""
        assert self._process is not None
        self._process.kill()
        await self._process.wait()

    async def __aexit__(self, *exc: object) -> None:
        process = self._process
        if process is not None:
            assert process.stdin is not None
            process.stdin.close()  # the peer exits when its stdin closes
            try:
                async with asyncio.timeout(scaled(5)):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        self._tmp.cleanup()


class NodeSioPeer(NodeScriptPeer):
    """An official socket.io server (1.x, 2.x or 4.x) playing a scenario, as a subprocess."""

    def __init__(self, kind: str, scenario: Any) -> None:
        super().__init__(PEER_SCRIPT, NODE_VERSIONS[kind], _scenario(scenario), "wstail-sio-")
        self.kind = kind
        self.version = NODE_VERSIONS[kind]

    @property
    def url(self) -> str:
        """The base URL to give SocketIOSource."""
        return f"http://127.0.0.1:{self.port}"


class PySioPeer:
    """A python-socketio AsyncServer (aiohttp) playing a scenario, in this event loop."""

    kind = "python"

    def __init__(self, scenario: Any) -> None:
        self.scenario = _scenario(scenario)
        self.log = _Log()
        self.port = 0
        engine: dict[str, Any] = {}  # the Engine.IO settings a scenario may change
        if "transports" in self.scenario:
            engine["transports"] = self.scenario["transports"]
        for key, option in (("pingInterval", "ping_interval"), ("pingTimeout", "ping_timeout")):
            if key in self.scenario:
                engine[option] = self.scenario[key] / 1000
        self.sio = socketio.AsyncServer(
            async_mode="aiohttp", logger=False, engineio_logger=False, **engine
        )
        self._sockets: list[dict[str, Any]] = []
        self._connects: dict[str, int] = {}
        self._runner: web.AppRunner | None = None
        self._player: asyncio.Task[None] | None = None
        refuse = self.scenario.get("refuse", {})
        for ns in ("/public", "/user"):
            self._serve(ns, refuse.get(ns))

    @property
    def url(self) -> str:
        """The base URL to give SocketIOSource (https with the scenario's "tls" context)."""
        scheme = "https" if self.scenario.get("tls") else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def _serve(self, ns: str, refusal: str | None) -> None:
        sio = self.sio

        async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
            if refusal is not None:
                raise socketio.exceptions.ConnectionRefusedError(refusal)
            conn = sio.manager.eio_sid_from_sid(sid, ns)
            number = self._connects[ns] = self._connects.get(ns, 0) + 1
            entry = {"sid": sid, "ns": ns, "conn": conn, "channels": [], "number": number}
            self._sockets.append(entry)
            self.log.add({"ev": "connect", "ns": ns, "conn": conn})

        async def channel(sid: str, value: Any) -> None:
            for entry in self._sockets:
                if entry["sid"] == sid and entry["ns"] == ns:
                    entry["channels"].append(value)
                    self.log.add(
                        {"ev": "channel", "ns": ns, "conn": entry["conn"], "channel": value}
                    )

        async def disconnect(sid: str, reason: Any = None) -> None:
            for entry in list(self._sockets):
                if entry["sid"] == sid and entry["ns"] == ns:
                    self._sockets.remove(entry)
                    self.log.add({"ev": "disconnect", "ns": ns, "conn": entry["conn"]})

        sio.on("connect", connect, namespace=ns)
        sio.on("channel", channel, namespace=ns)
        sio.on("disconnect", disconnect, namespace=ns)

    async def __aenter__(self) -> PySioPeer:
        app = web.Application()
        self.sio.attach(app, socketio_path="ws/socket.io")
        # python-engineio holds a long-poll until its next ping, even for a client
        # that left: shutting down does not wait for such a request that long.
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=scaled(1))
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self.scenario.get("tls"))
        await site.start()
        self.port = self._runner.addresses[0][1]
        self._player = asyncio.create_task(self._play())
        return self

    async def _wait_for(self, found: Callable[[], list[dict[str, Any]]]) -> list[dict[str, Any]]:
        while True:
            chosen = found()
            if chosen:
                return chosen
            await asyncio.sleep(0.005)

    async def _play(self) -> None:
        for index, step in enumerate(self.scenario.get("steps", [])):
            if "sleep" in step:
                await asyncio.sleep(step["sleep"] / 1000)
                continue
            if step.get("drop") or step.get("end"):
                chosen = await self._wait_for(lambda: list(self._sockets))
                conns = sorted({e["conn"] for e in chosen})
                if step.get("drop"):  # the Engine.IO connection closed: clients reconnect
                    for conn in conns:
                        await self.sio.eio.disconnect(conn)
                else:  # the namespace's disconnect packet: clients stop
                    for entry in chosen:
                        await self.sio.disconnect(entry["sid"], namespace=entry["ns"])
                self.log.add(
                    {"ev": "drop" if step.get("drop") else "end", "step": index, "conns": conns}
                )
                continue
            ns = step.get("ns", "/public")
            need = step.get("after_channels", 0)
            nth = step.get("after_connects", 0)

            def ready(ns: str = ns, need: int = need, nth: int = nth) -> list[dict[str, Any]]:
                return [
                    e
                    for e in self._sockets
                    if e["ns"] == ns and len(e["channels"]) >= need and e["number"] >= nth
                ]

            chosen = await self._wait_for(ready)
            for entry in chosen:
                if "raw" in step:
                    await self.sio.eio.send(entry["conn"], f"2{ns},{step['raw']}")
                else:
                    args = revive(step.get("args", [step.get("data")]))
                    data = tuple(args) if len(args) != 1 else args[0]
                    event = step.get("event", "stream")
                    await self.sio.emit(event, data, to=entry["sid"], namespace=ns)
            self.log.add({"ev": "sent", "step": index, "conns": [e["conn"] for e in chosen]})
        self.log.add({"ev": "done"})

    async def __aexit__(self, *exc: object) -> None:
        if self._player is not None:
            self._player.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._player
        if self._runner is not None:
            await self.sio.shutdown()
            await self._runner.cleanup()


def revive(value: Any) -> Any:
    """A scenario value with each {"$buffer": base64} as bytes (a binary event's Buffer)."""
    if isinstance(value, list):
        return [revive(item) for item in value]
    if isinstance(value, dict):
        if isinstance(value.get("$buffer"), str):
            return base64.b64decode(value["$buffer"])
        return {key: revive(item) for key, item in value.items()}
    return value


def start_peer(kind: str, scenario: Any) -> NodeSioPeer | PySioPeer:
    """A peer of the given kind ("sio1", "sio2", "sio4", "python"), to use with `async with`."""
    if kind == "python":
        return PySioPeer(scenario)
    return NodeSioPeer(kind, scenario)


class TextBytes(bytes):
    """A `RawSioServer` script entry sent as a text frame of these bytes (bad UTF-8 allowed)."""


class RawSioServer:
    """A hand-made Engine.IO 3 (or 4) server: scripted packets, optional silence.

    Every connection gets the open packet (EIO4: with maxPayload), EIO3 also
    the default namespace's `40`; a namespace connect is acked, then the
    script is sent (`TextBytes` entries as text frames, UTF-8 or not). Pings
    are answered except on `silent` connections (1-based numbers); the first
    `fail_first` upgrades get HTTP 503.
    """

    def __init__(
        self,
        script: Iterable[str | bytes] = (),
        *,
        eio: int = 3,
        silent: Iterable[int] = (),
        fail_first: int = 0,
        close_after_script: bool = False,
        ping_interval_ms: int = 25000,
        tls: ssl.SSLContext | None = None,
        max_payload: bool = True,
    ) -> None:
        self.script = list(script)
        self.tls = tls
        self.max_payload = max_payload  # EIO4 only: socket.io 3.0-4.1 did not announce it
        self.eio = eio
        self.silent = set(silent)
        self.fail_first = fail_first
        self.close_after_script = close_after_script
        self.ping_interval_ms = ping_interval_ms
        self.attempts = 0
        self.connections = 0
        self.paths: list[str] = []
        self.headers: list[Headers] = []
        self.received: list[tuple[int, str | bytes]] = []
        self.pings: dict[int, int] = {}
        self._server: Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """The base URL to give SocketIOSource."""
        scheme = "https" if self.tls else "http"
        return f"{scheme}://localhost:{self.port}"

    async def __aenter__(self) -> RawSioServer:
        self._server = await serve(
            self._handle, "127.0.0.1", 0, process_request=self._process_request, ssl=self.tls
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        self.attempts += 1
        self.paths.append(request.path)
        self.headers.append(request.headers)
        if self.attempts <= self.fail_first:
            return connection.respond(503, "busy\n")
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        self.connections += 1
        number = self.connections
        self.pings[number] = 0
        info: dict[str, Any] = {
            "sid": f"raw{number}",
            "upgrades": [],
            "pingInterval": self.ping_interval_ms,
            "pingTimeout": 60000,
        }
        if self.eio == 4 and self.max_payload:
            info["maxPayload"] = 1000000
        await ws.send("0" + json.dumps(info))
        if self.eio == 3:
            await ws.send("40")
        async for message in ws:
            self.received.append((number, message))
            if message == "2":
                self.pings[number] += 1
                if number not in self.silent:
                    await ws.send("3")
            elif isinstance(message, str) and message.startswith("40/"):
                ns = message[2:].split(",", 1)[0]
                await ws.send(f"40{ns}" if self.eio == 3 else f'40{ns},{{"sid":"ns{number}"}}')
                for packet in self.script:
                    await ws.send(packet, text=True if isinstance(packet, TextBytes) else None)
                if self.close_after_script:
                    await ws.close()
                    return


class AiohttpServer:
    """An aiohttp server on 127.0.0.1 (port 0), TLS when `tls` is set; subclasses route it."""

    tls: ssl.SSLContext | None = None
    port = 0
    _runner: web.AppRunner | None = None

    def route(self, app: web.Application) -> None:
        """Add the server's routes to `app`."""
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        app = web.Application()
        self.route(app)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self.tls)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


class StatusServer(AiohttpServer):
    """An aiohttp server that answers every request with one HTTP status, and counts them."""

    def __init__(self, status: int) -> None:
        self.status = status
        self.requests = 0

    @property
    def url(self) -> str:
        """The base URL to give SocketIOSource."""
        return f"http://127.0.0.1:{self.port}"

    def route(self, app: web.Application) -> None:
        app.router.add_route("*", "/{tail:.*}", self._answer)

    async def _answer(self, request: web.Request) -> web.Response:
        self.requests += 1
        return web.Response(status=self.status, text="no\n")


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
