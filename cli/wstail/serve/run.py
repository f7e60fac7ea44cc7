"""Serve one capture file until interrupted: what `wstail replay --serve` runs."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from dataclasses import dataclass

from wstail.exitcodes import Interrupted, UsageError
from wstail.inputs import display_name
from wstail.serve import served_feed
from wstail.serve.capture_file import bad_line_reporter, frames_of, read_capture_header

__all__ = ["ServeSettings", "listen_failure", "serve_file"]


@dataclass(frozen=True, slots=True)
class ServeSettings:
    """How a capture file is served: where (`listen` as typed, for messages), how, which EIO."""

    listen: str
    host: str = "127.0.0.1"
    port: int = 0
    speed: float = 1.0
    max_gap: float | None = None
    loop: bool = False
    eio: str = "4"


def listen_failure(exc: OSError) -> str:
    """Why a bind failed, in a few words ("Address already in use")."""
    if isinstance(exc.errno, int) and exc.errno > 0:  # not a resolver error (negative)
        return os.strerror(exc.errno)
    return exc.strerror or str(exc)


def serve_file(path: str, settings: ServeSettings) -> None:
    """Serve the capture at `path` until interrupted (Interrupted: exit 130).

    BadInputError if it is not a capture of a served feed, UsageError if the
    address cannot be bound.
    """
    from wstail.serve.app import serve_capture

    source, start_us = read_capture_header(path)
    feed = served_feed(source)
    report = bad_line_reporter(path)

    def on_listening(bound_host: str, bound_port: int) -> None:
        where = f"[{bound_host}]" if ":" in bound_host else bound_host
        sys.stderr.write(
            f"wstail: serving {display_name(path)} ({source}) at "
            f"{feed.scheme}://{where}:{bound_port}{feed.endpoint}\n"
        )
        sys.stderr.flush()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(signum, stop.set)
        try:
            await serve_capture(
                lambda: frames_of(path, start_us, report),
                source,
                host=settings.host,
                port=settings.port,
                speed=settings.speed,
                max_gap=settings.max_gap,
                loop=settings.loop,
                eio=settings.eio,
                on_listening=on_listening,
                stop=stop,
            )
        except OSError as exc:
            reason = listen_failure(exc)
            raise UsageError(f"--serve {settings.listen}: cannot listen: {reason}") from None
        if stop.is_set():
            raise Interrupted("interrupted")

    asyncio.run(main())
