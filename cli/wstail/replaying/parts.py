"""`replay DIR`: the captures of a directory, in the order of their headers.

`record --rotate-every/--rotate-size` leaves one file per part, named by
strftime fields or numbers that need not sort as the parts do
(`day.10.jsonl` before `day.2.jsonl`; a `%H` pattern across midnight). So
the order is the headers': start time, then the `part` number `record`
puts in the header of every part after the first, then the name.

What else a directory holds: hidden files and index files (`.idx`) are
passed over in silence, as are subdirectories (not descended into) and
empty files (a part whose header is not written yet); a file whose first
line is not a capture header (wstail's NDJSON output, notes) is one line on
stderr and passed over. A capture whose header is bad, or a file that
cannot be read, is replayed all the same, so that it is reported (exit 4)
as it would be when named; so is a directory with no capture.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from wstail.capture import INDEX_SUFFIX, CaptureError, decode_header, is_header
from wstail.exitcodes import BadInputError
from wstail.jsonexact import loads_exact

from .blocks import ReadFailure, content_of, first_line, is_envelope
from .growing import GrowingFile

IGNORED_SUFFIXES = (INDEX_SUFFIX,)
"""Files beside the captures that are theirs (indexes): never replayed, never mentioned."""

SortKey = tuple[int, int, str]
"""A capture's place: its start (µs), its part number, its name."""


@dataclass(frozen=True, slots=True)
class Probe:
    """What the first line of a directory's file says it is."""

    path: str
    key: SortKey | None = None  # a capture's place; None for anything else
    skip: str = ""  # why it is passed over, said on stderr ("" when silent or kept)
    waiting: bool = False  # no whole first line yet: empty, or its header being written
    broken: str = ""  # a capture (or a file) that cannot be read: replayed to be reported

    @property
    def capture(self) -> bool:
        """Whether this is a capture with a readable header."""
        return self.key is not None


def listed(directory: str) -> list[str]:
    """The paths of the files of a directory worth probing (not hidden, not indexes)."""
    try:
        entries = list(os.scandir(directory))
    except OSError as exc:
        raise BadInputError(f"cannot read {directory}: {exc.strerror or exc}") from None
    paths = []
    for entry in entries:
        name = entry.name
        if name.startswith(".") or name.endswith(IGNORED_SUFFIXES):
            continue
        try:
            if not entry.is_file():
                continue
        except OSError:
            pass  # gone, or unreadable: probing says which
        paths.append(entry.path)
    return sorted(paths)


def probe(path: str, *, final: bool = True) -> Probe:
    """What a directory's file is, by its first line (`final`: the file is not being written)."""
    try:
        growing = GrowingFile(path)
    except OSError as exc:
        return Probe(path, broken=f"cannot read {path}: {exc.strerror or exc}")
    try:
        head = first_line(_lines(growing, final))
    except ReadFailure as failure:
        return Probe(path, broken=failure.reason)
    except OSError as exc:
        return Probe(path, broken=f"cannot read {path}: {exc.strerror or exc}")
    finally:
        growing.close()
    if head is None:
        return Probe(path, waiting=True)
    line = head[1]
    try:
        value = loads_exact(content_of(line))
    except ValueError:
        value = None
    if not is_header(value):
        what = "wstail NDJSON" if is_envelope(value) else "not a capture"
        return Probe(path, skip=f"{path}: {what}, passed over")
    try:
        header = decode_header(value)
    except CaptureError as exc:
        return Probe(path, broken=str(exc))
    part = header.extra.get("part", 0)
    number = part if type(part) is int else 0
    return Probe(path, key=(header.start_us, number, os.path.basename(path)))


def captures_in(directory: str, say: Callable[[str], None]) -> list[str]:
    """A finished directory's captures in header order (then those that cannot be read)."""
    found: list[Probe] = []
    broken: list[str] = []
    for path in listed(directory):
        found_probe = probe(path)
        if found_probe.capture:
            found.append(found_probe)
        elif found_probe.broken:
            broken.append(path)
        elif found_probe.skip:
            say(found_probe.skip)
    found.sort(key=lambda item: item.key or (0, 0, ""))
    return [item.path for item in found] + broken


def expand_directories(paths: list[str], say: Callable[[str], None]) -> list[str]:
    """The inputs with each directory replaced by its captures in header order.

    A directory with none stays, for the replay to report as an input that
    gave nothing (exit 4, as an unreadable file).
    """
    expanded: list[str] = []
    for path in paths:
        captures = captures_in(path, say) if path != "-" and os.path.isdir(path) else []
        expanded.extend(captures or [path])
    return expanded


def _lines(growing: GrowingFile, final: bool) -> Iterator[tuple[int, bytes]]:
    """The file's whole lines, a block at a time, as far as they go now."""
    while True:
        before, block = growing.read(final, limit=1 << 16)
        if not block:
            return
        yield before, block
