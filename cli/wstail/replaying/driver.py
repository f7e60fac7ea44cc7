"""Replay's driver: each input read as blocks, through its reader, paced, into the stream.

The readers (captures.py, ndjson.py) are generators of entries; this is
the only place that sleeps, reports bad lines and draws progress.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, BinaryIO, TextIO

from wstail.capture import INDEX_KEY, CaptureError, decode_header, is_header
from wstail.envelope import iso_to_us
from wstail.exitcodes import BadInputError
from wstail.fastpaths import FastPaths
from wstail.filters import event_names_needed
from wstail.inputs import CorruptStream, display_name, open_input
from wstail.pipeline import Stream, StreamDone
from wstail.progress import Progress
from wstail.words import counted

from .blocks import (
    BLOCK_SIZE,
    BadLine,
    ReadFailure,
    decoded,
    excerpt,
    first_line,
    is_envelope,
    read_blocks,
)
from .captures import BadHeader, NewPart, Part, ReadingFor, capture_entries
from .ndjson import envelope_entries, envelope_entry
from .pacing import ReplayTimer
from .parallel import PIECE_SIZE, Jobs, ParallelCaptures
from .window import Window

if TYPE_CHECKING:
    from .index import Plan, Seeker

SHOWN_BAD_LINES = 5
"""Bad lines reported one by one per file; the rest are counted in one line."""


@dataclass(slots=True)
class ReplayOptions:
    """The REPLAY options that shape reading (not serving)."""

    window: Window | None = None  # --from/--to, told the capture's start
    speed: float | None = None
    max_gap: float | None = None
    jobs: Jobs = field(default_factory=lambda: Jobs(1))  # -j: workers for captures
    # Developer switches (the differential tests, --debug, WSTAIL_STRICT_FAST_PATHS):
    # short_ways False reads every line on its own, the reference of the short ways
    # (capture frames normalized straight from their decoded line, NDJSON blocks of
    # plain `{...}` lines looked at only where a wanted event name or a risky number
    # occurs); block_size is the bytes asked per read; strict_fast_paths makes a
    # well-formed line that missed its short way an internal error (FastPathMissed).
    short_ways: bool = True
    block_size: int = BLOCK_SIZE
    strict_fast_paths: bool = False
    # Captures' indexes for --from/--to (docs/index.md); off: read every capture from its
    # start (WSTAIL_DEV_INDEX=0, the reference; replay's own --each... renumber frames).
    use_index: bool = True


class Replayer:
    """Reads each input in turn and feeds the stream; reports bad lines as FILE:LINE."""

    def __init__(
        self,
        stream: Stream,
        options: ReplayOptions,
        stderr: TextIO,
        reading_for: ReadingFor,
    ) -> None:
        self.stream = stream
        self.options = options
        self.stderr = stderr
        self.reading_for = reading_for
        self.bad_lines = 0
        self._file_bad_lines = 0  # the bad lines of the file being read
        self.fast_paths = FastPaths(strict=options.strict_fast_paths)  # what --debug reports
        opts = stream.options
        deadline = None if opts.duration is None else time.monotonic() + opts.duration
        self.timer = ReplayTimer(
            options.speed, options.max_gap, stream, opts.idle_timeout, deadline
        )
        # Each item waits its turn with --speed or --duration; else blocks go straight on.
        self.paced = bool(options.speed) or deadline is not None
        self.needles = None if stream.windowed or options.speed else _needles(stream)
        self.seeker: Seeker | None = None
        if options.use_index and options.window is not None:
            from .index import Seeker  # only with --from/--to: a replay starts without it

            self.seeker = Seeker(self._say)
        # -j: capture blocks in worker processes (not when paced: each frame waits its turn)
        self.parallel: ParallelCaptures | None = None
        if options.jobs.parallel and not self.paced:
            self.parallel = ParallelCaptures(
                options.jobs,
                stream,
                reading_for,
                short=options.short_ways,
                paths=self.fast_paths,
                piece_size=min(PIECE_SIZE, options.block_size),  # smaller: the tests' switch
            )
        self.progress: Progress | None = None
        if Progress.wanted(stderr, sys.stdout.isatty()):
            self.progress = Progress(stderr)

    def report(self, path: str, lineno: int, reason: str, *, always: bool = False) -> None:
        """Report one bad line as FILE:LINE: reason (past the first few of a file, count it)."""
        self.bad_lines += 1
        self._file_bad_lines += 1
        if self._file_bad_lines > SHOWN_BAD_LINES and not always:
            return
        self._line(f"{display_name(path)}:{lineno}: {reason}")

    def replay(self, paths: list[str]) -> None:
        """Replay every input; BadInputError at the end if any line or file was bad.

        A file that cannot be read, or is neither a capture nor NDJSON, is
        one line; alone, it is the error itself, else the summary counts it.
        """
        try:
            self._replay(paths)
        finally:
            if self.parallel is not None:
                self.parallel.close(kill=True)  # idle, or no longer wanted: no wait

    def _replay(self, paths: list[str]) -> None:
        unreadable = foreign = 0
        try:
            for path in paths:
                try:
                    handle = open_input(path)
                except BadInputError as exc:
                    if len(paths) == 1:
                        raise
                    unreadable += 1
                    self._say(exc.message)
                    continue
                try:
                    self.replay_file(path, handle)
                except NotReplayable as exc:
                    if len(paths) == 1:
                        raise
                    foreign += 1
                    self._say(exc.message)
                finally:
                    if path != "-":
                        handle.close()
            self.stream.flush()
        except StreamDone:  # -n, --until, --duration: the end of a replay too
            if self.progress is not None:
                self.progress.finish(self.stream.passed)
            raise
        except BaseException:
            if self.progress is not None:  # Ctrl-C, a closed pipe, a bad file: no line left
                self.progress.clear()
            raise
        if self.progress is not None:
            self.progress.finish(self.stream.passed)
        if self.bad_lines or unreadable or foreign:
            what = []
            if self.bad_lines:
                what.append(counted(self.bad_lines, "bad line"))
            if unreadable:
                what.append(counted(unreadable, "unreadable file"))
            if foreign:
                what.append(counted(foreign, "file") + " neither a capture nor NDJSON")
            raise BadInputError(f"replay finished with {' and '.join(what)}")

    def _say(self, message: str) -> None:
        """One line about a whole file, in its place among the output."""
        self._line(f"wstail: {message}")

    def _line(self, text: str) -> None:
        """One stderr line after what was printed before it, the progress line erased first
        (the next tick draws it again below)."""
        self.stream.flush()
        if self.progress is not None:
            self.progress.clear()
        self.stderr.write(text + "\n")
        self.stderr.flush()

    def replay_file(self, path: str, handle: BinaryIO) -> None:
        """One input, a capture or NDJSON by its first line, read a block at a time.

        NotReplayable if the first line is neither: the rest is not read.
        """
        self._file_bad_lines = 0
        try:
            self._replay_file(path, handle)
        finally:
            hidden = self._file_bad_lines - SHOWN_BAD_LINES
            if hidden > 0:
                more = counted(hidden, "more bad line")
                self._line(f"... and {more} in {display_name(path)}")

    def _replay_file(self, path: str, handle: BinaryIO) -> None:
        blocks = read_blocks(handle, 0, self.options.block_size)
        tick = None
        if self.progress is not None:
            tick = partial(self.progress.tick, display_name(path), handle)
            blocks = self._ticking(blocks, tick)
        try:
            head = first_line(blocks)
            if head is None:
                return
            number, line, rest = head
            first = decoded(line)
            if type(first) is dict and INDEX_KEY in first:
                return  # a capture's index (`replay dir/*`): not an input of its own
            if not is_header(first):
                heads = []
                if not is_envelope(first):
                    # Neither: one message, unless the next line is an envelope (a
                    # file cut at its head, `tail -c`), its first line a bad one.
                    after = first_line(rest)
                    if after is None or not is_envelope(decoded(after[1])):
                        raise NotReplayable(
                            f"{display_name(path)}: not a wstail capture or NDJSON: "
                            f"first line {excerpt(line)}"
                        )
                    heads.append(envelope_entry(number, line, None, self._exact))
                    number, line, rest = after
                heads.append(envelope_entry(number, line, self.needles, self._exact))
                entries = _chain(heads, self._envelopes(rest))
                self._feed_envelopes(path, entries)
                return
            part = self.begin_capture(path, number, first)
            if part is None:
                for _ in rest:  # nothing can be read, but a cut file is still said
                    pass
                return
            window = self.options.window
            if self.seeker is not None and window is not None:
                plan = self.seeker.plan(path, window)
                if plan.skip:  # wholly outside --from/--to, as its index says
                    return
                if plan.start is not None:
                    self._replay_from(path, plan, part)
                    return
            if self.parallel is None:
                self._feed_serially(path, rest, part)
            else:
                self.parallel.feed(
                    rest,
                    part,
                    partial(self._feed_serially, path, part=part),
                    partial(self.report, path),
                    None if tick is None else lambda: tick(self.stream.passed),
                    handle,
                )
        except ReadFailure as failure:
            self.report(path, failure.lineno, failure.reason, always=True)

    def _replay_from(self, path: str, plan: Plan, part: Part) -> None:
        """A capture read from an indexed checkpoint on, numbered from there.

        In this process: what is left of a seek is the window's, small next to
        the part it skipped.
        """
        from .index import open_at

        point = plan.start
        assert point is not None
        try:
            handle = open_at(path, point, plan.kind)
        except (OSError, EOFError, CorruptStream) as exc:  # changed since its index was read
            raise ReadFailure(point.lineno, str(exc) or "cannot read on") from None
        try:
            blocks = read_blocks(handle, point.lineno - 1, self.options.block_size)
            if self.progress is not None:
                blocks = self._ticking(
                    blocks, partial(self.progress.tick, display_name(path), handle)
                )
            self.stream.number_from(point.seq)
            self._feed_serially(path, blocks, part)
        finally:
            handle.close()

    def begin_capture(self, path: str, number: int, first: Any) -> Part | None:
        """A capture's decoded header: numbering and +DURATION start there; None if it is bad."""
        try:
            header = decode_header(first)
        except CaptureError as exc:
            self.report(path, number, str(exc))
            return None
        if self.options.window is not None:
            self.options.window.anchor(header.start_us)  # +DURATION: from the first start
        self.stream.number_from(header.first_seq)
        return Part(header.source, header.start_us, header.extra, self.reading_for)

    def _feed_serially(self, path: str, blocks: Iterator[tuple[int, bytes]], part: Part) -> bool:
        """A capture's frame blocks in this process; whether its entries ended (a bad header)."""
        ended = False

        def watched(entries: Iterator[Any]) -> Iterator[Any]:
            nonlocal ended
            for entry in entries:
                ended = ended or type(entry) is BadHeader
                yield entry

        short = self.options.short_ways
        self._feed_frames(
            path, watched(capture_entries(blocks, part, short=short, paths=self.fast_paths))
        )
        return ended

    @property
    def _exact(self) -> bool:
        return self.stream.prints_envelopes_again

    def _envelopes(self, blocks: Iterator[tuple[int, bytes]]) -> Iterator[Any]:
        return envelope_entries(
            blocks,
            needles=self.needles,
            exact=self._exact,
            short=self.options.short_ways,
            paths=self.fast_paths,
        )

    def _feed_frames(self, path: str, entries: Iterator[Any]) -> None:
        """Frames into the stream: straight on, or each in its turn when paced."""
        stream = self.stream

        def other(entry: Any) -> None:
            if type(entry) is NewPart:
                stream.number_from(entry.first_seq)
            else:
                self.report(path, entry.lineno, entry.reason)

        if not self.paced:
            stream.feed_frames(entries, other)
            return
        for entry in entries:
            if type(entry) is not tuple:
                other(entry)
                continue
            if stream.inside(stream.next_seq, entry[1]):  # no wait for what is left out
                self.timer.wait(entry[1])  # it writes what is held: never inside a feeding
            stream.feed_frames((entry,))
            stream.end_batch()

    def _feed_envelopes(self, path: str, entries: Iterator[Any]) -> None:
        """Envelopes read back into the stream: straight on, or each in its turn when paced."""
        stream = self.stream

        def other(entry: BadLine) -> None:
            self.report(path, entry.lineno, entry.reason)

        if not self.paced:
            stream.feed_envelopes(entries, other)
            return
        speed = self.options.speed
        for entry in entries:
            if type(entry) is not list:
                other(entry)
                continue
            for pair in entry:
                envelope = pair[0]
                seq = envelope.get("seq")
                recv_us = _recv_us(envelope)
                if stream.inside(seq if type(seq) is int else 0, recv_us or 0):
                    # no wait for what is left out; the wait writes what is held
                    self.timer.wait(recv_us if speed else None)
                stream.feed_envelopes(([pair],))

    def _ticking(
        self, blocks: Iterator[tuple[int, bytes]], tick: Callable[[int], None]
    ) -> Iterator[tuple[int, bytes]]:
        main = threading.main_thread()
        for block in blocks:
            yield block
            if threading.current_thread() is main:  # -j's reading thread: the parent ticks
                tick(self.stream.passed)


