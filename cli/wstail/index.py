"""A capture's index, `FILE.idx` beside it: where reading can start for a time or a seq.

Pure but for reading and writing the small index file (docs/index.md). An
index holds checkpoints, one about every CHECKPOINT_EVERY decompressed bytes:
where a line starts (the byte in the file where a gzip member, a zstd frame
or, plain, the line itself starts; then how many decompressed bytes to drop),
its line number, the seq of its first envelope, and the highest seq and
latest receive time of everything before it. `record` writes it as it
writes the capture (`Indexer`), `wstail index` reads a capture to make one
(wstail.replaying.index); replay trusts it only when it describes this very
file (size, mtime, a hash of its head) with today's envelope counting
(`NORMALIZE_VERSION`), else says so once and reads from the start.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import orjson

from wstail.capture import INDEX_KEY, INDEX_SUFFIX
from wstail.normalize import NORMALIZE_VERSION
from wstail.wholelines import MEMBER_SIZE  # a member or frame: where a checkpoint can be

INDEX_VERSION = 1
SUFFIX = INDEX_SUFFIX
CHECKPOINT_EVERY = 1 << 18
"""Decompressed bytes between checkpoints: a seek decodes at most about this much in vain."""
HEAD_BYTES = 1 << 16
"""The bytes of a capture whose hash the index keeps (a capture replaced under its name)."""
SMALL = 1 << 20
"""A capture smaller than this on disk is read whole without a word when it has no index."""


class IndexProblem(ValueError):
    """An index that cannot be trusted; the message says why (missing, stale, corrupt)."""

    def __init__(self, message: str, *, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing


def index_path(capture: str) -> str:
    """Where a capture's index is: beside it, `.idx` added."""
    return capture + SUFFIX


@dataclass(frozen=True, slots=True)
class Stamp:
    """What tells a capture file from any other: its size, mtime and a hash of its head."""

    size: int
    mtime_ns: int
    head: str

    @classmethod
    def of(cls, path: str) -> Stamp:
        """The stamp of the file at `path` now (OSError if it cannot be read)."""
        import hashlib  # only with an index to check or write: not at every replay's start

        with open(path, "rb") as handle:
            stat = os.fstat(handle.fileno())
            head = hashlib.sha256(handle.read(HEAD_BYTES)).hexdigest()
        return cls(stat.st_size, stat.st_mtime_ns, head)

    def as_json(self) -> dict[str, Any]:
        """The stamp as the index file holds it."""
        return {"size": self.size, "mtime_ns": self.mtime_ns, "head_sha256": self.head}


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A line where reading can start, and what numbering and the window need to know there."""

    offset: int  # byte of the file where reading starts (a member, a frame, or the line)
    skip: int  # decompressed bytes to drop from there to reach the line
    lineno: int  # the line's number (1 is the header)
    seq: int  # the seq of the line's first envelope
    seq_before: int | None  # the highest seq of every envelope before the line
    recv_before: int | None  # the latest receive time (µs) of every frame before the line

    def as_row(self) -> list[Any]:
        """The checkpoint as one line of the index file."""
        return [self.offset, self.skip, self.lineno, self.seq, self.seq_before, self.recv_before]


@dataclass(slots=True)
class Summary:
    """The whole capture in a few numbers: enough to tell it lies outside a window."""

    frames: int = 0
    envelopes: int = 0
    bad: int = (
        0  # bad lines, next-part headers and read failures: no whole skip, no checkpoint after
    )
    seq_min: int | None = None
    seq_max: int | None = None
    recv_min: int | None = None
    recv_max: int | None = None


@dataclass(slots=True)
class CaptureIndex:
    """An index: the capture's stamp, the envelope counting it assumed, a summary, checkpoints."""

    stamp: Stamp
    summary: Summary
    checkpoints: list[Checkpoint]
    normalize: int = NORMALIZE_VERSION
    every: int = CHECKPOINT_EVERY

    def encode(self) -> bytes:
        """The index file: a header line, then one line per checkpoint."""
        head = {
            INDEX_KEY: INDEX_VERSION,
            "normalize": self.normalize,
            "every": self.every,
            "capture": self.stamp.as_json(),
            "summary": {
                "frames": self.summary.frames,
                "envelopes": self.summary.envelopes,
                "bad": self.summary.bad,
                "seq": [self.summary.seq_min, self.summary.seq_max],
                "recv_us": [self.summary.recv_min, self.summary.recv_max],
            },
            "checkpoints": len(self.checkpoints),
        }
        rows = [orjson.dumps(head)] + [orjson.dumps(point.as_row()) for point in self.checkpoints]
        return b"\n".join(rows) + b"\n"

    def start_for(self, kind: str, value: int) -> Checkpoint | None:
        """The last checkpoint before which nothing reaches `value` (seq or time); None if none.

        Everything before the checkpoint is then outside `--from value`: its
        seqs (or receive times) are all lower. The running highs only grow,
        so the search is a bisection.
        """
        points = self.checkpoints
        low, high = 0, len(points)
        while low < high:
            middle = (low + high) // 2
            point = points[middle]
            before = point.seq_before if kind == "seq" else point.recv_before
            if before is None or before < value:
                low = middle + 1
            else:
                high = middle
        return points[low - 1] if low else None

    def outside(self, start: tuple[str, int] | None, end: tuple[str, int] | None) -> bool:
        """Whether no envelope of the capture can fall in [start, end) (kinds "seq", "time")."""
        summary = self.summary
        if summary.bad:
            return False  # a full replay would report its bad lines
        if summary.envelopes == 0:
            return True
        if start is not None:
            high = summary.seq_max if start[0] == "seq" else summary.recv_max
            if high is not None and high < start[1]:
                return True
        if end is not None:
            low = summary.seq_min if end[0] == "seq" else summary.recv_min
            if low is not None and low >= end[1]:
                return True
        return False


