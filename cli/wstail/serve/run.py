"""Serve one capture file until interrupted: what `wstail replay --serve` runs."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from dataclasses import dataclass

from wstail.exitcodes import Interrupted, UsageError
from wstail.feeds import GENERIC_SOCKETIO_PATH, Feed
from wstail.inputs import display_name
from wstail.serve.access import ANY_ORIGIN, is_loopback_host, parse_allowed_host, parse_origin
from wstail.serve.capture_file import bad_line_reporter, frames_of, read_served_header

__all__ = [
    "ServeSettings",
    "check_access",
    "check_private",
    "exposure_warning",
    "listen_failure",
    "serve_file",
]


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
    cors: tuple[str, ...] = ()  # origins whose pages may read it; "*": any, no credentials
    allow_hosts: tuple[str, ...] = ()  # Host names answered besides loopback and the bound one


def listen_failure(exc: OSError) -> str:
    """Why a bind failed, in a few words ("Address already in use")."""
    if isinstance(exc.errno, int) and exc.errno > 0:  # not a resolver error (negative)
        return os.strerror(exc.errno)
    return exc.strerror or str(exc)


def exposure_warning(name: str, feed: Feed, host: str, port: int) -> str | None:
    """The warning line for a server bound beyond loopback (None on loopback)."""
    if is_loopback_host(host):
        return None
    what = f"private: {feed.private_content or 'a private feed'}"
    where = f"[{host}]" if ":" in host else host
    return (
        f"wstail: warning: serving {name} ({what if feed.private else 'public'}) to the "
        f"network on {where}:{port}; anyone who can reach this port can read it"
    )


def check_access(settings: ServeSettings) -> None:
    """UsageError naming a --cors value that is not an origin, or an --allow-host with a port."""
    for origin in settings.cors:
        try:
            parse_origin(origin)
        except ValueError as exc:
            raise UsageError(f"--cors {origin!r}: {exc}") from None
    for host in settings.allow_hosts:
        try:
            parse_allowed_host(host)
        except ValueError as exc:
            raise UsageError(f"--allow-host {host!r}: {exc}") from None


def check_private(settings: ServeSettings, feed: Feed, name: str) -> None:
    """UsageError for --cors '*' on a private capture: any web page could read it."""
    if feed.private and ANY_ORIGIN in (origin.strip() for origin in settings.cors):
        raise UsageError(
            f"--cors '*': {name} is a private capture ({feed.source}): "
            "name the origins allowed instead (--cors http://HOST:PORT)"
        )


def serve_file(path: str, settings: ServeSettings) -> None:
    """Serve the capture at `path` until interrupted (Interrupted: exit 130).

    Says on stderr who connects, joins, leaves, and reaches the capture's end.

    BadInputError if it is not a capture of a served feed, UsageError if the
    address cannot be bound or the access options are wrong.
    """
    from wstail.serve.app import serve_capture

    check_access(settings)
    header, served = read_served_header(path)
    source, start_us, feed = header.source, header.start_us, served.feed
    check_private(settings, feed, display_name(path))
    report = bad_line_reporter(path)

    def on_listening(bound_host: str, bound_port: int) -> None:
        where = f"[{bound_host}]" if ":" in bound_host else bound_host
        sio_path = ""  # a `tail sio` capture's URL is its namespace's: say a path not socket.io's
        if feed.generic and feed.protocol == "socketio" and served.path != GENERIC_SOCKETIO_PATH:
            sio_path = f", Socket.IO path {served.path}"
        sys.stderr.write(
            f"wstail: serving {display_name(path)} ({source}{sio_path}) at "
            f"{feed.scheme}://{where}:{bound_port}{served.shown_path}\n"
        )
        warning = exposure_warning(display_name(path), feed, bound_host, bound_port)
        if warning is not None:
            sys.stderr.write(warning + "\n")
        sys.stderr.flush()

    def say(line: str) -> None:
        sys.stderr.write(f"wstail: {line}\n")
        sys.stderr.flush()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(signum, stop.set)
        try:
            await serve_capture(
                lambda: frames_of(path, start_us, report),
                served,
                host=settings.host,
                port=settings.port,
                speed=settings.speed,
                max_gap=settings.max_gap,
                loop=settings.loop,
                eio=settings.eio,
                cors=settings.cors,
                allow_hosts=settings.allow_hosts,
                on_listening=on_listening,
                stop=stop,
                say=say,
            )
        except OSError as exc:
            reason = listen_failure(exc)
            raise UsageError(f"--serve {settings.listen}: cannot listen: {reason}") from None
        if stop.is_set():
            raise Interrupted("interrupted")

    asyncio.run(main())
