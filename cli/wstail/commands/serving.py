"""`replay --serve`: a capture served as a live endpoint of its own protocol."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Iterator
from typing import Any

from wstail.capture import CaptureError, decode_frame, decode_header, is_header
from wstail.exitcodes import BadInputError, Interrupted, UsageError
from wstail.frames import Frame
from wstail.inputs import display_name, open_input
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
    except (OSError, EOFError) as exc:
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
    return header.source, header.start_us


def frames_of(path: str, start_us: int) -> Iterator[Frame]:
    """The capture's frames from its beginning; bad lines are reported and skipped."""
    handle = open_input(path)
    try:
        handle.readline()
        for lineno, line in enumerate(handle, 2):
            if not line.strip():
                continue
            try:
                yield decode_frame(line, start_us)
            except CaptureError as exc:
                sys.stderr.write(f"{display_name(path)}:{lineno}: {exc}\n")
    finally:
        handle.close()


def serve_files(paths: list[str], params: dict[str, Any]) -> None:
    """Serve one capture until interrupted (exit 130)."""
    from wstail.serve import endpoint_path, serve_capture

    if len(paths) != 1 or paths[0] == "-":
        raise UsageError("--serve takes exactly one capture FILE (not stdin)")
    path = paths[0]
    host, port = parse_listen(params["serve"])
    source, start_us = read_capture_header(path)

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
                lambda: frames_of(path, start_us),
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
            reason = exc.strerror or exc
            raise UsageError(f"--serve {params['serve']}: cannot listen: {reason}") from None
        if stop.is_set():
            raise Interrupted("interrupted")

    asyncio.run(main())
