"""The stream every command shares: frames in, envelopes numbered, filtered, written."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from wstail.envelope import Envelope, format_us, make_envelope_at
from wstail.filters import EnvelopeFilter, EventFilter, compile_jmespath, is_truthy
from wstail.frames import Frame
from wstail.sinks import RecordWriter
from wstail.terminal import Terminal


class StreamDone(Exception):
    """The stream reached its end condition (-n, --until, --duration): exit 0."""


@dataclass(slots=True)
class StreamOptions:
    """The STREAM options of SPEC.md, as parsed from the command line."""

    events: Sequence[str] = ()
    excludes: Sequence[str] = ()
    filters: Sequence[str] = ()
    query: str | None = None
    raw_output: bool = False
    count: int | None = None
    until: str | None = None
    idle_timeout: float | None = None
    duration: float | None = None
    raw: bool = False
    meta: bool = False
    seq: bool = False


@dataclass(slots=True)
class CompiledOptions:
    """StreamOptions with every expression compiled once."""

    filter: EnvelopeFilter
    query: Callable[[Any], Any] | None
    until: Callable[[Any], Any] | None

    @classmethod
    def build(cls, options: StreamOptions) -> CompiledOptions:
        """Compile -e/-x/-f/-q/--until; a bad expression is a usage error (exit 2)."""
        predicates = [compile_jmespath(text, "--filter") for text in options.filters]
        return cls(
            filter=EnvelopeFilter(EventFilter(options.events, options.excludes), predicates),
            query=compile_jmespath(options.query, "--query") if options.query else None,
            until=compile_jmespath(options.until, "--until") if options.until else None,
        )


def describe_meta(envelope: Envelope) -> str:
    """One human line for a lifecycle envelope, for stderr."""
    event = envelope["event"]
    data = envelope.get("data") or {}
    if event == "meta.connected":
        where = data.get("url", "")
        protocol = data.get("protocol", "")
        return f"connected to {where}" + (f" ({protocol})" if protocol else "")
    if event == "meta.disconnected":
        return f"disconnected: {data.get('reason', 'unknown reason')}"
    if event == "meta.reconnecting":
        why = f" after: {data['reason']}" if data.get("reason") else ""
        return f"reconnecting (attempt {data.get('attempt')}) in {data.get('delay')}s{why}"
    if event == "meta.bad_frame":
        return f"bad frame: {data.get('reason', '')}"
    return f"{event}: {data}"


@dataclass(slots=True)
class Stream:
    """Numbers envelopes, filters them, and writes what passes.

    `seq` numbers every envelope, lifecycle ones included, before filtering:
    the same data envelope has the same number with or without --meta or -e,
    live or replayed from a capture.
    """

    options: StreamOptions
    compiled: CompiledOptions
    writer: RecordWriter
    terminal: Terminal
    meta_stderr: TextIO | None = None
    next_seq: int = 1
    passed: int = 0
    last_pass: float = field(default_factory=time.monotonic)
    counts: dict[str, int] = field(default_factory=dict)
    normalize: Callable[[Frame, str], list[Any]] | None = None
    # Whether the options leave data envelopes nothing but printing (decided once).
    simple: bool | None = None

    def feed_frame(
        self,
        frame: Frame,
        source: str,
        window: Callable[[int], bool] | None = None,
        *,
        end_batch: bool = True,
    ) -> None:
        """Normalize one frame and send its envelopes on; StreamDone at the end condition.

        With `window` (replay's --from/--to), envelopes whose seq it refuses
        are numbered but not sent on. `end_batch=False` leaves ending the
        writer's batch to the caller (a live source's batch of frames).
        """
        normalize = self.normalize
        if normalize is None:
            from wstail.normalize import normalize_frame

            normalize = self.normalize = normalize_frame
        items = normalize(frame, source)
        recv_ts = format_us(frame.recv_us)  # once for all the frame's envelopes
        if window is None and self._simple():
            # Nothing but printing (and -n) awaits data envelopes (no filter,
            # -q, --until, --raw): the short way.
            render = self.terminal.render
            write = self.writer.write
            counts = self.counts
            left = None if self.options.count is None else self.options.count - self.passed
            passed = 0
            for item_source, event, event_us, data in items:
                seq = self.next_seq
                self.next_seq = seq + 1
                envelope = {  # make_envelope_at, inline
                    "seq": seq,
                    "recv_ts": recv_ts,
                    "source": item_source,
                    "event": event,
                    "event_ts": None if event_us is None else format_us(event_us),
                    "data": data,
                }
                if event[:5] == "meta.":
                    self.feed_envelope(envelope)
                    continue
                write(render(envelope))
                counts[event] = counts.get(event, 0) + 1
                passed += 1
                if passed == left:
                    self.passed += passed
                    self.last_pass = time.monotonic()
                    raise StreamDone
            if passed:
                self.passed += passed
                self.last_pass = time.monotonic()
            if end_batch:
                self.writer.end_batch()
            return
        raw_printed = False
        for item_source, event, event_us, data in items:
            seq = self.next_seq
            self.next_seq = seq + 1
            if window is not None and not window(seq):
                continue
            envelope = make_envelope_at(seq, recv_ts, item_source, event, event_us, data)
            if self.options.raw and event[:5] != "meta.":
                if self.passes(envelope):
                    if not raw_printed:
                        self.writer.write(_raw_frame_bytes(frame))
                        raw_printed = True
                    self._after_pass(envelope)
            else:
                self.feed_envelope(envelope)
        if end_batch:
            self.writer.end_batch()

    def _simple(self) -> bool:
        simple = self.simple
        if simple is None:
            compiled = self.compiled
            simple = self.simple = (
                compiled.query is None
                and compiled.until is None
                and not self.options.raw
                and compiled.filter.is_trivial
            )
        return simple

    def feed_envelope(self, envelope: Envelope, line: bytes | None = None) -> None:
        """Filter and write one envelope (`line` is its canonical text, if known)."""
        event = envelope["event"]
        if event.startswith("meta."):
            if self.options.meta:
                self.writer.write(
                    line
                    if line is not None and self.terminal.plain
                    else self.terminal.render(envelope)
                )
            elif self.meta_stderr is not None:
                self.meta_stderr.write(f"wstail: {describe_meta(envelope)}\n")
                self.meta_stderr.flush()
            return
        if not self.passes(envelope):
            return
        self.writer.write(self.format_envelope(envelope, line))
        self._after_pass(envelope)

    def line_filter(self) -> Callable[[str], bool] | None:
        """The event-name test, when it is all that decides a data envelope's fate.

        That is when nothing but -e/-x filters and the envelope is written out
        as its own canonical line (no -q, -f, --until, --raw or styling):
        then `pass_line` may take the line, once the event passed this test.
        """
        compiled = self.compiled
        if (
            compiled.filter.predicates
            or compiled.query is not None
            or compiled.until is not None
            or self.options.raw
            or not self.terminal.plain
        ):
            return None
        return compiled.filter.events.allows

    def pass_line(self, event: str, line: bytes) -> None:
        """Write the canonical line of a data envelope that passed `line_filter`."""
        self.writer.write(line)
        self.passed += 1
        self.last_pass = time.monotonic()
        counts = self.counts
        counts[event] = counts.get(event, 0) + 1
        if self.options.count is not None and self.passed >= self.options.count:
            raise StreamDone

    def pass_lines(self, lines: list[bytes], tally: dict[str, int]) -> None:
        """Write the canonical lines of data envelopes that passed `line_filter`.

        `tally` counts them by event. Only without -n: the count would have to
        stop inside the list.
        """
        assert self.options.count is None
        self.writer.write_many(lines)
        self.passed += len(lines)
        self.last_pass = time.monotonic()
        counts = self.counts
        for event, number in tally.items():
            counts[event] = counts.get(event, 0) + number

    def batchable(self) -> bool:
        """Whether data envelopes that pass may be written in batches (pass_lines).

        That is when nothing after the filters looks at each one: no -n or
        --until to stop at it, no --raw to print its frame instead.
        """
        return self.options.count is None and self.compiled.until is None and not self.options.raw

    def passes(self, envelope: Envelope) -> bool:
        """Whether a data envelope passes -e, -x and every -f."""
        return self.compiled.filter.passes(envelope)

    def format_envelope(self, envelope: Envelope, line: bytes | None = None) -> bytes:
        """The record of a data envelope that passed: -q's result, or the envelope.

        `line` is the envelope's canonical text, if known (written as it is
        when the output is compact and colourless).
        """
        query = self.compiled.query
        if query is not None:
            result = query(envelope)
            if self.options.raw_output and isinstance(result, str):
                return result.encode("utf-8", "surrogateescape")
            return self.terminal.render(result)
        if line is not None and self.terminal.plain:
            return line
        return self.terminal.render(envelope)

    def _after_pass(self, envelope: Envelope) -> None:
        self.passed += 1
        self.last_pass = time.monotonic()
        event = envelope["event"]
        self.counts[event] = self.counts.get(event, 0) + 1
        until = self.compiled.until
        if until is not None and is_truthy(until(envelope)):
            raise StreamDone
        if self.options.count is not None and self.passed >= self.options.count:
            raise StreamDone


def _raw_frame_bytes(frame: Frame) -> bytes:
    payload = frame.payload
    if isinstance(payload, bytes):
        try:
            return payload.decode("utf-8").encode()
        except UnicodeDecodeError:
            return base64.b64encode(payload)
    return payload.encode("utf-8", "surrogateescape")
