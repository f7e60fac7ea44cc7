"""--demo: serve a feed's bundled sample on 127.0.0.1 and tail it through the real client."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from contextlib import AsyncExitStack
from typing import Any, TextIO

from wstail.feeds import ConnectSettings, Feed, sample_path
from wstail.frames import Frame
from wstail.live import LiveSource, Prepare

DEMO_CHANNEL = "demo-channel"  # the sample server accepts any channel


def demo_preparer(
    feed: Feed, settings: ConnectSettings, stderr: TextIO, speed: float = 1.0
) -> Prepare:
    """Start the sample server in this process, then point the real client at it.

    `speed` paces the sample (`--speed`: 1 is as recorded, 10 ten times faster).
    """
    from wstail.serve import serve_capture
    from wstail.serve.capture_file import bad_line_reporter, frames_of, read_capture_header

    path = sample_path(feed)
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
                speed=speed,
                loop=True,
                eio="4" if settings.eio == "4" else "3",
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
        url = f"{feed.scheme}://127.0.0.1:{port}{feed.served_url_path}"
        stderr.write(f"wstail: demo: serving the bundled {feed.name} sample at {url}\n")
        demo = dataclasses.replace(
            settings,
            user=None,
            password_file=None,
            cookie_file=None,
            headers={},
            channels=(DEMO_CHANNEL,) if feed.channels else (),
        )
        return feed.open(demo, url)

    return prepare
