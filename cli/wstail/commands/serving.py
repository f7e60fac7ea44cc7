"""`replay --serve`: a capture served as a live endpoint of its own protocol."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable, Iterator
from typing import Any

from wstail.capture import CaptureError, decode_frame, decode_header, is_header
from wstail.exitcodes import BadInputError, Interrupted, UsageError
from wstail.frames import Frame
from wstail.inputs import CorruptStream, display_name, open_input
from wstail.jsonexact import loads_exact


def parse_listen(text: str) -> tuple[str, int]:
    """`[HOST:]PORT` (HOST may be a bracketed IPv6 address); 127.0.0.1 by default."""
    host, sep, port_text = text.rpartition(":")
    if not sep:
        host = "127.0.0.1"
    host = host.strip("[]") or "127.0.0.1"
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise UsageError(f"--serve {text!r}: expected [HOST:]PORT with PORT in 0-65535")
    return host, int(port_text)


def read_capture_header(path: str) -> tuple[str, int]:
    """The source and start of a capture file; BadInputError if it is not a capture."""
    handle = open_input(path)
    try:
        first = handle.readline()
    except (OSError, EOFError, CorruptStream) as exc:
        raise BadInputError(f"cannot read {display_name(path)}: {exc}") from None
    finally:
        handle.close()
    try:
        obj = loads_exact(first.strip() or b"null")
    except ValueError:
        obj = None
    if not is_header(obj):
        raise BadInputError(
            f"{display_name(path)}:1: --serve needs a capture (made by wstail record), "
            "not NDJSON output"
        )
    try:
        header = decode_header(obj)
    except CaptureError as exc:
        raise BadInputError(f"{display_name(path)}:1: {exc}") from None
    from wstail.serve import endpoint_path

    try:
        endpoint_path(header.source)
    except ValueError as exc:  # a source no endpoint speaks: a bad file, not a bug
        raise BadInputError(f"{display_name(path)}:1: {exc}") from None
    return header.source, header.start_us


def frames_of(path: str, start_us: int, report: Callable[[int, str], None]) -> Iterator[Frame]:
    """The capture's frames from its beginning; bad lines are skipped and `report`ed.

    A compressed capture that ends early or turns corrupt (a recording cut
    short) is served up to that point, like replay prints it.
    """
    handle = open_input(path)
    lineno = 1
    try:
        handle.readline()
        for lineno, line in enumerate(handle, 2):  # noqa: B007
            if not line.strip():
                continue
            try:
                yield decode_frame(line, start_us)
            except CaptureError as exc:
                report(lineno, str(exc))
    except EOFError as exc:
        report(lineno + 1, str(exc) or "compressed stream is truncated")
    except CorruptStream as exc:
        report(lineno + 1, str(exc))
    except OSError as exc:
        report(lineno + 1, f"cannot read: {exc}")
    finally:
        handle.close()


def bad_line_reporter(path: str) -> Callable[[int, str], None]:
    """Report each bad line once (`FILE:LINE: reason`), not once per client and pass."""
    reported: set[int] = set()

    def report(lineno: int, reason: str) -> None:
        if lineno not in reported:
            reported.add(lineno)
            sys.stderr.write(f"{display_name(path)}:{lineno}: {reason}\n")
            sys.stderr.flush()

    return report


# Options that shape what replay prints; a served capture is sent whole, from its start.
_NOT_SERVED = {
    "start": "--from",
    "end": "--to",
    "events": "-e/--event",
    "excludes": "-x/--exclude",
    "filters": "-f/--filter",
    "query": "-q/--query",
    "raw_output": "-r/--raw-output",
    "count": "-n/--count",
    "until": "--until",
    "idle_timeout": "--idle-timeout",
    "duration": "--duration",
    "raw": "--raw",
    "meta": "--meta",
    "rs": "--seq",
    "pretty": "--pretty/--compact",
    "stats": "--stats",
}


def check_serve_options(params: dict[str, Any]) -> None:
    """UsageError for an output or selection option given with --serve (it would do nothing)."""
    given = [flag for key, flag in _NOT_SERVED.items() if params.get(key) not in (None, False, ())]
    if given:
        raise UsageError(
            f"{', '.join(given)} cannot be used with --serve (every client gets the whole capture)"
        )


def listen_failure(exc: OSError) -> str:
    """Why a bind failed, in a few words ("Address already in use")."""
    if isinstance(exc.errno, int) and exc.errno > 0:  # not a resolver error (negative)
        return os.strerror(exc.errno)
    return exc.strerror or str(exc)


def serve_files(paths: list[str], params: dict[str, Any]) -> None:
    """Serve one capture until interrupted (exit 130)."""
    from wstail.serve import endpoint_path, serve_capture

    if len(paths) != 1 or paths[0] == "-":
        raise UsageError("--serve takes exactly one capture FILE (not stdin)")
    check_serve_options(params)
    path = paths[0]
    host, port = parse_listen(params["serve"])
    source, start_us = read_capture_header(path)
    report = bad_line_reporter(path)

    def on_listening(bound_host: str, bound_port: int) -> None:
        where = f"[{bound_host}]" if ":" in bound_host else bound_host
        scheme = "ws" if source == "node" else "http"
        sys.stderr.write(
            f"wstail: serving {display_name(path)} ({source}) at "
            f"{scheme}://{where}:{bound_port}{endpoint_path(source)}\n"
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
                host=host,
                port=port,
                speed=params["speed"] or 1.0,
                max_gap=params["max_gap"],
                loop=params["loop"],
                eio=params["eio"],
                on_listening=on_listening,
                stop=stop,
            )
        except OSError as exc:
            reason = listen_failure(exc)
            raise UsageError(f"--serve {params['serve']}: cannot listen: {reason}") from None
        if stop.is_set():
            raise Interrupted("interrupted")

    asyncio.run(main())
