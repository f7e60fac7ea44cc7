"""Capture indexes on the reading side: made by reading a capture, used to start late.

`build_index` reads a capture (plain, gzip or zstd, one member or many) the
way replay does, counting each frame's envelopes with the same readers, and
notes where each gzip member or zstd frame starts; `Seeker` tells the
driver, for a capture and a --from/--to window, whether to skip it, start
at a checkpoint (`open_at`), or read it all (docs/index.md).
"""

from __future__ import annotations

import io
import os
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from wstail.capture import CaptureError, decode_header, is_header
from wstail.exitcodes import BadInputError
from wstail.fastpaths import FastPaths
from wstail.index import (
    CHECKPOINT_EVERY,
    SMALL,
    CaptureIndex,
    Checkpoint,
    Indexer,
    IndexProblem,
    Stamp,
    load_index,
)
from wstail.inputs import GZIP_MAGIC, ZSTD_MAGIC, CorruptStream, Decompressed
from wstail.jsonexact import loads_exact

from .blocks import BadLine, content_of
from .captures import NewPart, Part, ReadingFor, capture_entries
from .window import Bound, Window

_CHUNK = 1 << 16
_NOT_A_CAPTURE = "{}: not a wstail capture (NDJSON needs no index)"


def compression_of(path: str) -> str:
    """ "gzip", "zstd" or "" (plain), by the file's first bytes."""
    with open(path, "rb") as handle:
        magic = handle.read(4)
    if magic.startswith(GZIP_MAGIC):
        return "gzip"
    if magic.startswith(ZSTD_MAGIC):
        return "zstd"
    return ""


def _decompressor(kind: str) -> Callable[[], Any]:
    if kind == "gzip":
        return lambda: zlib.decompressobj(wbits=31)
    import zstandard

    return zstandard.ZstdDecompressor().decompressobj


def open_at(path: str, point: Checkpoint, kind: str) -> BinaryIO:
    """The capture read from a checkpoint's line on (a fresh decompressor at its member)."""
    raw = open(path, "rb")  # noqa: SIM115 - the reader owns it
    try:
        raw.seek(point.offset)
        if not kind:
            return raw
        reader = io.BufferedReader(Decompressed(raw, _decompressor(kind), kind), _CHUNK)
        left = point.skip
        while left:
            dropped = len(reader.read(min(left, _CHUNK)))
            if not dropped:
                raise CorruptStream(f"{kind} stream ends before its index says")
            left -= dropped
        return reader
    except BaseException:
        raw.close()
        raise


# ---------------------------------------------------------------- building


def build_index(path: str, reading_for: ReadingFor, every: int = CHECKPOINT_EVERY) -> CaptureIndex:
    """The index of the capture at `path`, read whole; BadInputError if it is not a capture."""
    try:
        before = Stamp.of(path)
        kind = compression_of(path)
        with open(path, "rb") as raw:
            indexer = _index_stream(raw, kind, path, reading_for, Indexer(every))
        after = Stamp.of(path)
    except OSError as exc:
        raise BadInputError(f"cannot read {path}: {exc.strerror or exc}") from None
    if after != before:
        raise BadInputError(f"{path} changed while it was indexed (is it still being written?)")
    return indexer.index(after)


@dataclass(slots=True)
class _Member:
    """Where a gzip member or zstd frame starts: in the file, and in the decompressed stream."""

    offset: int
    position: int


def _decompressed(raw: BinaryIO, kind: str, members: list[_Member]) -> Iterator[bytes]:
    """The decompressed stream in chunks, noting each member's start in `members`."""
    if not kind:
        while chunk := raw.read(_CHUNK):
            yield chunk
        return
    new = _decompressor(kind)
    member: Any = None
    offset = 0  # in the file, of the next chunk
    position = 0  # decompressed bytes so far
    while chunk := raw.read(_CHUNK):
        chunk_offset = offset
        offset += len(chunk)
        used = 0  # bytes of the chunk the members ended in it took
        data = chunk
        while data:
            if member is None:
                member = new()
                members.append(_Member(chunk_offset + used, position))
            try:
                out = member.decompress(data)
            except Exception as exc:  # zlib.error, zstandard.ZstdError
                raise CorruptStream(f"corrupt {kind} stream: {exc}") from None
            position += len(out)
            if out:
                yield out
            if not member.eof:
                break
            rest = member.unused_data
            used += len(data) - len(rest)
            data = rest
            member = None
    if member is not None:
        raise CorruptStream(f"{kind} stream is truncated")


def _index_stream(
    raw: BinaryIO, kind: str, path: str, reading_for: ReadingFor, indexer: Indexer
) -> Indexer:
    members: list[_Member] = []
    lines = _Lines(indexer, members, not kind, path, reading_for)
    try:
        for chunk in _decompressed(raw, kind, members):
            lines.take(chunk)
        lines.end()
    except CorruptStream:
        lines.end()
        indexer.bad()  # replay reports the read failure after the lines before it
    if lines.part is None:
        raise BadInputError(_NOT_A_CAPTURE.format(path))
    return indexer


