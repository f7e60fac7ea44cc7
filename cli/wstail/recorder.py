"""Capture files as a sink: compressed by extension, rotated, closed whole."""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO, TextIO

from wstail.capture import CaptureHeader, encode_frame
from wstail.exitcodes import UsageError, output_failed
from wstail.frames import Frame
from wstail.index import (
    CHECKPOINT_EVERY,
    MEMBER_SIZE,
    Indexer,
    Stamp,
    index_path,
    write_index,
)
from wstail.sinks import buffered_stdout
from wstail.wholelines import GzipLines, PlainLines, ZstdLines, open_lines

if TYPE_CHECKING:
    from wstail.live import LiveSource

_SIZE = re.compile(r"(?i)^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$")
_DURATION = re.compile(r"(?i)^(\d+(?:\.\d+)?)\s*(s|m|h|d)?$")
_SIZE_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_DURATION_UNITS = {None: 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_size(text: str) -> int:
    """Bytes from `500M`, `1G`, `64k`, `1048576`; a usage error otherwise."""
    match = _SIZE.match(text.strip())
    if not match or float(match.group(1)) <= 0:
        raise UsageError(f"--rotate-size {text!r}: expected a size like 100M, 1G or 65536")
    return int(float(match.group(1)) * _SIZE_UNITS[match.group(2).lower()])


def parse_duration(text: str) -> float:
    """Seconds from `1h`, `30m`, `90s`, `1d`, `3600`; a usage error otherwise."""
    match = _DURATION.match(text.strip())
    if not match or float(match.group(1)) <= 0:
        raise UsageError(f"--rotate-every {text!r}: expected a duration like 1h, 15m or 3600")
    unit = match.group(2).lower() if match.group(2) else None
    return float(match.group(1)) * _DURATION_UNITS[unit]


def part_name(pattern: str, part: int, start_us: int, taken: Collection[str] = ()) -> str:
    """The file name of rotated part `part` (0 is the first).

    strftime fields in the pattern are filled from the part's start (UTC);
    part numbers are inserted before the extensions when the pattern has none
    (`day.jsonl.gz`, `day.1.jsonl.gz`, `day.2.jsonl.gz`), or when an earlier
    part of the run (`taken`) already has the filled name: `day-%Y%m%d.jsonl`
    rotated by size must not overwrite the day's first part.
    """
    name = pattern
    if "%" in pattern:
        name = time.strftime(pattern, time.gmtime(start_us // 1_000_000))
    if part == 0 or (name != pattern and name not in taken):
        return name
    head, tail = os.path.split(name)
    stem, dot, exts = tail.partition(".")
    numbered = f"{stem}.{part}{dot}{exts}" if dot else f"{stem}.{part}"
    return os.path.join(head, numbered)


class CaptureFile:
    """One capture file: created on open, header with the first line, a line per frame.

    The header waits for the first frame (or the close) so that a protocol
    only learnt on connecting (`--eio auto`) can still go into it. Every
    line reaches the kernel at once and whole (wstail.wholelines): a failed
    write or a kill -9 leaves a file that ends on a whole line.
    """

    def __init__(
        self,
        path: str,
        header: CaptureHeader,
        *,
        private: bool,
        index_every: int = CHECKPOINT_EVERY,
    ) -> None:
        self.path = path
        self.header = header
        self.size = 0  # bytes on disk (compressed for .gz and .zst)
        self.header_written = False
        self.failed = False
        self.private = private
        self._lines: PlainLines | GzipLines | ZstdLines | None = None
        self._stdout: BinaryIO | None = None
        # The index written beside the file when it closes (docs/index.md); None: no index
        # (-o -, or a frame whose envelopes were not counted).
        self.indexer: Indexer | None = None
        self.index_failure = ""  # why the index could not be written, for one warning
        self._position = 0  # decompressed bytes written: where the next line starts
        self._lineno = 0
        if path == "-":
            self._stdout = buffered_stdout()
        else:
            self.indexer = Indexer(index_every)
            try:  # an index of an earlier capture of this name must not outlive it
                os.unlink(index_path(path))
            except OSError:
                pass
            mode = 0o600 if private else 0o666
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
            except OSError as exc:
                raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
            try:
                if private:
                    os.fchmod(fd, 0o600)  # an existing file keeps no wider mode
                # a member per few checkpoints: a seek decompresses little in vain
                self._lines = open_lines(fd, path, MEMBER_SIZE * index_every // CHECKPOINT_EVERY)
            except BaseException:
                os.close(fd)
                raise

    def _write(self, line: bytes) -> tuple[int, int]:
        """Write one line; where it starts (see wholelines' write_line)."""
        data = line + b"\n"
        lines = self._lines
        where = (0, 0)
        try:
            if lines is not None:
                where = lines.write_line(data)
            elif self._stdout is not None:
                _write_stdout(self._stdout, data)
        except BaseException:
            self.failed = True
            raise
        # --rotate-size is about disks: the bytes the file takes, compressed or not.
        self.size = lines.size if lines is not None else self.size + len(data)
        self._position += len(data)
        self._lineno += 1
        return where

    def _write_header(self) -> None:
        if not self.header_written:
            self.header_written = True
            self._write(self.header.encode())

    def write_frame(self, frame: Frame, seq: int = 0, envelopes: int | None = None) -> None:
        """Append one frame (after the header, the first time).

        `seq` is the number of its first envelope and `envelopes` how many it
        gives, for the index (unknown: no index).
        """
        self._write_header()
        indexer = self.indexer
        if indexer is not None and envelopes is None:
            indexer = self.indexer = None
        position = self._position
        due = indexer is not None and indexer.due(position)
        offset, skip = self._write(encode_frame(frame, self.header.start_us))
        if indexer is not None and envelopes is not None:
            if due:
                indexer.checkpoint(position, offset, skip, self._lineno, seq)
            indexer.frame(frame.recv_us, seq, envelopes)

    def close(self) -> None:
        """Write the header if no frame came, then close the file (its stream is whole).

        Then its index, beside it; a failure to write that is kept in
        `index_failure` (the capture is whole: replay reads it without).
        """
        try:
            if not self.failed:
                self._write_header()
        finally:
            if self._lines is not None:
                lines, self._lines = self._lines, None
                lines.close()
                if self.indexer is not None:
                    self._write_index(self.indexer)

    def _write_index(self, indexer: Indexer) -> None:
        try:
            write_index(self.path, indexer.index(Stamp.of(self.path)), private=self.private)
        except OSError as exc:
            self.index_failure = (
                f"cannot write {index_path(self.path)}: {exc.strerror or exc}; "
                f"`wstail index {self.path}` makes it later"
            )


def _write_stdout(stdout: BinaryIO, data: bytes) -> None:
    """A capture line to stdout (-o -), flushed; a closed pipe stays a quiet end."""
    try:
        stdout.write(data)
        stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise output_failed("stdout", exc) from None


class Recorder:
    """Writes every frame to the capture, starting new parts by size or age."""

    def __init__(
        self,
        pattern: str,
        header: CaptureHeader,
        *,
        private: bool,
        rotate_size: int | None = None,
        rotate_every: float | None = None,
        warn: TextIO | None = None,
        index_every: int = CHECKPOINT_EVERY,
    ) -> None:
        self.pattern = pattern
        self.index_every = index_every
        self.template = header
        self.private = private
        self.rotate_size = rotate_size
        self.rotate_every_us = None if rotate_every is None else int(rotate_every * 1_000_000)
        self.part = 0
        self.paths: list[str] = []
        self.file: CaptureFile | None = None
        self.warn = warn
        self.warned = False
        # What `record`'s status line shows: frames written, bytes of the parts closed,
        # meta.connected frames (the reconnects are the ones after the first).
        self.frames = 0
        self.closed_bytes = 0
        self.connects = 0
        # After a part that could not be opened: when to try the next (size, time).
        self.retry_size = 0
        self.retry_us = 0
        if pattern == "-" and (rotate_size or rotate_every):
            raise UsageError("--rotate-size and --rotate-every need a file, not -o -")

    def _open(self, start_us: int, first_seq: int) -> CaptureFile:
        header = CaptureHeader(
            source=self.template.source,
            start_us=start_us,
            url=self.template.url,
            protocol=self.template.protocol,
            tool=self.template.tool,
            first_seq=first_seq,
            extra=dict(self.template.extra, part=self.part) if self.part else self.template.extra,
        )
        path = (
            self.pattern
            if self.pattern == "-"
            else part_name(self.pattern, self.part, start_us, self.paths)
        )
        capture = CaptureFile(path, header, private=self.private, index_every=self.index_every)
        self.paths.append(path)
        return capture

    def write(self, frame: Frame, next_seq: int, envelopes: int | None = None) -> None:
        """Record a frame; `next_seq` is the seq its first envelope will get.

        `envelopes`, how many it gives, goes into the index (None: the part gets none).
        """
        if frame.kind == "meta":
            if not self.template.protocol:
                self._learn_protocol(frame)
            if frame.payload == "meta.connected":
                self.connects += 1
        current = self.file
        if current is None:
            current = self.file = self._open(self.template.start_us, next_seq)
        elif self._due(current, frame.recv_us):
            current = self._rotate(current, frame.recv_us, next_seq)
        current.write_frame(frame, next_seq, envelopes)
        self.frames += 1

    @property
    def bytes_written(self) -> int:
        """Bytes written to every part so far (headers included)."""
        return self.closed_bytes + (self.file.size if self.file is not None else 0)

    def _rotate(self, current: CaptureFile, recv_us: int, next_seq: int) -> CaptureFile:
        """The next part, opened before the current one is closed.

        When it cannot be opened (a read-only or removed directory), the
        current part goes on (said once on stderr): no frame is lost while
        it can still be written. The next try is one rotation period later.
        """
        self.part += 1
        try:
            following = self._open(recv_us, next_seq)
        except UsageError as exc:
            self.part -= 1
            self.retry_size = current.size + (self.rotate_size or 0)
            self.retry_us = recv_us + (self.rotate_every_us or 0)
            if not self.warned:
                self.warned = True
                warn = self.warn if self.warn is not None else sys.stderr
                warn.write(f"wstail: {exc.message}; recording goes on in {current.path}\n")
                warn.flush()
            return current
        self.file = following
        self.retry_size = self.retry_us = 0
        current.close()
        self._warn_index(current)
        self.closed_bytes += current.size
        return following

    def _warn_index(self, closed: CaptureFile) -> None:
        """One line when a part's index could not be written (the part itself is whole)."""
        if closed.index_failure:
            warn = self.warn if self.warn is not None else sys.stderr
            warn.write(f"wstail: {closed.index_failure}\n")
            warn.flush()

    def _learn_protocol(self, frame: Frame) -> None:
        """Take the protocol `--eio auto` settled on from meta.connected, for the headers."""
        protocol = (frame.data or {}).get("protocol")
        if frame.payload != "meta.connected" or not isinstance(protocol, str):
            return
        self.template.protocol = protocol
        if self.file is not None and not self.file.header_written:
            self.file.header.protocol = protocol

    def _due(self, current: CaptureFile, recv_us: int) -> bool:
        size = self.rotate_size
        if size is not None and current.size >= size and current.size >= self.retry_size:
            return True
        every = self.rotate_every_us
        return (
            every is not None
            and recv_us - current.header.start_us >= every
            and recv_us >= self.retry_us
        )

    def open_now(self, next_seq: int = 1) -> None:
        """Create the first file before any frame arrives (errors surface at once).

        Its header is written with the first frame, when meta.connected has
        told the protocol.
        """
        if self.file is None:
            self.file = self._open(self.template.start_us, next_seq)

    def close(self) -> None:
        """Close the current part whole."""
        if self.file is not None:
            self.file.close()
            self._warn_index(self.file)
            self.file = None


@dataclass(frozen=True, slots=True)
class RecordOptions:
    """-o and the rotation options of `wstail record`."""

    path: str
    rotate_size: int | None = None
    rotate_every: float | None = None
    index_every: int = CHECKPOINT_EVERY  # developer switch WSTAIL_DEV_INDEX_EVERY (tests)

    def recorder_for(self, live: LiveSource) -> Recorder:
        """The recorder of a live source, its first part opened now (with its header)."""
        from wstail import __version__
        from wstail.envelope import now_us

        header = CaptureHeader(
            source=live.source,
            start_us=now_us(),
            url=live.display_url,
            protocol=live.protocol,
            tool=f"wstail {__version__}",
            extra=dict(live.header),
        )
        recorder = Recorder(
            self.path,
            header,
            private=live.private,
            rotate_size=self.rotate_size,
            rotate_every=self.rotate_every,
            index_every=self.index_every,
        )
        recorder.open_now()
        return recorder
