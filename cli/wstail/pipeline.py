"""The stream every command shares: items in, envelopes numbered, filtered, written.

One route out: `Stream.feed_frames` (frames' normalized items, numbered
here) and `Stream.feed_envelopes` (envelopes read back from NDJSON, a block
at a time) both go through one loop (`_send_on`) to the same record list, handed to the
writer every 256 records and at `end_batch`. Numbering, the --from/--to
window, counters, -n, --until and --stats live here and nowhere else.
What varies with the options (how a record is made, which filters run) is
chosen once, when the stream is built.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import orjson

from wstail.envelope import Envelope, format_new_us, format_us, iso_to_us
from wstail.filters import (
    EnvelopeFilter,
    EventFilter,
    compile_jmespath,
    is_truthy,
    stream_warnings,
)
from wstail.jsonexact import json_default
from wstail.rows import TableKind, table_row
from wstail.sinks import RecordWriter
from wstail.terminal import Terminal

# Records handed to the writer at once, at most: orjson's bytes keep a 4 KiB
# buffer each until joined, so a long list of short records costs memory.
_HAND_OVER = 256


class StreamDone(Exception):
    """The stream reached its end condition (-n, --until, --duration): exit 0."""


@dataclass(slots=True)
class StreamOptions:
    """The stream options (filters, output, stop conditions), as parsed from the command line."""

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
    table: TableKind | None = None  # --tsv/--csv: -q's result as a row


@dataclass(slots=True)
class CompiledOptions:
    """StreamOptions with every expression compiled once."""

    filter: EnvelopeFilter
    query: Callable[[Any], Any] | None
    until: Callable[[Any], Any] | None
    warnings: Sequence[str] = ()

    @classmethod
    def build(cls, options: StreamOptions) -> CompiledOptions:
        """Compile -e/-x/-f/-q/--until; a bad expression is a usage error (exit 2).

        `warnings` holds what compiles but likely matches nothing, for stderr.
        """
        predicates = [compile_jmespath(text, "--filter") for text in options.filters]
        events = EventFilter(options.events, options.excludes)
        expressions = [("--filter", text) for text in options.filters]
        if options.query:
            expressions.append(("--query", options.query))
        if options.until:
            expressions.append(("--until", options.until))
        return cls(
            filter=EnvelopeFilter(events, predicates),
            query=compile_jmespath(options.query, "--query") if options.query else None,
            until=compile_jmespath(options.until, "--until") if options.until else None,
            warnings=stream_warnings(events.include, events.exclude, expressions),
        )


def describe_meta(envelope: Envelope) -> str:
    """One human line for a lifecycle envelope, for stderr."""
    event = envelope["event"]
    data = envelope.get("data") or {}
    if event == "meta.connected":
        where = data.get("url", "")
        protocol = data.get("protocol", "")
        if protocol and data.get("transport") == "polling":
            protocol += ", long-polling"
        return f"connected to {where}" + (f" ({protocol})" if protocol else "")
    if event == "meta.disconnected":
        return f"disconnected: {data.get('reason', 'unknown reason')}"
    if event == "meta.reconnecting":
        why = f" after: {data['reason']}" if data.get("reason") else ""
        return f"reconnecting (attempt {data.get('attempt')}) in {data.get('delay')}s{why}"
    if event == "meta.bad_frame":
        return f"bad frame: {data.get('reason', '')}"
    return f"{event}: {data}"


FrameItems = tuple[Iterable[Any], int, "str | bytes | None"]
"""One frame for the stream: its normalized items, receive time (µs) and payload."""

Window = Callable[[int, int], bool]
"""Replay's --from/--to: (seq, recv_us) -> inside?"""