class _Lines:
    """The decompressed stream cut into lines: checkpoints where due, frames counted."""

    def __init__(
        self,
        indexer: Indexer,
        members: list[_Member],
        plain: bool,
        path: str,
        reading_for: ReadingFor,
    ) -> None:
        self.indexer = indexer
        self.members = members
        self.plain = plain
        self.path = path
        self.reading_for = reading_for
        self.rest = b""
        self.position = 0  # decompressed offset of `rest`
        self.lineno = 0  # lines before `rest`
        self.part: Part | None = None
        self.seq = 1
        self.paths = FastPaths()

    def take(self, chunk: bytes) -> None:
        """More of the decompressed stream."""
        data = self.rest + chunk
        cut = data.rfind(b"\n") + 1
        if not cut:
            self.rest = data
            return
        self.rest = data[cut:]
        self._block(data[:cut])

    def end(self) -> None:
        """The end of the stream: its last line may lack a newline."""
        if self.rest:
            rest, self.rest = self.rest, b""
            self._block(rest)

    def _block(self, block: bytes) -> None:
        start = self.position
        self.position += len(block)
        if self.part is None:
            block, start = self._header(block, start)
            if self.part is None or not block:
                return
        indexer = self.indexer
        size = len(block)
        lineno = self.lineno  # the lines before `at`
        pending, before = 0, lineno  # the lines not counted yet start at `pending`
        at = 0
        while at < size and not indexer.sealed:
            if indexer.due(start + at):
                self._count(block[pending:at], before)
                pending, before = at, lineno
                if indexer.due(start + at):  # unless a bad line just sealed it
                    offset, skip = self._where(start + at)
                    indexer.checkpoint(start + at, offset, skip, lineno + 1, self.seq)
            # on to the first line starting at or after the next due point
            newline = block.find(b"\n", max(indexer.next_at - start - 1, at))
            if newline < 0:
                break
            lineno += block.count(b"\n", at, newline + 1)
            at = newline + 1
        self._count(block[pending:], before)
        self.lineno += block.count(b"\n") + (0 if block.endswith(b"\n") else 1)

    def _header(self, block: bytes, start: int) -> tuple[bytes, int]:
        """Find the header line (the first that is not blank); the block after it."""
        at = 0
        while at < len(block):
            end = block.find(b"\n", at)
            end = len(block) if end < 0 else end + 1
            line = block[at:end]
            self.lineno += 1
            if content_of(line):
                try:
                    first = loads_exact(content_of(line))
                except ValueError:
                    first = None
                if not is_header(first):
                    raise BadInputError(
                        f"{self.path}: not a wstail capture (NDJSON needs no index)"
                    )
                try:
                    header = decode_header(first)
                except CaptureError as exc:
                    raise BadInputError(f"{self.path}:{self.lineno}: {exc}") from None
                self.part = Part(header.source, header.start_us, header.extra, self.reading_for)
                self.seq = header.first_seq
                return block[end:], start + end
            at = end
        return b"", start + len(block)

    def _where(self, position: int) -> tuple[int, int]:
        """Where reading starts for a line: (byte in the file, decompressed bytes to drop)."""
        if self.plain:
            return position, 0
        for member in reversed(self.members):
            if member.position <= position:
                return member.offset, position - member.position
        return 0, position  # pragma: no cover - the first member starts at 0

    def _count(self, lines: bytes, before: int) -> None:
        """Number a run of whole lines' envelopes as replay would."""
        if not lines or self.part is None:
            return
        indexer = self.indexer
        seq = self.seq
        for entry in capture_entries(iter([(before, lines)]), self.part, paths=self.paths):
            if type(entry) is tuple:
                items = entry[0]
                count = len(items) if isinstance(items, list) else len(list(items))
                indexer.frame(entry[1], seq, count)
                seq += count
            elif type(entry) is NewPart:
                seq = entry.first_seq
                indexer.bad()  # checkpoints after it would start under the wrong header
            elif isinstance(entry, BadLine):
                indexer.bad()
        self.seq = seq


# ---------------------------------------------------------------- using


@dataclass(frozen=True, slots=True)
class Plan:
    """What to do with a capture under a window: skip it, start at `start`, or read it whole."""

    skip: bool = False
    start: Checkpoint | None = None
    kind: str = ""


WHOLE = Plan()


class Seeker:
    """Chooses, capture by capture, where replay starts reading; says once why it cannot."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self.say = say
        self.missing_said = False

    def plan(self, path: str, window: Window) -> Plan:
        """The plan for one capture (its header read and the window anchored already)."""
        if path == "-" or window.waiting or not os.path.isfile(path):
            return WHOLE
        start, end = _bound(window.start), _bound(window.end)
        if start is None and end is None:
            return WHOLE
        try:
            index = load_index(path)
        except IndexProblem as problem:
            self._problem(path, problem)
            return WHOLE
        if index.outside(start, end):
            return Plan(skip=True)
        if start is None:
            return WHOLE
        point = index.start_for(*start)
        if point is None or point is index.checkpoints[0]:
            return WHOLE
        return Plan(start=point, kind=compression_of(path))

    def _problem(self, path: str, problem: IndexProblem) -> None:
        if problem.missing:
            try:
                small = os.path.getsize(path) < SMALL
            except OSError:
                small = True
            if small or self.missing_said:
                return
            self.missing_said = True  # one cause, one remedy: said for the first file only
            self.say(f"{problem}: read from its start (`wstail index FILE...` makes indexes)")
            return
        self.say(f"{problem}: read from the start of {path} (`wstail index {path}` remakes it)")


def _bound(bound: Bound | None) -> tuple[str, int] | None:
    if bound is None or bound.kind not in ("seq", "time"):
        return None
    return bound.kind, bound.value
