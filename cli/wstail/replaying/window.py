"""--from and --to: which envelopes a replay prints, by receive time or sequence number.

A bound is a time (RFC 3339 with an offset; a date alone is its midnight
UTC, a date-time without an offset is UTC), `seq:N`, or `+DURATION` after
the capture's start: the first capture's header start, or for NDJSON the
first envelope's recv_ts. A `+DURATION` bound becomes a time once that
start is known (`Window.anchor`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from wstail.envelope import iso_to_us
from wstail.exitcodes import UsageError

_TIME = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})"
    r"(?:[Tt ](?P<clock>[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)"
    r"(?P<offset>[Zz]|[+-][0-9]{2}:[0-9]{2})?)?"
)
_DURATION = re.compile(r"\+((?:[0-9]+(?:\.[0-9]+)?[dhms])+)")
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)([dhms])")
_UNIT_US = {"d": 86_400_000_000, "h": 3_600_000_000, "m": 60_000_000, "s": 1_000_000}
_EXPECTED = (
    "expected an RFC 3339 time (2026-11-23T10:00:00Z; a date or a time without offset is "
    "UTC), +DURATION after the capture's start (+90s, +1h30m) or seq:N"
)


@dataclass(frozen=True, slots=True)
class Bound:
    """One end of --from/--to: a receive time (µs), a sequence number, or an offset (µs)."""

    kind: str  # "time" | "seq" | "offset" (after the capture's start)
    value: int
    text: str = field(default="", compare=False)  # as given, for messages

    @classmethod
    def parse(cls, text: str, option: str) -> Bound:
        """Read `seq:N`, `+DURATION` or a time; a bad one is a usage error naming `option`."""
        if text.startswith("seq:"):
            number = text[4:]
            if number.isascii() and number.isdigit():
                return cls("seq", int(number), text)
            raise UsageError(f"{option} {text!r}: seq:N needs a whole number")
        if text.startswith("+"):
            us = duration_us(text)
            if us is None:
                raise UsageError(
                    f"{option} {text!r}: +DURATION is numbers with units d, h, m, s "
                    "(+90s, +1h30m, +1.5s)"
                )
            return cls("offset", us, text)
        us = time_us(text)
        if us is None:
            raise UsageError(f"{option} {text!r}: {_EXPECTED}")
        return cls("time", us, text)

    def resolved(self, start_us: int) -> Bound:
        """This bound with an offset made a time after `start_us`."""
        if self.kind != "offset":
            return self
        return Bound("time", start_us + self.value, self.text)


def time_us(text: str) -> int | None:
    """µs of an RFC 3339 time, a date (midnight UTC) or a date-time without offset (UTC)."""
    match = _TIME.fullmatch(text.strip())
    if match is None:
        return None
    date, clock, offset = match.group("date", "clock", "offset")
    if clock is None:
        return iso_to_us(f"{date}T00:00:00Z")
    return iso_to_us(f"{date}T{clock}{offset or 'Z'}")


def duration_us(text: str) -> int | None:
    """µs of `+1h30m`, `+90s`, `+2d`, `+1.5s` (units d, h, m, s, in any order); None if not one."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        return None
    total = 0.0
    for number, unit in _DURATION_PART.findall(match.group(1)):
        total += float(number) * _UNIT_US[unit]
    return round(total)


def check_order(start: Bound | None, end: Bound | None) -> None:
    """UsageError when --from is later than --to (both of one kind: times, seqs or offsets)."""
    if start is None or end is None or start.kind != end.kind or start.value <= end.value:
        return
    raise UsageError(f"--from {start.text} is later than --to {end.text}: nothing to replay")


class Window:
    """--from (inclusive) and --to (exclusive) over envelopes."""

    def __init__(self, start: Bound | None, end: Bound | None) -> None:
        check_order(start, end)
        self.start = start
        self.end = end
        self.active = start is not None or end is not None
        # A +DURATION bound waits for the capture's start (`anchor`), or for the
        # first receive time seen, whichever comes first.
        self.waiting = any(bound is not None and bound.kind == "offset" for bound in (start, end))

    def anchor(self, start_us: int) -> None:
        """The capture's start is known: +DURATION bounds become times (once, the first)."""
        if not self.waiting:
            return
        self.waiting = False
        self.start = self.start and self.start.resolved(start_us)
        self.end = self.end and self.end.resolved(start_us)
        check_order(self.start, self.end)

    def contains(self, seq: int, recv_us: int) -> bool:
        """Whether an envelope with this seq and receive time is inside."""
        if self.waiting and recv_us:
            self.anchor(recv_us)  # NDJSON: the first envelope's recv_ts is the start
        for bound, inside_if_after in ((self.start, True), (self.end, False)):
            if bound is None:
                continue
            if bound.kind == "seq":
                value = seq
            elif bound.kind == "time":
                value = recv_us
            else:  # an offset no start anchored (no envelope had a receive time): none is inside
                return False
            if (value >= bound.value) != inside_if_after:
                return False
        return True
