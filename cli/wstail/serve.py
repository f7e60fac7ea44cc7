"""`replay --serve`: a capture served as a live endpoint of its own protocol.

    await serve_capture(lambda: read_frames(path), header.source, port=8080, speed=1.0)

- Paymium captures (`paymium.public`, `paymium.user`): Socket.IO at
  `/ws/socket.io`, namespaces /public and /user (`serve_paymium`), in
  Engine.IO 4 (python-socketio) or Engine.IO 3 (like the live server).
- node captures: a WebSocket at `/ws` (`serve_node`).

Every client gets the capture from its beginning, paced by its recorded
times (`pacing.Pacer`) in a task of its own; with `loop` it starts over at
the end, otherwise the connection stays open after the last frame and the
client decides when to leave. `meta` frames are never sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any, Protocol

from aiohttp import web

from wstail.serve_node import NODE_PATH, NodeServer
from wstail.serve_paymium import SOCKETIO_PATH, PaymiumEio3Server, PaymiumEio4Server
from wstail.serve_replay import FrameOpener, Playback, Replays

__all__ = ["SERVE_EIO_CHOICES", "endpoint_path", "serve_capture"]

SERVE_EIO_CHOICES = ("auto", "3", "4")  # auto: Engine.IO 4
_SHUTDOWN_TIMEOUT = 2.0  # seconds open HTTP handlers get once the server stops

log = logging.getLogger("wstail.serve")


class _Endpoint(Protocol):
    def add_routes(self, app: web.Application) -> None: ...

    async def close(self) -> None: ...


def endpoint_path(source: str) -> str:
    """The path clients connect to for a capture of `source`; ValueError if none is served."""
    if source.startswith("paymium."):
        return SOCKETIO_PATH
    if source == "node":
        return NODE_PATH
    raise ValueError(f"cannot serve a capture of source {source!r} (paymium.* or node)")


def _endpoint(source: str, eio: str, playback: Playback, replays: Replays) -> _Endpoint:
    endpoint_path(source)  # raises for unknown sources
    if eio not in SERVE_EIO_CHOICES:
        raise ValueError(f"eio {eio!r}: expected one of {', '.join(SERVE_EIO_CHOICES)}")
    if source == "node":
        return NodeServer(playback, replays)
    if eio == "3":
        return PaymiumEio3Server(playback, replays)
    return PaymiumEio4Server(playback, replays)


async def serve_capture(
    open_frames: FrameOpener,
    source: str,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    speed: float | None = 1.0,
    max_gap: float | None = None,
    loop: bool = False,
    eio: str = "4",
    on_listening: Callable[[str, int], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve a capture to every client that connects, until `stop` is set (or forever).

    `open_frames()` returns a fresh iterable over the capture's frames from
    its beginning; it is called once per client and namespace (and per pass
    with `loop`); an iterator with a `close()` (a generator) is closed after
    each pass. `source` is the capture header's source. `speed` 1 is real
    time; None, 0 or less sends as fast as the client reads. `max_gap` caps
    the recorded gaps (seconds). `eio` ("4", "3" or "auto" = "4") picks the
    Engine.IO dialect of Paymium captures; node captures ignore it.
    `on_listening(host, port)` is called once bound (port 0: the real port).

    Raises ValueError for an unknown source or eio, OSError when the address
    cannot be bound, and whatever `open_frames` or its iterator raise (a
    capture that cannot be read), after closing every connection.
    """
    playback = Playback(open_frames, speed=speed, max_gap=max_gap, loop=loop)
    replays = Replays()
    endpoint = _endpoint(source, eio, playback, replays)
    app = web.Application()
    endpoint.add_routes(app)
    runner = web.AppRunner(
        app, handle_signals=False, access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0][1]
        log.info("serving a %s capture on %s:%d%s", source, host, bound, endpoint_path(source))
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
