"""A capture file as `--serve` reads it: its header, its frames, its bad lines said once."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator

from wstail.capture import CaptureError, CaptureHeader, decode_frame, decode_header, is_header
from wstail.exitcodes import BadInputError
from wstail.frames import Frame
from wstail.inputs import CorruptStream, display_name, open_input
from wstail.jsonexact import loads_exact
from wstail.serve import ServedCapture, served_capture

__all__ = ["bad_line_reporter", "frames_of", "read_capture_header", "read_served_header"]


def read_capture_header(path: str) -> tuple[str, int]:
    """The source and start of a capture file; BadInputError if it is not a capture."""
    header, _ = read_served_header(path)
    return header.source, header.start_us


def read_served_header(path: str) -> tuple[CaptureHeader, ServedCapture]:
    """A capture file's header and how it is served; BadInputError if it cannot be served."""
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
    try:
        served = served_capture(header.source, header.url, header.extra)
    except ValueError as exc:  # a source no endpoint speaks: a bad file, not a bug
        raise BadInputError(f"{display_name(path)}:1: {exc}") from None
    return header, served


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
