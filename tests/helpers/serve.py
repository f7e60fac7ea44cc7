"""Helpers for the `--serve` tests: small captures on disk, a served capture, the JS client.

- `write_capture` / `capture_opener`: a capture file through the real codec,
  and the `open_frames` callable serve_capture wants (counting its calls).
- `Served`: serve_capture running in a task on 127.0.0.1, port 0, stopped
  (and awaited) on exit.
- `run_js_client`: the official socket.io-client (2.5 or 4.8) in
  tests/peers/sio_client.js, returning the events it printed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from helpers.sio_peers import TESTS, scaled
from wstail.capture import CaptureHeader, decode_frame, decode_header, encode_frame
from wstail.frames import Frame, meta_frame
from wstail.jsonexact import loads_exact
from wstail.serve import serve_capture

JS_CLIENT = TESTS / "peers" / "sio_client.js"
START_US = 1_790_139_583_000_000  # the capture header's start time


def sio(at: float, namespace: str, payload: str) -> Frame:
    """A Socket.IO frame recorded `at` seconds after the capture start."""
    return Frame(recv_us=START_US + round(at * 1e6), kind="sio", channel=namespace, payload=payload)


def text(at: float, payload: str) -> Frame:
    """A node text frame recorded `at` seconds after the capture start."""
    return Frame(recv_us=START_US + round(at * 1e6), kind="text", payload=payload)


def binary(at: float, payload: bytes) -> Frame:
    """A node binary frame recorded `at` seconds after the capture start."""
    return Frame(recv_us=START_US + round(at * 1e6), kind="binary", payload=payload)


def meta(at: float, name: str = "meta.connected") -> Frame:
    """A lifecycle frame recorded `at` seconds after the capture start."""
    return meta_frame(START_US + round(at * 1e6), name, url="http://example.invalid")


def write_capture(path: Path, source: str, frames: Iterable[Frame]) -> Path:
    """Write a capture file (header + frame lines) with the real codec."""
    header = CaptureHeader(source=source, start_us=START_US, url="", protocol="", tool="test")
    lines = [header.encode()] + [encode_frame(frame, START_US) for frame in frames]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


class CaptureOpener:
    """`open_frames` for serve_capture: a fresh generator over a capture file per call."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.calls = 0

    def __call__(self) -> Iterator[Frame]:
        self.calls += 1
        return self._frames()

    def _frames(self) -> Iterator[Frame]:
        with self.path.open("rb") as lines:
            header = decode_header(loads_exact(next(lines)))
            for line in lines:
                if line.strip():
                    yield decode_frame(line, header.start_us)


def capture_opener(path: Path) -> CaptureOpener:
    """The `open_frames` callable of a capture file."""
    return CaptureOpener(path)


def sio_payloads(frames: Iterable[Frame], namespace: str) -> list[str]:
    """The recorded payload texts of one namespace, in order."""
    return [str(f.payload) for f in frames if f.kind == "sio" and f.channel == namespace]


class Served:
    """serve_capture in a task on 127.0.0.1:0; `async with Served(...) as served: served.url`."""

    def __init__(self, open_frames: Any, source: str, **options: Any) -> None:
        self.open_frames = open_frames
        self.source = source
        self.options = options
        self.port = 0
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        """The base URL (http://127.0.0.1:PORT) of the Socket.IO server."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        """The node endpoint's URL."""
        return f"ws://127.0.0.1:{self.port}/ws"

    async def __aenter__(self) -> Served:
        listening: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        def on_listening(host: str, port: int) -> None:
            assert host == "127.0.0.1"
            listening.set_result(port)

        self.task = asyncio.create_task(
            serve_capture(
                self.open_frames,
                self.source,
                port=0,
                on_listening=on_listening,
                stop=self.stop,
                **self.options,
            )
        )
        waiters: set[asyncio.Future[Any]] = {listening, self.task}
        async with asyncio.timeout(scaled(5)):
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        if self.task.done():
            self.task.result()  # raises what serve_capture raised
        self.port = listening.result()
        return self

    async def stopped(self) -> None:
        """Set stop and wait until serve_capture returned (raising what it raised)."""
        assert self.task is not None
        self.stop.set()
        async with asyncio.timeout(scaled(5)):
            await self.task

    async def __aexit__(self, *exc: object) -> None:
        if self.task is None:
            return
        if exc[0] is not None and not self.task.done():
            self.stop.set()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                async with asyncio.timeout(scaled(5)):
                    await self.task
            return
        await self.stopped()


async def run_js_client(
    version: str,
    url: str,
    namespace: str,
    count: int,
    channel: str | None = None,
    timeout: float = 10.0,
    polling: bool = False,
    polling_only: bool = False,
    path: str | None = None,
) -> list[dict[str, Any]]:
    """Events read by the official socket.io-client `version` ("2" or "4"), until `count`.

    Websocket transport only, unless `polling`: then the client's defaults
    (long-polling first, then an upgrade, as in a browser); `polling_only`:
    long-polling and never an upgrade. `path`: the Socket.IO path (default
    /ws/socket.io, Paymium's).
    """
    node = shutil.which("node") or "node"
    mode = ["--polling-only"] if polling_only else ["--polling"] if polling else []
    where = ["--path", path] if path is not None else []
    args = [str(JS_CLIENT), *where, *mode, version, url, namespace]
    args.append(str(count))
    if channel is not None:
        args.append(channel)
    process = await asyncio.create_subprocess_exec(
        node, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        async with asyncio.timeout(scaled(timeout)):
            out, err = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, err.decode()
    return [json.loads(line) for line in out.decode().splitlines()]
