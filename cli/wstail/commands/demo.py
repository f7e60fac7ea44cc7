"""--demo: serve a bundled sample capture on 127.0.0.1 and tail it through the real client."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from importlib import resources
from typing import Any

from wstail.frames import Frame
from wstail.live import LiveSource

SAMPLES = {"public": "public.jsonl", "user": "user.jsonl", "node": "node.jsonl"}
DEMO_CHANNEL = "demo-channel"  # the sample server accepts any channel


def sample_path(kind: str) -> str:
    """The path of the bundled sample capture for a source kind."""
    return str(resources.files("wstail") / "data" / SAMPLES[kind])


def demo_preparer(
    kind: str, params: dict[str, Any]
) -> Callable[[AsyncExitStack], Awaitable[LiveSource]]:
    """Start the sample server in this process, then point the real client at it."""
    from wstail.serve import serve_capture

    from .connect import build_source
    from .serving import bad_line_reporter, frames_of, read_capture_header

    path = sample_path(kind)
    source, start_us = read_capture_header(path)
    report = bad_line_reporter(path)

    def open_frames() -> Iterator[Frame]:
        return frames_of(path, start_us, report)

    async def prepare(stack: AsyncExitStack) -> LiveSource:
        stop = asyncio.Event()
        bound: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        server = asyncio.create_task(
            serve_capture(
                open_frames,
                source,
                port=0,
                speed=1.0,
                loop=True,
                eio="4" if params["eio"] == "4" else "3",
                on_listening=lambda host, port: bound.set_result(port),
                stop=stop,
            )
        )

        async def shutdown() -> None:
            stop.set()
            try:
                await asyncio.wait_for(server, 5)
            except (Exception, asyncio.CancelledError):  # noqa: BLE001 - best effort at exit
                server.cancel()

        stack.push_async_callback(shutdown)
        waiter: asyncio.Future[Any] = asyncio.ensure_future(bound)
        pending: set[asyncio.Future[Any]] = {waiter, server}
        await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        if not waiter.done():
            server.result()  # raises why the server could not start
        port = waiter.result()
        scheme = "ws" if kind == "node" else "http"
        path = "/ws" if kind == "node" else ""
        url = f"{scheme}://127.0.0.1:{port}{path}"
        sys.stderr.write(f"wstail: demo: serving the bundled {kind} sample at {url}\n")
        demo_params = dict(params, user=None, password_file=None, cookie_file=None, headers=())
        channels = [DEMO_CHANNEL] if kind == "user" else None
        return build_source(kind, demo_params, channels, url=url)

    return prepare
