"""--from and --to: which envelopes a replay prints, by receive time or sequence number."""

from __future__ import annotations

from dataclasses import dataclass

from wstail.envelope import iso_to_us
from wstail.exitcodes import UsageError


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