@dataclass(slots=True)
class Indexer:
    """Checkpoints and summary of a capture as its lines go by, in order.

    `record` feeds it the lines it writes, `wstail index` the lines it
    reads; the same rule makes the same checkpoints: the first frame line,
    then the first line starting CHECKPOINT_EVERY bytes or more after the
    previous checkpoint. After a bad line or a next part's header, no more
    checkpoints (a seek would skip what a full replay reports, or start
    under the wrong header).
    """

    every: int = CHECKPOINT_EVERY
    summary: Summary = field(default_factory=Summary)
    checkpoints: list[Checkpoint] = field(default_factory=list)
    next_at: int = 0
    sealed: bool = False

    def due(self, position: int) -> bool:
        """Whether the line starting at decompressed byte `position` is a checkpoint."""
        return not self.sealed and position >= self.next_at

    def checkpoint(self, position: int, offset: int, skip: int, lineno: int, seq: int) -> None:
        """A checkpoint at a line (asked `due` first)."""
        summary = self.summary
        self.checkpoints.append(
            Checkpoint(offset, skip, lineno, seq, summary.seq_max, summary.recv_max)
        )
        self.next_at = position + self.every

    def frame(self, recv_us: int, seq: int, envelopes: int) -> None:
        """A frame line received at `recv_us`, its envelopes numbered from `seq`."""
        summary = self.summary
        summary.frames += 1
        if summary.recv_max is None or recv_us > summary.recv_max:
            summary.recv_max = recv_us
        if summary.recv_min is None or recv_us < summary.recv_min:
            summary.recv_min = recv_us
        if envelopes:
            summary.envelopes += envelopes
            last = seq + envelopes - 1
            if summary.seq_max is None or last > summary.seq_max:
                summary.seq_max = last
            if summary.seq_min is None or seq < summary.seq_min:
                summary.seq_min = seq

    def bad(self) -> None:
        """A bad line, a next part's header or a read failure: no checkpoint after it."""
        self.summary.bad += 1
        self.sealed = True

    def index(self, stamp: Stamp) -> CaptureIndex:
        """The index of the capture whose file now has this stamp."""
        return CaptureIndex(stamp, self.summary, self.checkpoints, every=self.every)


