"""Replay: read captures and wstail NDJSON, and feed them through the stream."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any, BinaryIO, TextIO

import orjson

from wstail.capture import CaptureError, decode_frame, decode_header, is_header
from wstail.envelope import format_us, iso_to_us
from wstail.exitcodes import BadInputError, IdleTimeout, UsageError
from wstail.filters import event_names_needed
from wstail.inputs import CorruptStream, display_name, open_input
from wstail.jsonexact import NUMBER_SHAPES, RISKY_SHAPES, loads_exact
from wstail.normalize import normalize_node_text, normalize_paymium_event
from wstail.pipeline import Batch, Stream, StreamDone
from wstail.status import Progress

RS = b"\x1e"


@dataclass(frozen=True, slots=True)
class Bound:
    """One end of --from/--to: a receive time (µs) or a sequence number."""

    kind: str  # "time" | "seq"
    value: int

    @classmethod
    def parse(cls, text: str, option: str) -> Bound:
        """Read `seq:N` or an RFC 3339 time; a bad one is a usage error."""
        if text.startswith("seq:"):
            number = text[4:]
            if number.isascii() and number.isdigit():
                return cls("seq", int(number))
            raise UsageError(f"{option} {text!r}: seq:N needs a whole number")
        us = iso_to_us(text.replace(" ", "T", 1))
        if us is None:
            raise UsageError(
                f"{option} {text!r}: expected an RFC 3339 time with offset "
                "(2026-11-23T10:00:00Z) or seq:N"
            )
        return cls("time", us)


@dataclass(slots=True)
class ReplayOptions:
    """The REPLAY options that shape reading (not serving)."""

    start: Bound | None = None
    end: Bound | None = None
    speed: float | None = None
    max_gap: float | None = None


class Window:
    """--from (inclusive) and --to (exclusive) over envelopes."""

    def __init__(self, start: Bound | None, end: Bound | None) -> None:
        self.start = start
        self.end = end
        self.active = start is not None or end is not None

    def contains(self, seq: int, recv_us: int) -> bool:
        """Whether an envelope with this seq and receive time is inside."""
        for bound, inside_if_after in ((self.start, True), (self.end, False)):
            if bound is None:
                continue
            value = seq if bound.kind == "seq" else recv_us
            if (value >= bound.value) != inside_if_after:
                return False
        return True


class Pacer:
    """Sleeps so that items come out at their recorded pace (--speed, --max-gap)."""

    def __init__(
        self,
        speed: float | None,
        max_gap: float | None,
        stream: Stream,
        idle_timeout: float | None,
        deadline: float | None,
    ) -> None:
        self.speed = speed
        self.max_gap_us = None if max_gap is None else int(max_gap * 1_000_000)
        self.stream = stream
        self.idle_timeout = idle_timeout
        self.deadline = deadline
        self._last_recorded: int | None = None
        self._virtual = 0.0
        self._wall_start = time.monotonic()

    def wait(self, recorded_us: int | None) -> None:
        """Sleep until the item recorded at `recorded_us` is due; StreamDone past --duration.

        Unpaced (or with no recorded time) this only checks the --duration deadline.
        """
        if self.speed is None or self.speed <= 0 or recorded_us is None:
            if self.deadline is not None and time.monotonic() >= self.deadline:
                raise StreamDone
            return
        if self._last_recorded is not None:
            gap = max(0, recorded_us - self._last_recorded)
            if self.max_gap_us is not None:
                gap = min(gap, self.max_gap_us)
            self._virtual += gap / 1_000_000 / self.speed
        self._last_recorded = recorded_us
        due = self._wall_start + self._virtual
        while True:
            now = time.monotonic()
            if self.deadline is not None and now >= self.deadline:
                raise StreamDone
            if self.idle_timeout is not None and now - self.stream.last_pass >= self.idle_timeout:
                raise IdleTimeout(f"no envelope passed the filters for {self.idle_timeout:g}s")
            if now >= due:
                return
            limit = due - now
            if self.deadline is not None:
                limit = min(limit, self.deadline - now)
            if self.idle_timeout is not None:
                limit = min(limit, self.stream.last_pass + self.idle_timeout - now)
            self.stream.writer.flush()
            time.sleep(max(limit, 0.0))


@dataclass(slots=True)
class _Part:
    """The capture part being read: its source and start time (a later header changes them)."""

    source: str
    start_us: int


class Replayer:
    """Reads each input in turn and feeds the stream; reports bad lines as FILE:LINE."""

    def __init__(self, stream: Stream, options: ReplayOptions, stderr: TextIO) -> None:
        self.stream = stream
        self.options = options
        self.stderr = stderr
        self.bad_lines = 0
        self.window = Window(options.start, options.end)
        opts = stream.options
        deadline = None if opts.duration is None else time.monotonic() + opts.duration
        self.pacer = Pacer(options.speed, options.max_gap, stream, opts.idle_timeout, deadline)
        self.needles = self._needles()
        self.progress: Progress | None = None
        if Progress.wanted(stderr, sys.stdout.isatty()):
            self.progress = Progress(stderr)

    def _needles(self) -> tuple[bytes, ...] | None:
        # Lines that cannot hold a wanted event name are skipped undecoded:
        # an event name can only hide from a substring test behind a \u escape.
        opts = self.stream.options
        if self.window.active or self.options.speed:
            return None
        names = event_names_needed(self.stream.compiled.filter.events, opts.filters)
        if names is None:
            return None
        if any(not name.isprintable() or set(name) & set('"\\/') for name in names):
            return None
        # The event's value must appear as the quoted string itself, unless
        # written with \u escapes (such lines are always decoded): so
        # `"trade"` and not `trade_id` or `"trades"` marks a candidate.
        needles = {b'"' + name.encode() + b'"' for name in names}
        if opts.meta:
            needles.add(b'"meta.')
        return tuple(needles)

    def report(self, path: str, lineno: int, reason: str) -> None:
        """Report one bad line as FILE:LINE: reason."""
        self.bad_lines += 1
        self.stream.writer.flush()
        self.stderr.write(f"{display_name(path)}:{lineno}: {reason}\n")
        self.stderr.flush()

    def replay(self, paths: list[str]) -> None:
        """Replay every input; BadInputError at the end if any line or file was bad."""
        unreadable = 0
        for path in paths:
            try:
                handle = open_input(path)
            except BadInputError as exc:
                unreadable += 1
                self.stream.writer.flush()
                self.stderr.write(f"wstail: {exc.message}\n")
                continue
            try:
                self._replay_one(path, handle)
            finally:
                if path != "-":
                    handle.close()
        self.stream.writer.flush()
        if self.progress is not None:
            self.progress.clear()
        if self.bad_lines or unreadable:
            what = []
            if self.bad_lines:
                what.append(f"{self.bad_lines} bad line{'s' if self.bad_lines != 1 else ''}")
            if unreadable:
                what.append(f"{unreadable} unreadable file{'s' if unreadable != 1 else ''}")
            raise BadInputError(f"replay finished with {' and '.join(what)}")

    def _lines(self, path: str, handle: BinaryIO) -> Iterator[tuple[int, bytes]]:
        lineno = 0
        progress = self.progress
        name = display_name(path)
        try:
            for lineno, line in enumerate(handle, 1):  # noqa: B007
                if progress is not None and not lineno & 4095:
                    progress.tick(name, handle, self.stream.passed)
                yield lineno, line
        except EOFError as exc:
            self.report(path, lineno + 1, str(exc) or "compressed stream is truncated")
        except CorruptStream as exc:
            self.report(path, lineno + 1, str(exc))
        except OSError as exc:
            self.report(path, lineno + 1, f"cannot read: {exc}")

    def _replay_one(self, path: str, handle: BinaryIO) -> None:
        lines = self._lines(path, handle)
        for lineno, line in lines:
            text = line.strip()
            if text.startswith(RS):
                text = text[1:].strip()
            if not text:
                continue
            try:
                first = loads_exact(text)
            except ValueError:
                first = None
            if is_header(first):
                try:
                    header = decode_header(first)
                except CaptureError as exc:
                    self.report(path, lineno, str(exc))
                    for _ in lines:  # count nothing more: the file cannot be read
                        pass
                    return
                self.stream.next_seq = header.first_seq
                part = _Part(header.source, header.start_us)
                self._replay_capture(path, lines, handle, lineno, part)
            else:
                self._replay_envelopes(path, [(lineno, line)], lines, handle)
            return

    def _replay_capture(
        self,
        path: str,
        lines: Iterator[tuple[int, bytes]],
        handle: BinaryIO,
        lineno: int,
        part: _Part,
    ) -> None:
        """The frames after a capture header (`lineno`): a block at a time where nothing waits."""
        stream = self.stream
        unpaced = self.pacer.deadline is None and not self.options.speed
        if unpaced and not self.window.active and stream.normalize is None and stream.batchable():
            self._capture_blocks(path, handle, lineno, part)
            return
        _feed_until_refused(
            lines, lambda number, line: self._capture_line(path, number, line, part)
        )

    def _capture_line(self, path: str, lineno: int, line: bytes, part: _Part) -> bool:
        """Feed one capture line (a frame, or the header of a next part); False: stop reading."""
        if not line.strip():
            return True
        stream = self.stream
        try:
            frame = decode_frame(line, part.start_us)
        except CaptureError as exc:
            try:
                head = loads_exact(line)
            except ValueError:
                head = None
            if not is_header(head):
                self.report(path, lineno, str(exc))
                return True
            # Concatenated captures (`cat part1.gz part2.gz`): the next part starts here.
            try:
                header = decode_header(head)
            except CaptureError as bad:
                self.report(path, lineno, str(bad))
                return False
            part.source, part.start_us = header.source, header.start_us
            stream.next_seq = header.first_seq
            return True
        if self.options.speed or self.pacer.deadline is not None:
            self.pacer.wait(frame.recv_us)
        window = self.window
        if window.active:
            stream.feed_frame(frame, part.source, partial(window.contains, recv_us=frame.recv_us))
        else:
            stream.feed_frame(frame, part.source)
        return True

    def _capture_blocks(self, path: str, handle: BinaryIO, lineno: int, part: _Part) -> None:
        """Capture lines a block at a time, for a stream that writes what passes in batches."""
        _feed_until_refused(
            self._blocks(path, handle, lineno),
            lambda before, block: self._capture_block(path, block, before, part),
        )

    def _capture_block(self, path: str, block: bytes, lineno: int, part: _Part) -> bool:
        """The frame lines of one block (`lineno` is the line before it); False: stop reading.

        Socket.IO and text frames are normalized and the records of their
        envelopes that pass written together (Batch), without a Frame or a
        journey through Stream.feed_frame; bad lines and headers take the
        general way (_capture_line), in order.
        """
        stream = self.stream
        batch = Batch(stream)
        loads = orjson.loads
        lines = block.split(b"\n")
        if not lines[-1]:
            lines.pop()
        start_us = part.start_us
        try:
            for number, line in enumerate(lines, lineno + 1):
                items = None
                try:
                    row = loads(line)
                    if type(row) is list:
                        offset = row[0] if row else None
                        if type(offset) is float or type(offset) is int:
                            recv_us = start_us + round(offset * 1_000_000)
                            size = len(row)
                            kind = row[1] if size > 1 else None
                            if size == 4 and kind == "sio" and type(row[2]) is str:
                                text = row[3]
                                if type(text) is str:
                                    items = normalize_paymium_event(text, row[2])
                            elif size == 3 and kind == "text":
                                text = row[2]
                                if type(text) is str:
                                    items = normalize_node_text(text, part.source)
                except Exception:  # bad JSON, or a normalizer bug the general way reports
                    items = None
                if items is None:
                    batch.flush()
                    if not self._capture_line(path, number, line, part):
                        return False
                    start_us = part.start_us
                    continue
                batch.add(format_us(recv_us), items)
        finally:  # what passed is written, whatever stops the reading
            batch.flush()
        return True

    def _replay_envelopes(
        self,
        path: str,
        head: list[tuple[int, bytes]],
        lines: Iterator[tuple[int, bytes]],
        handle: BinaryIO,
    ) -> None:
        one = self._envelope_line
        for lineno, line in head:
            one(path, lineno, line)
        unpaced = self.pacer.deadline is None and not self.options.speed
        if unpaced and not self.window.active:
            # The rest can be read a block at a time.
            self._scan_blocks(path, handle, head[-1][0] if head else 0)
            return
        for lineno, line in lines:
            one(path, lineno, line)

    def _envelope_line(self, path: str, lineno: int, line: bytes) -> None:
        """Filter and write one NDJSON line (an envelope), or report it."""
        if line[:1] == RS:
            line = line[1:]
        line = line.strip()
        if not line:
            return
        needles = self.needles
        if needles is not None and b"\\u" not in line:
            for needle in needles:
                if needle in line:
                    break
            else:
                if line[:1] != b"{" or line[-1:] != b"}":
                    self.report(path, lineno, "not a JSON object")
                return
        stream = self.stream
        try:
            # Passed through as they are, lines need no exact digits: filters
            # compare the same doubles either way (an ExactNumber is the double
            # of its text).
            if stream.terminal.plain and stream.compiled.query is None:
                envelope = orjson.loads(line)
            else:
                envelope = loads_exact(line)
        except ValueError:
            try:
                envelope = loads_exact(line)  # orjson refuses 1e400
            except ValueError as exc:
                self.report(path, lineno, f"invalid JSON ({_reason(exc)})")
                return
        if type(envelope) is not dict or type(envelope.get("event")) is not str:
            self.report(path, lineno, "not a wstail envelope or capture line")
            return
        if self.window.active:
            seq = envelope.get("seq")
            recv_us = _recv_us(envelope) or 0
            if not self.window.contains(seq if type(seq) is int else 0, recv_us):
                return
        if self.options.speed:
            self.pacer.wait(_recv_us(envelope))
        elif self.pacer.deadline is not None:
            self.pacer.wait(None)
        stream.feed_envelope(envelope, line)

    def _blocks(self, path: str, handle: BinaryIO, lineno: int) -> Iterator[tuple[int, bytes]]:
        """Whole lines a block (~1 MiB) at a time, each with the number of the line before it.

        The last line may lack its newline. A read error is reported (as the
        line after the last whole one) once the lines before it are handled.
        """
        progress = self.progress
        name = display_name(path)
        read = getattr(handle, "read1", handle.read)
        rest = b""
        while True:
            try:
                chunk = read(_BLOCK)
            except EOFError as exc:
                chunk, error = b"", str(exc) or "compressed stream is truncated"
            except CorruptStream as exc:
                chunk, error = b"", str(exc)
            except OSError as exc:
                chunk, error = b"", f"cannot read: {exc}"
            else:
                error = ""
            if chunk:
                cut = chunk.rfind(b"\n") + 1
                if not cut:
                    rest += chunk
                    continue
                block, rest = rest + chunk[:cut], chunk[cut:]
            else:
                # At the end, the last line may lack its newline; after a read
                # error it is the cut line itself: the error report stands for it.
                block, rest = (b"" if error else rest), b""
            if block:
                yield lineno, block
                count = block.count(b"\n")
                lineno += count if block[-1:] == b"\n" else count + 1
                if progress is not None:
                    progress.tick(name, handle, self.stream.passed)
            if error:
                self.report(path, lineno + 1, error)
                return
            if not chunk:
                return

    def _scan_blocks(self, path: str, handle: BinaryIO, lineno: int) -> None:
        """Read a block at a time: with needles, only lines holding one are looked at.

        A block whose every line is exactly `{...}` (no blank line, no CR, no
        RS, no \\u escape) needs no per-line work but for the lines where a
        needle occurs; any other block goes line by line. Without needles,
        every line is looked at, the plain ones inline (see _scan_block).
        """
        needles = self.needles
        one = self._envelope_line
        for before, block in self._blocks(path, handle, lineno):
            if needles is None:
                self._scan_block(path, block, before, None)
            elif (
                block[:1] == b"{"
                and block[-2:] == b"}\n"
                and block.count(b"}\n{") == block.count(b"\n") - 1  # every line is `{...}`
            ):
                spans = _lines_holding(block, needles)
                if block.find(b"\\") >= 0:  # rare: an escape might hide a needle
                    spans = sorted(set(spans + _lines_holding(block, (b"\\u",))))
                self._scan_block(path, block, before, spans)
            else:
                parts = block.split(b"\n")
                if not parts[-1]:
                    parts.pop()
                for index, line in enumerate(parts, before + 1):
                    one(path, index, line)

    def _scan_block(
        self, path: str, block: bytes, lineno: int, spans: list[tuple[int, int]] | None
    ) -> None:
        """The lines of a block at `spans` (all of them if None); `lineno` is the line before it.

        With spans, every line of the block is `{...}`.
        """
        stream = self.stream
        allows = stream.line_filter()
        # Envelopes printed again (-q, --pretty, --color) need every digit.
        exact = not (stream.terminal.plain and stream.compiled.query is None)
        if spans is None:
            lines = block.split(b"\n")
            if not lines[-1]:
                lines.pop()
            numbered = enumerate(lines, lineno + 1)
            if allows is not None:
                self._feed_plain(path, numbered, _same, allows)
                return
            risky_numbers = set()
            if exact:  # one look at the whole block finds the few lines to decode exactly
                at, number = 0, lineno + 1
                for start in sorted(_risky_line_starts(block)):
                    number += block.count(b"\n", at, start)
                    at = start
                    risky_numbers.add(number)
            self._feed_decoded(path, numbered, _same, risky_numbers)
            return
        at, at_line = 0, lineno + 1  # a line start and its number, moving forward

        def number_of(start: int) -> int:
            nonlocal at, at_line
            at_line += block.count(b"\n", at, start)
            at = start
            return at_line

        picked = ((start, block[start:end]) for start, end in spans)
        if allows is None:
            # A look of their own for the lines picked (fewer than the block's).
            self._feed_decoded(path, picked, number_of, None if exact else set())
        else:
            self._feed_plain(path, picked, number_of, allows)

    def _feed_decoded(
        self,
        path: str,
        lines: Iterable[tuple[int, bytes]],
        number_of: Callable[[int], int],
        risky_keys: set[int] | None,
    ) -> None:
        """Lines keyed by where they are, each decoded and fed as an envelope (-f, -q, styling).

        orjson decodes the lines but those in `risky_keys`, where
        `jsonexact.risky` finds a number a double may not hold: they are
        decoded exactly (all of them with None, each after a look of its
        own). Anything but a plain `{...}` envelope takes the general way
        (_envelope_line), in order, named by `number_of(key)`.
        """
        stream = self.stream
        fast = orjson.loads
        # Records that pass are written together where nothing but -n stops at one.
        batch = Batch(stream) if stream.batchable() else None
        feed = stream.feed_envelope if batch is None else batch.add_envelope
        try:
            for key, line in lines:
                if line[:1] == b"{" and line[-1:] == b"}":
                    try:
                        if risky_keys is None:
                            envelope = loads_exact(line)
                        elif key in risky_keys:
                            envelope = loads_exact(line)
                        else:
                            envelope = fast(line)
                    except ValueError:
                        envelope = None
                    if type(envelope) is dict and type(envelope.get("event")) is str:
                        feed(envelope, line)
                        continue
                if batch is not None:
                    batch.flush()
                self._envelope_line(path, number_of(key), line)
        finally:  # what passed is written, whatever stops the reading
            if batch is not None:
                batch.flush()

    def _feed_plain(
        self,
        path: str,
        lines: Iterable[tuple[int, bytes]],
        number_of: Callable[[int], int],
        allows: Callable[[str], bool],
    ) -> None:
        """Lines keyed by where they are; plain `{...}` data envelopes handled inline.

        Their event name alone decides (see Stream.line_filter); lines that
        pass are written together (one at a time with -n). Anything else
        (meta, bad JSON, no event) takes the general path, in order, named
        by `number_of(key)`.
        """
        stream = self.stream
        single = stream.options.count is not None
        passed: list[bytes] = []
        tally: dict[str, int] = {}
        loads = orjson.loads
        for key, line in lines:
            if line[:1] == b"{" and line[-1:] == b"}":
                try:
                    envelope = loads(line)
                except ValueError:
                    envelope = None
                if type(envelope) is dict:
                    event = envelope.get("event")
                    if type(event) is str and event[:5] != "meta.":
                        if not allows(event):
                            continue
                        if single:
                            stream.pass_line(event, line)
                        else:
                            passed.append(line)
                            tally[event] = tally.get(event, 0) + 1
                        continue
            if passed:
                stream.pass_lines(passed, tally)
                passed, tally = [], {}
            self._envelope_line(path, number_of(key), line)
        if passed:
            stream.pass_lines(passed, tally)


def _feed_until_refused(
    pieces: Iterator[tuple[int, bytes]], feed: Callable[[int, bytes], bool]
) -> None:
    """Feed (line number, bytes) pieces until `feed` refuses one; then read the rest unseen.

    A capture part whose next header is bad cannot be timed: nothing more of
    it is fed, but reading on still reports a truncated or corrupt file.
    """
    for number, data in pieces:
        if not feed(number, data):
            for _ in pieces:
                pass
            return


def _same(number: int) -> int:
    return number


_BLOCK = 1 << 20


def _lines_holding(block: bytes, needles: tuple[bytes, ...]) -> list[tuple[int, int]]:
    """The (start, end) of each line of `block` holding any needle, in order, each once.

    Every line of `block` ends with a newline.
    """
    spans: list[tuple[int, int]] = []
    find = block.find
    rfind = block.rfind
    for needle in needles:
        at = find(needle)
        while at >= 0:
            end = find(b"\n", at)
            spans.append((rfind(b"\n", 0, at) + 1, end))
            at = find(needle, end)
    if len(needles) > 1:
        return sorted(set(spans))
    return spans


def _risky_line_starts(block: bytes) -> set[int]:
    """Where the lines of `block` that jsonexact.risky would flag start."""
    shapes = block.translate(NUMBER_SHAPES)
    return {start for start, _ in _lines_holding(shapes, RISKY_SHAPES)}


def _recv_us(envelope: dict[str, Any]) -> int | None:
    value = envelope.get("recv_ts")
    return iso_to_us(value) if isinstance(value, str) else None


def _reason(exc: ValueError) -> str:
    text = str(exc.args[0]) if exc.args else str(exc)
    if "UTF-8" in text:  # orjson says "str is not valid UTF-8: surrogates not allowed"
        return "not UTF-8 text"
    return text.split(": line")[0]
