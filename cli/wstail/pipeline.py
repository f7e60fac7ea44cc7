"""The stream every command shares: frames in, envelopes numbered, filtered, written."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

import orjson

from wstail.envelope import Envelope, format_us, make_envelope_at
from wstail.filters import EnvelopeFilter, EventFilter, compile_jmespath, is_truthy
from wstail.frames import Frame
from wstail.jsonexact import json_default
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
        items = self.normalizer()(frame, source)
        recv_ts = format_us(frame.recv_us)  # once for all the frame's envelopes
        if window is None and self.batchable():
            batch = Batch(self)
            try:
                batch.add(recv_ts, items)
            finally:
                batch.flush()
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

    def normalizer(self) -> Callable[[Frame, str], list[Any]]:
        """The function from a frame (and source name) to its items: normalize_frame."""
        normalize = self.normalize
        if normalize is None:
            from wstail.normalize import normalize_frame

            normalize = self.normalize = normalize_frame
        return normalize

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
        """Write the records of data envelopes that passed (`tally` counts them by event).

        With -n, the caller stops at the count (see Batch): the list never goes past it.
        """
        self.writer.write_many(lines)
        self.passed += len(lines)
        self.last_pass = time.monotonic()
        counts = self.counts
        for event, number in tally.items():
            counts[event] = counts.get(event, 0) + number

    def batchable(self) -> bool:
        """Whether the records of envelopes that pass may be written in batches (Batch).

        That is when nothing after the filters looks at each envelope but -n:
        no --until to stop at it, no --raw to print its frame instead.
        """
        return self.compiled.until is None and not self.options.raw

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


class Batch:
    """The records of envelopes that pass, written together: a batch of frames, a block of lines.

    For a stream that is `batchable()`. Lifecycle envelopes go through
    Stream.feed_envelope once the records before them are written; -n ends
    the stream at its count exactly (StreamDone). Call `flush` at the end,
    whatever stops the feeding.
    """

    __slots__ = ("_allows", "_canonical", "_count", "_out", "_passes", "_stream", "_tally")

    def __init__(self, stream: Stream) -> None:
        self._stream = stream
        self._out: list[bytes] = []
        self._tally: dict[str, int] = {}
        self._count = stream.options.count
        envelope_filter = stream.compiled.filter
        # -e/-x alone decide by the event name; -f needs the envelope.
        self._allows = None if envelope_filter.events.is_trivial else envelope_filter.events.allows
        self._passes = stream.passes if envelope_filter.predicates else None
        # Compact, colourless whole envelopes: one orjson call each.
        self._canonical = stream.terminal.plain and stream.compiled.query is None

    def add(self, recv_ts: str, items: list[Any]) -> None:
        """Number one frame's items and send them on; `recv_ts` is its receive time."""
        stream = self._stream
        allows = self._allows
        passes = self._passes
        count = self._count
        out = self._out
        for item_source, event, event_us, data in items:
            seq = stream.next_seq
            stream.next_seq = seq + 1
            envelope = {  # make_envelope_at, inline
                "seq": seq,
                "recv_ts": recv_ts,
                "source": item_source,
                "event": event,
                "event_ts": None if event_us is None else format_us(event_us),
                "data": data,
            }
            if event[:5] == "meta.":
                self.flush()
                out = self._out
                stream.feed_envelope(envelope)
            elif (allows is None or allows(event)) and (passes is None or passes(envelope)):
                if self._canonical:
                    try:
                        record = orjson.dumps(envelope, default=json_default)
                    except orjson.JSONEncodeError:  # an ExactNumber too long, too deep
                        record = stream.format_envelope(envelope)
                else:
                    record = stream.format_envelope(envelope)  # -q, --pretty, --color
                out.append(record)
                tally = self._tally
                tally[event] = tally.get(event, 0) + 1
                if len(out) >= 256 or count is not None:
                    self._check(out)
                    out = self._out

    def add_envelope(self, envelope: Envelope, line: bytes) -> None:
        """Send on one envelope read back (NDJSON); `line` is its text as read."""
        event = envelope["event"]
        if event[:5] == "meta.":
            self.flush()
            self._stream.feed_envelope(envelope, line)
        elif (self._allows is None or self._allows(event)) and (
            self._passes is None or self._passes(envelope)
        ):
            if not self._canonical:
                line = self._stream.format_envelope(envelope, line)
            out = self._out
            out.append(line)
            tally = self._tally
            tally[event] = tally.get(event, 0) + 1
            if len(out) >= 256 or self._count is not None:
                self._check(out)

    def _check(self, out: list[bytes]) -> None:
        """After a record is kept: stop at -n's count; hand every 256 records on."""
        count = self._count
        if count is not None and self._stream.passed + len(out) >= count:
            self.flush()
            raise StreamDone
        if len(out) >= 256:  # orjson's bytes keep a 4 KiB buffer each until joined
            self.flush()

    def flush(self) -> None:
        """Write the records kept so far."""
        if self._out:
            self._stream.pass_lines(self._out, self._tally)
            self._out = []
            self._tally = {}