class Stream:
    """Numbers envelopes, filters them, and writes what passes.

    `seq` numbers every envelope, lifecycle ones included, before filtering:
    the same data envelope has the same number with or without --meta or -e,
    live or replayed from a capture. With --meta, lifecycle envelopes take
    the filters and -q like any other but are never counted (-n, --until,
    --stats, --idle-timeout); without it, live, each is a line on stderr.
    Call `close` at the end, whatever ends the feeding: it writes the
    records still held.
    """

    __slots__ = (
        "options",
        "compiled",
        "writer",
        "terminal",
        "meta_stderr",
        "passed",
        "last_pass",
        "counts",
        "_seq",
        "_window",
        "_out",
        "_handed",
        "_allows",
        "_passes",
        "_record",
        "_after",
        "_tally",
    )

    def __init__(
        self,
        options: StreamOptions,
        compiled: CompiledOptions,
        writer: RecordWriter,
        terminal: Terminal,
        meta_stderr: TextIO | None = None,
        window: Window | None = None,
        tally: bool = True,
    ) -> None:
        self.options = options
        self.compiled = compiled
        self.writer = writer
        self.terminal = terminal
        self.meta_stderr = meta_stderr
        self.passed = 0  # data envelopes that passed the filters
        self.last_pass = time.monotonic()  # when the latest of them was handed on
        self.counts: dict[str, int] = {}  # --stats: passes by event name (with `tally`)
        self._tally = tally
        self._seq = 1
        self._window = window
        self._out: list[bytes] = []
        self._handed = 0  # `passed` at the last hand-over
        events = compiled.filter.events
        # -e/-x decide by the event name before any -f looks at the envelope.
        self._allows = None if events.is_trivial else events.allows
        self._passes = self._predicates if compiled.filter.predicates else None
        # Compact, colourless whole envelopes: one orjson call each.
        plain = terminal.plain and compiled.query is None
        self._record: Callable[[Envelope], bytes] = (
            _canonical_record if plain else self.format_envelope
        )
        # -n and --until: looked at after every pass, when given.
        self._after: Callable[[Envelope], None] | None = (
            self._check_end if options.count is not None or compiled.until is not None else None
        )

    @property
    def next_seq(self) -> int:
        """The number the next envelope gets (a recorder starts a part's first_seq there)."""
        return self._seq

    def number_from(self, first_seq: int) -> None:
        """Number the next envelopes from `first_seq` (a capture header says where)."""
        self._seq = first_seq

    @property
    def windowed(self) -> bool:
        """Whether --from/--to leave some envelopes out."""
        return self._window is not None

    def inside(self, seq: int, recv_us: int) -> bool:
        """Whether an envelope numbered `seq`, received at `recv_us`, is inside --from/--to."""
        return self._window is None or self._window(seq, recv_us)

    @property
    def prints_envelopes_again(self) -> bool:
        """Whether envelopes read back are printed anew (-q, styling), so need every digit."""
        return not (self.terminal.plain and self.compiled.query is None)

    def feed(self, items: Iterable[Any], recv_us: int, raw: str | bytes | None = None) -> None:
        """Number one frame's items and send them on (see feed_frames)."""
        self.feed_frames(((items, recv_us, raw),))

    def feed_frames(
        self, frames: Iterable[Any], other: Callable[[Any], None] | None = None
    ) -> None:
        """Number frames' (source, event, event_us, data) items and send them on.

        Each frame (a FrameItems tuple) comes with its receive time (µs) and
        its payload as received, printed instead of its envelopes with --raw
        (once, if any of them passes). Anything else among `frames` (a
        reader's bad line, a next part) goes to `other`, in its place, with
        everything before it written. StreamDone at -n or --until,
        `next_seq` then right after the envelope that ended it.
        """
        self._send_on(frames, other)

    def feed_envelopes(
        self, batches: Iterable[Any], other: Callable[[Any], None] | None = None
    ) -> None:
        """Filter and send on envelopes read back: lists of (envelope, line) pairs.

        `line` is the envelope's canonical text if known (else None). They
        keep their own `seq`. Anything but a list among `batches` (a reader's
        bad line) goes to `other`, in its place, with everything before it
        written. StreamDone at -n or --until.
        """
        self._send_on(
            ((batch, None, None) if type(batch) is list else batch for batch in batches), other
        )

    def _send_on(self, frames: Iterable[Any], other: Callable[[Any], None] | None) -> None:
        """The one loop every envelope takes: numbering, window, filters, record, counters, end.

        `frames` are FrameItems, or (pairs, None, None) for envelopes read
        back (a receive time of None says so): their items are (envelope,
        line) pairs, numbered already. Anything else goes to `other`. Written
        out flat on purpose: the loop runs once per envelope, no helper calls.
        """
        window = self._window
        allows = self._allows
        passes = self._passes
        record = self._record
        canonical = record is _canonical_record  # compact, colourless whole envelopes
        raw_mode = self.options.raw
        meta = self.options.meta
        after = self._after
        out = self._out
        counts = self.counts if self._tally else None
        number = self._seq
        passed = self.passed
        last_us = None  # the receive time of the frame before, and its text
        recv_ts = ""
        try:
            for frame in frames:
                if type(frame) is not tuple:
                    self._seq = number
                    self.passed = passed
                    self._hand_over()
                    if other is None:
                        raise TypeError(f"not an entry of the stream: {frame!r}")
                    other(frame)  # may number from elsewhere (a next part)
                    out = self._out
                    number = self._seq
                    continue
                items, recv_us, raw = frame
                numbered = recv_us is not None
                if numbered and recv_us != last_us:  # once for all the frame's envelopes,
                    recv_ts = format_new_us(recv_us)  # and the frames of one read
                    last_us = recv_us
                for item in items:
                    if numbered:
                        source, event, event_us, data = item
                        seq = number
                        number += 1
                        if window is not None and not window(seq, recv_us):
                            continue
                        envelope = {  # envelope.make_envelope_at, inline: once per envelope
                            "seq": seq,
                            "recv_ts": recv_ts,
                            "source": source,
                            "event": event,
                            "event_ts": None if event_us is None else format_us(event_us),
                            "data": data,
                        }
                        line = None
                    else:
                        envelope, line = item
                        event = envelope["event"]
                        if window is not None and not _inside_as_read(window, envelope):
                            continue
                    lifecycle = event[:5] == "meta."
                    if lifecycle and not meta:
                        self._describe(envelope)
                        continue
                    if (allows is not None and not allows(event)) or (
                        passes is not None and not passes(envelope)
                    ):
                        continue
                    if lifecycle:  # asked for with --meta: printed, never counted
                        out.append(self.format_envelope(envelope, line))
                        continue
                    if line is not None:
                        out.append(line if canonical else self.format_envelope(envelope, line))
                    elif raw_mode and numbered:
                        if raw is not None:
                            out.append(raw_frame_bytes(raw))
                            raw = None  # a frame is printed once, however many envelopes pass
                    elif canonical:
                        try:
                            out.append(orjson.dumps(envelope, default=json_default))
                        except orjson.JSONEncodeError:  # an ExactNumber too long, too deep
                            out.append(_canonical_record(envelope))
                    else:
                        out.append(record(envelope))
                    passed += 1
                    if counts is not None:
                        counts[event] = counts.get(event, 0) + 1
                    if after is not None:
                        self.passed = passed
                        self._seq = number
                        after(envelope)
                    if len(out) >= _HAND_OVER:
                        self.passed = passed
                        self._hand_over()
                        out = self._out
                self._seq = number  # a recorder asks between frames where the next starts
        finally:
            self._seq = number
            self.passed = passed

    def put_records(self, records: list[bytes], passed: int, counts: dict[str, int]) -> None:
        """Records another stream of these options made (replay -j's workers), in order.

        `passed` data envelopes passed among them, `counts` by event name.
        """
        self._hand_over()
        self.writer.write_many(records)
        self.passed += passed
        if self._tally:
            for event, count in counts.items():
                self.counts[event] = self.counts.get(event, 0) + count
        self._hand_over()

    @property
    def holding(self) -> bool:
        """Whether envelopes passed since the last hand-over to the writer."""
        return self.passed != self._handed

    def end_batch(self) -> None:
        """A batch of frames is done: hand its records to the writer, which may flush."""
        self._hand_over()
        self.writer.end_batch()

    def flush(self) -> None:
        """Write everything held, through to the output (before a stderr line, a sleep)."""
        self._hand_over()
        self.writer.flush()

    def close(self) -> None:
        """The end, whatever caused it: everything held is written."""
        self.flush()

    def format_envelope(self, envelope: Envelope, line: bytes | None = None) -> bytes:
        """The record of an envelope that passed: -q's result (a row with --tsv/--csv), or it.

        `line` is the envelope's canonical text, if known (written as it is
        when the output is compact and colourless).
        """
        query = self.compiled.query
        if query is not None:
            result = query(envelope)
            table = self.options.table
            if table is not None:
                return table_row(result, table)
            if self.options.raw_output and isinstance(result, str):
                return result.encode("utf-8", "surrogateescape")
            return self.terminal.render(result)
        if line is not None and self.terminal.plain:
            return line
        return self.terminal.render(envelope)

    def _predicates(self, envelope: Envelope) -> bool:
        for predicate in self.compiled.filter.predicates:
            if not is_truthy(predicate(envelope)):
                return False
        return True

    def _describe(self, envelope: Envelope) -> None:
        """A lifecycle envelope without --meta: one line on stderr (live), else nothing."""
        if self.meta_stderr is not None:
            self.meta_stderr.write(f"wstail: {describe_meta(envelope)}\n")
            self.meta_stderr.flush()

    def _check_end(self, envelope: Envelope) -> None:
        """After a pass: StreamDone at -n's count or when --until holds."""
        until = self.compiled.until
        count = self.options.count
        if (until is not None and is_truthy(until(envelope))) or (
            count is not None and self.passed >= count
        ):
            raise StreamDone

    def _hand_over(self) -> None:
        out = self._out
        if out:
            self._out = []
            self.writer.write_many(out)
        if self.passed != self._handed:
            self._handed = self.passed
            self.last_pass = time.monotonic()


def _inside_as_read(window: Window, envelope: Envelope) -> bool:
    """Whether an envelope read back is inside the window, by its own seq and receive time."""
    seq = envelope.get("seq")
    recv_ts = envelope.get("recv_ts")
    recv_us = iso_to_us(recv_ts) if type(recv_ts) is str else None
    return window(seq if type(seq) is int else 0, recv_us or 0)


def _canonical_record(envelope: Envelope) -> bytes:
    """An envelope's compact JSON (exactly, for the rare number orjson cannot write)."""
    try:
        return orjson.dumps(envelope, default=json_default)
    except orjson.JSONEncodeError:  # an ExactNumber too long, too deep
        from wstail.jsonexact import dumps

        return dumps(envelope)


def raw_frame_bytes(payload: str | bytes) -> bytes:
    """A frame's payload as printed by --raw: its text, or base64 when not UTF-8."""
    if isinstance(payload, bytes):
        try:
            return payload.decode("utf-8").encode()
        except UnicodeDecodeError:
            return base64.b64encode(payload)
    return payload.encode("utf-8", "surrogateescape")