def write_index(capture: str, index: CaptureIndex, *, private: bool = False) -> None:
    """Write `capture`'s index beside it, whole or not at all (a temporary file renamed)."""
    path = index_path(capture)
    temporary = f"{path}.{os.getpid()}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(index.encode())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def load_index(capture: str) -> CaptureIndex:
    """The index of `capture` if it can be trusted; IndexProblem says why not."""
    path = index_path(capture)
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise IndexProblem(f"{capture} has no index", missing=True) from None
    except OSError as exc:
        raise IndexProblem(f"cannot read {path}: {exc.strerror or exc}") from None
    index = decode_index(data, path)
    if index.normalize != NORMALIZE_VERSION:
        raise IndexProblem(f"{path} counts envelopes as an older wstail did (stale)")
    try:
        stamp = Stamp.of(capture)
    except OSError as exc:
        raise IndexProblem(f"cannot read {capture}: {exc.strerror or exc}") from None
    if stamp != index.stamp:
        raise IndexProblem(f"{path} is stale: {capture} changed since it was made")
    return index


def decode_index(data: bytes, path: str) -> CaptureIndex:
    """An index file's contents read back; IndexProblem if it is not a whole index of ours."""
    lines = data.split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    try:
        head = orjson.loads(lines[0]) if lines else None
        if not isinstance(head, dict) or INDEX_KEY not in head:
            raise ValueError("not an index")
        if head[INDEX_KEY] != INDEX_VERSION:
            raise IndexProblem(f"{path} is of index version {head[INDEX_KEY]!r} (this reads 1)")
        capture = head["capture"]
        stamp = Stamp(_int(capture["size"]), _int(capture["mtime_ns"]), str(capture["head_sha256"]))
        found = head["summary"]
        summary = Summary(
            frames=_int(found["frames"]),
            envelopes=_int(found["envelopes"]),
            bad=_int(found["bad"]),
            seq_min=_maybe(found["seq"][0]),
            seq_max=_maybe(found["seq"][1]),
            recv_min=_maybe(found["recv_us"][0]),
            recv_max=_maybe(found["recv_us"][1]),
        )
        points = [_checkpoint(orjson.loads(line)) for line in lines[1:]]
        if len(points) != _int(head["checkpoints"]):
            raise ValueError("checkpoints missing")
        _check_order(points)
        return CaptureIndex(stamp, summary, points, _int(head["normalize"]), _int(head["every"]))
    except IndexProblem:
        raise
    except (ValueError, KeyError, IndexError, TypeError):
        raise IndexProblem(f"{path} is corrupt") from None


def _checkpoint(row: Any) -> Checkpoint:
    if type(row) is not list or len(row) != 6:
        raise ValueError("not a checkpoint")
    return Checkpoint(
        _int(row[0]), _int(row[1]), _int(row[2]), _int(row[3]), _maybe(row[4]), _maybe(row[5])
    )


def _check_order(points: list[Checkpoint]) -> None:
    """Checkpoints go forward in the file, their running highs never down."""
    for before, after in zip(points, points[1:], strict=False):
        if (
            after.lineno <= before.lineno
            or (after.offset, after.skip) <= (before.offset, before.skip)
            or _lower(after.seq_before, before.seq_before)
            or _lower(after.recv_before, before.recv_before)
        ):
            raise ValueError("checkpoints out of order")


def _lower(after: int | None, before: int | None) -> bool:
    return before is not None and (after is None or after < before)


def _int(value: Any) -> int:
    if type(value) is not int:
        raise ValueError("not a whole number")
    return value


def _maybe(value: Any) -> int | None:
    return None if value is None else _int(value)


__all__ = [
    "CHECKPOINT_EVERY",
    "MEMBER_SIZE",
    "CaptureIndex",
    "Checkpoint",
    "IndexProblem",
    "Indexer",
    "Stamp",
    "index_path",
    "load_index",
    "write_index",
]