class NotReplayable(BadInputError):
    """An input whose first line is neither a capture header nor an envelope."""


def _needles(stream: Stream) -> tuple[bytes, ...] | None:
    """Quoted event names a line must hold to pass, when the filters prove it; else None."""
    names = event_names_needed(stream.compiled.filter.events, stream.options.filters)
    if names is None:
        return None
    if any(not name.isprintable() or set(name) & set('"\\/') for name in names):
        return None
    # The event's value must appear as the quoted string itself, unless
    # written with \u escapes (such lines are always decoded): so
    # `"trade"` and not `trade_id` or `"trades"` marks a candidate.
    # Lifecycle envelopes take the same filters (with --meta; without, replay
    # drops them): one passes only if its name is among these too.
    return tuple({b'"' + name.encode() + b'"' for name in names})


def _chain(firsts: list[Any], rest: Iterator[Any]) -> Iterator[Any]:
    """The first lines' entries (an envelope as a list of one), then the reader's."""
    for first in firsts:
        if first is not None:
            yield [first] if type(first) is tuple else first
    yield from rest


def _recv_us(envelope: dict[str, Any]) -> int | None:
    value = envelope.get("recv_ts")
    return iso_to_us(value) if isinstance(value, str) else None


__all__ = ["BadLine", "Replayer", "ReplayOptions"]
