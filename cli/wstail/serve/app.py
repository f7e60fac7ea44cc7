"""The aiohttp server of `--serve`: one endpoint per capture, its lifecycle, its shutdown.

Every client gets the capture from its beginning, paced by its recorded
times (`playback`) in a task of its own; with `loop` it starts over at
the end, otherwise the session ends after the last frame: the Socket.IO
namespace's disconnect packet, or the WebSocket closed with wstail's code
4000 ("end of capture"), both of which wstail's clients take as the end of
the run. `meta` frames are never sent. `say` hears who connects, joins,
leaves and reaches the end (the command prints it on stderr).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from aiohttp import web

from wstail.serve import SERVE_EIO_CHOICES, ServedCapture, served_capture
from wstail.serve.access import Access, protect
from wstail.serve.playback import FrameOpener, Playback, Replays, Say

__all__ = ["serve_capture"]

_SHUTDOWN_TIMEOUT = 2.0  # seconds open HTTP handlers get once the server stops

log = logging.getLogger("wstail.serve")


class _Endpoint(Protocol):
    def add_routes(self, app: web.Application) -> None: ...

    async def close(self) -> None: ...


def _endpoint(
    served: ServedCapture, eio: str, playback: Playback, replays: Replays, say: Say
) -> _Endpoint:
    """The server of a capture, at its path: a WebSocket, or Socket.IO in its namespaces."""
    if eio not in SERVE_EIO_CHOICES:
        raise ValueError(f"eio {eio!r}: expected one of {', '.join(SERVE_EIO_CHOICES)}")
    if served.feed.protocol == "websocket":
        from wstail.serve.node import NodeServer

        return NodeServer(served.path, playback, replays, say)
    from wstail.serve.paymium_sio import EIO3, EIO4, SocketIOServer

    dialect = EIO3 if eio == "3" else EIO4
    return SocketIOServer(served.path, playback, replays, dialect, served.namespaces, say)


async def serve_capture(
    open_frames: FrameOpener,
    source: str | ServedCapture,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    speed: float | None = 1.0,
    max_gap: float | None = None,
    loop: bool = False,
    eio: str = "4",
    cors: Sequence[str] = (),
    allow_hosts: Sequence[str] = (),
    on_listening: Callable[[str, int], None] | None = None,
    stop: asyncio.Event | None = None,
    say: Say | None = None,
) -> None:
    """Serve a capture to every client that connects, until `stop` is set (or forever).

    `open_frames()` returns a fresh iterable over the capture's frames from
    its beginning; it is called once per client and namespace (and per pass
    with `loop`); an iterator with a `close()` (a generator) is closed after
    each pass. `source` is what the capture is served as
    (`served_capture(header.source, header.url, header.extra)`), or the
    header's source alone for a named feed's capture. `speed` 1 is real
    time; None, 0 or less sends as fast as the client reads. `max_gap` caps
    the recorded gaps (seconds). `eio` ("4", "3" or "auto" = "4") picks the
    Engine.IO dialect of Socket.IO captures; WebSocket captures ignore it.
    `cors` names the origins whose pages may read it (`*`: any, without
    credentials, public captures only); `allow_hosts` adds Host names to the
    loopback ones and `host`'s (rules: `wstail.serve.access`).
    `on_listening(host, port)` is called once bound (port 0: the real port).
    `say(line)` hears a line per client connecting, joining a namespace,
    leaving, and reaching the end of the capture (default: the debug log).

    Raises ValueError for an unknown source or eio, a bad origin or host name,
    `*` in `cors` for a private capture, OSError when the address
    cannot be bound, and whatever `open_frames` or its iterator raise (a
    capture that cannot be read), after closing every connection.
    """
    served = source if isinstance(source, ServedCapture) else served_capture(source)
    access = Access.of(host, cors, allow_hosts)
    if access.any_origin and served.feed.private:
        raise ValueError(f"cors '*': a capture of {served.source} is private: name the origins")
    playback = Playback(open_frames, speed=speed, max_gap=max_gap, loop=loop)
    replays = Replays()
    endpoint = _endpoint(served, eio, playback, replays, say or log.info)
    app = web.Application()
    protect(app, access)
    endpoint.add_routes(app)
    runner = web.AppRunner(
        app, handle_signals=False, access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0][1]
        log.info("serving a %s capture on %s:%d%s", served.source, host, bound, served.path)
        if on_listening is not None:
            on_listening(host, bound)
        await _until(stop, replays.failed)
    finally:
        await replays.close()
        await endpoint.close()
        await runner.cleanup()
    if replays.failed.done():
        raise replays.failed.result()


async def _until(stop: asyncio.Event | None, failed: asyncio.Future[BaseException]) -> None:
    """Wait until `stop` is set or a replay failed."""
    if stop is None:
        await asyncio.shield(failed)
        return
    stopped = asyncio.create_task(stop.wait())
    waiters: set[asyncio.Future[Any]] = {stopped, failed}
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await stopped
