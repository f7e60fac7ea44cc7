"""Replay timing, pure: recorded receive times in, due times out.

Two small rules chained like asciinema's player (`cap_relative_time`,
`adjust_speed`):

    cap_gaps([0, 1_000_000, 90_000_000], max_gap=5)  ->  0, 1_000_000, 6_000_000
    scale_speed([0, 1_000_000, 6_000_000], speed=2)  ->  0.0, 0.5, 3.0

`Pacer` applies both to one frame at a time, for streams that are read as
they are played (a capture served to a client, `--loop` included). No clock
here: callers add the due times to their own start time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

__all__ = ["Pacer", "cap_gaps", "scale_speed"]

_US = 1_000_000


def _cap(gap_us: int, max_gap: float | None) -> int:
    """One gap as played: never negative, at most max_gap seconds."""
    gap_us = max(gap_us, 0)
    if max_gap is not None:
        gap_us = min(gap_us, max(round(max_gap * _US), 0))
    return gap_us


def _rate(speed: float | None) -> float | None:
    """The speed factor, or None for "as fast as possible" (None, zero or negative)."""
    return None if speed is None or speed <= 0 else speed


def cap_gaps(times_us: Iterable[int], max_gap: float | None) -> Iterator[int]:
    """Virtual times (µs) where every gap longer than max_gap seconds is cut to max_gap.

    The first time is kept as it is. A time earlier than the one before it
    counts as no gap: virtual time never goes back. With max_gap None (no
    cap) sorted times come out unchanged.
    """
    virtual: int | None = None
    last = 0
    for recv in times_us:
        virtual = recv if virtual is None else virtual + _cap(recv - last, max_gap)
        last = recv
        yield virtual


def scale_speed(virtual_us: Iterable[int], speed: float | None) -> Iterator[float]:
    """Seconds after the first item at which each item is due, at `speed` times real time.

    speed 1 is real time, 10 ten times faster; None, 0 or less means as fast
    as possible: everything is due at once (0.0).
    """
    rate = _rate(speed)
    first: int | None = None
    for virtual in virtual_us:
        if first is None:
            first = virtual
        yield 0.0 if rate is None else (virtual - first) / _US / rate


class Pacer:
    """`cap_gaps` + `scale_speed` one frame at a time: `due(recv_us)` in seconds from the start.

    The first frame is due at 0. `rewind(gap)` starts another pass over the
    same times (`--loop`): the next frame is due `gap` recorded seconds
    (capped by max_gap too) after the last one, whatever its own time.
    """

    __slots__ = ("speed", "max_gap", "_virtual_us", "_last_us", "_pending_gap_us")

    def __init__(self, speed: float | None = 1.0, max_gap: float | None = None) -> None:
        self.speed = speed
        self.max_gap = max_gap
        self._virtual_us = 0  # recorded time played so far, gaps capped
        self._last_us: int | None = None  # the previous frame's recorded time
        self._pending_gap_us: int | None = None  # set by rewind()

    def __repr__(self) -> str:
        return f"Pacer(speed={self.speed!r}, max_gap={self.max_gap!r})"

    def due(self, recv_us: int) -> float:
        """Seconds after the pacer's start at which the frame received at `recv_us` is due."""
        if self._pending_gap_us is not None:
            self._virtual_us += _cap(self._pending_gap_us, self.max_gap)
            self._pending_gap_us = None
        elif self._last_us is not None:
            self._virtual_us += _cap(recv_us - self._last_us, self.max_gap)
        self._last_us = recv_us
        rate = _rate(self.speed)
        return 0.0 if rate is None else self._virtual_us / _US / rate

    def rewind(self, gap: float) -> None:
        """Start a new pass: the next frame comes `gap` recorded seconds after the last one."""
        if self._last_us is not None:
            self._pending_gap_us = max(round(gap * _US), 0)
