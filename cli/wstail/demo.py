"""--demo: serve a feed's bundled sample on 127.0.0.1 and tail it through the real client.

A generic feed's sample header holds what its live run was given (what was
sent or emitted, the namespace and path, the rules, the name): the demo run
takes each of them unless the command line gives it, so that `tail ws --demo`
prints what `replay` of the sample prints.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from contextlib import AsyncExitStack
from typing import Any, TextIO

from wstail.capture import CaptureHeader
from wstail.feeds import ConnectSettings, Feed, sample_path
from wstail.frames import Frame
from wstail.live import LiveSource, Prepare
from wstail.normalize.generic import Rules

DEMO_CHANNEL = "demo-channel"  # the sample server accepts any channel


def demo_preparer(
    feed: Feed, settings: ConnectSettings, stderr: TextIO, speed: float = 1.0
) -> Prepare:
    """Start the sample server in this process, then point the real client at it.

    `speed` paces the sample (`--speed`: 1 is as recorded, 10 ten times faster).
    """
    from wstail.serve import serve_capture
    from wstail.serve.capture_file import bad_line_reporter, frames_of, read_served_header

    path = sample_path(feed)
    header, served = read_served_header(path)
    report = bad_line_reporter(path)

    def open_frames() -> Iterator[Frame]:
        return frames_of(path, header.start_us, report)

    async def prepare(stack: AsyncExitStack) -> LiveSource:
        stop = asyncio.Event()
        bound: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        server = asyncio.create_task(
            serve_capture(
                open_frames,
                served,
                port=0,
                speed=speed,
                loop=True,
                eio=_served_eio(settings.eio, header),
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
        url = f"{feed.scheme}://127.0.0.1:{port}{served.client_path}"
        stderr.write(f"wstail: demo: serving the bundled {feed.name} sample at {url}\n")
        demo = dataclasses.replace(
            settings,
            user=None,
            password_file=None,
            cookie_file=None,
            headers={},
            channels=(DEMO_CHANNEL,) if feed.channels else (),
        )
        if feed.generic:
            demo = as_recorded(demo, header)
        return feed.open(demo, url)

    return prepare


def _served_eio(asked: str, header: CaptureHeader) -> str:
    """The Engine.IO version of the demo server: --eio 3 or 4, else the sample's own."""
    if asked in ("3", "4"):
        return asked
    return "4" if header.protocol == "eio4" else "3"


def as_recorded(settings: ConnectSettings, header: CaptureHeader) -> ConnectSettings:
    """A generic feed's settings, what they leave unsaid taken from a capture header's `feed`."""
    kept = header.extra.get("feed")
    if not isinstance(kept, dict):
        return settings
    sends = tuple(text for text in kept.get("send") or () if isinstance(text, str))
    emits = tuple(
        (pair[0], pair[1])
        for pair in kept.get("emit") or ()
        if isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str) for x in pair)
    )
    namespace, path = kept.get("namespace"), kept.get("path")
    return dataclasses.replace(
        settings,
        sends=settings.sends or sends,
        emits=settings.emits or emits,
        namespace=settings.namespace or (namespace if isinstance(namespace, str) else None),
        path=settings.path or (path if isinstance(path, str) else None),
        name=settings.name or header.source,
        rules=Rules.of_header(kept).replaced(settings.rules),
    )
