"""Capture lines in, normalized frames out: the reader of capture files (format v1)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from wstail.capture import CaptureError, decode_frame, decode_header, is_header
from wstail.fastpaths import FastPaths
from wstail.frames import Frame, FrameKind, raw_payload
from wstail.jsonexact import loads_exact
from wstail.normalize import Item, Reading, normalizer_failed
from wstail.pipeline import FrameItems

from .blocks import BadLine, split_lines

ReadingFor = Callable[[str, dict[str, Any]], Reading]
"""How a part's frames are read, from its header's source and other fields."""


@dataclass(slots=True)
class Part:
    """The capture part being read: its source, start time and how its feed is read."""

    source: str
    start_us: int
    extra: dict[str, Any]
    reading_for: ReadingFor
    reading: Reading = field(init=False)

    def __post_init__(self) -> None:
        self.reading = self.reading_for(self.source, self.extra)


@dataclass(frozen=True, slots=True)
class BadHeader(BadLine):
    """A next part's header that cannot be read: the capture's entries end there."""


@dataclass(frozen=True, slots=True)
class NewPart:
    """The header of a next part (`cat a.jsonl.gz b.jsonl.gz`): numbering starts again."""

    first_seq: int


def capture_entries(
    blocks: Iterator[tuple[int, bytes]],
    part: Part,
    *,
    short: bool = True,
    paths: FastPaths | None = None,
) -> Iterator[FrameItems | BadLine | NewPart]:
    """The entries of a capture's frame lines, in order: frames, bad lines, next parts.

    `short`: Socket.IO and text frames go from the decoded line
    straight to the normalizer, without a Frame (binary events, with their
    fifth element, take the general way; the same items; False takes
    the general way for every line, the differential tests' reference). A bad
    header of a next part ends the entries, but the rest is still read, so a
    cut or corrupt file is reported. `paths` counts the lines each way took
    (and, strict, raises when a well-formed frame line missed the short way).
    """
    if paths is None:
        paths = FastPaths()
    loads = orjson.loads
    for before, block in blocks:
        reading = part.reading
        start_us = part.start_us
        lines = split_lines(block)
        paths.lines += len(lines)
        for number, line in enumerate(lines, before + 1):
            if short:
                try:
                    row = loads(line)
                except orjson.JSONDecodeError:
                    # Not JSON to orjson: a bad line, or a number (1e400) or an
                    # invalid string the general way reads or reports.
                    row = None
                if type(row) is list:
                    offset = row[0] if row else None
                    if type(offset) is float or type(offset) is int:
                        try:
                            recv_us = start_us + round(offset * _US)
                        except OverflowError:  # no time (1e308): the general way reports it
                            recv_us = None
                        size = len(row)
                        kind = row[1] if size > 1 else None
                        if recv_us is None:
                            pass
                        elif size == 4 and kind == "sio" and type(row[2]) is str:
                            text = row[3]
                            if type(text) is str:
                                try:
                                    items = reading.event(text, row[2])
                                except Exception as error:  # noqa: BLE001 - as the general way's guard
                                    items = _failed("sio", text, row[2], part.source, error)
                                yield items, recv_us, text
                                continue
                        elif size == 3 and kind == "text":
                            text = row[2]
                            if type(text) is str:
                                try:
                                    items = reading.text(text, part.source)
                                except Exception as error:  # noqa: BLE001 - as the general way's guard
                                    items = _failed("text", text, "", part.source, error)
                                yield items, recv_us, text
                                continue
            paths.general += 1
            entry = _general_entry(number, line, part)
            if entry is None:
                continue
            if short and type(entry) is tuple and _plain_frame_line(line):
                paths.miss("capture", line)
            yield entry
            if type(entry) is NewPart:
                start_us, reading = part.start_us, part.reading
            elif type(entry) is BadHeader:
                for _ in blocks:  # nothing more can be timed; reading on reports a cut file
                    pass
                return


def _failed(kind: FrameKind, text: str, channel: str, source: str, error: Exception) -> list[Item]:
    """The items the general way's normalizer guard gives for a normalizer that raised."""
    return normalizer_failed(Frame(0, kind, text, channel), source, error)


def _plain_frame_line(line: bytes) -> bool:
    """Whether orjson reads the line as a Socket.IO event or text frame the short way takes.

    Only asked of the (rare) lines that took the general way and made a frame.
    """
    try:
        row = orjson.loads(line)
    except orjson.JSONDecodeError:
        return False  # orjson refuses it (a number like 1e400): the general way is right
    if type(row) is not list or not row or type(row[0]) not in (int, float):
        return False
    if len(row) == 4 and row[1] == "sio":
        return type(row[2]) is str and type(row[3]) is str
    return len(row) == 3 and row[1] == "text" and type(row[2]) is str


_US = 1_000_000


def _general_entry(number: int, line: bytes, part: Part) -> FrameItems | BadLine | NewPart | None:
    """One capture line the general way: a Frame, then the feed's normalizer."""
    if not line.strip():
        return None
    try:
        frame = decode_frame(line, part.start_us)
    except CaptureError as exc:
        try:
            head = loads_exact(line)
        except ValueError:
            head = None
        if not is_header(head):
            return BadLine(number, str(exc))
        try:
            header = decode_header(head)
        except CaptureError as bad:
            return BadHeader(number, str(bad))
        part.source, part.start_us, part.extra = header.source, header.start_us, header.extra
        part.reading = part.reading_for(header.source, header.extra)
        return NewPart(header.first_seq)
    return part.reading.frame(frame, part.source), frame.recv_us, raw_payload(frame)
