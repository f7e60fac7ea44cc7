"""Progress of long replays on a terminal's stderr; never on stdout.

The line is erased whatever ends the replay (Ctrl-C, a closed pipe) and, at
its end, replaced by a one-line summary: envelopes, time, rate.
"""

from __future__ import annotations

import os
import time
from typing import BinaryIO, TextIO


class Progress:
    """Draws `FILE: N events, R/s, P%` on one stderr line, at most twice a second."""

    def __init__(self, stderr: TextIO, interval: float = 0.5) -> None:
        self.stderr = stderr
        self.interval = interval
        self.started = time.monotonic()
        self.last_draw = self.started - interval  # the first tick draws at once
        self.drawn = False

    @staticmethod
    def wanted(stderr: TextIO, stdout_isatty: bool) -> bool:
        """Only when stderr is a terminal and stdout is not (so lines never interleave)."""
        try:
            return stderr.isatty() and not stdout_isatty
        except (AttributeError, ValueError):
            return False

    def tick(self, name: str, handle: BinaryIO, events: int) -> None:
        """Redraw if the interval has passed."""
        now = time.monotonic()
        if now - self.last_draw < self.interval:
            return
        self.last_draw = now
        rate = events / max(now - self.started, 1e-9)
        where = _position(handle)
        self.stderr.write(
            f"\r\x1b[K{name}: {events:,} event{'' if events == 1 else 's'}, {rate:,.0f}/s"
            + (f", {where}" if where else "")
        )
        self.stderr.flush()
        self.drawn = True

    def finish(self, events: int) -> None:
        """Replace the line by the summary: `replayed 1,234 envelopes in 2.1 s, 588/s`."""
        elapsed = time.monotonic() - self.started
        self.stderr.write(f"\r\x1b[K{summary(events, elapsed)}\n")
        self.stderr.flush()
        self.drawn = False

    def clear(self) -> None:
        """Erase the progress line."""
        if self.drawn:
            self.stderr.write("\r\x1b[K")
            self.stderr.flush()
            self.drawn = False


def summary(events: int, elapsed: float) -> str:
    """The line a replay ends with on a terminal."""
    rate = events / elapsed if elapsed > 0 else 0.0
    noun = "envelope" if events == 1 else "envelopes"
    return f"wstail: replayed {events:,} {noun} in {elapsed:.1f} s, {rate:,.0f}/s"


def _position(handle: BinaryIO) -> str:
    # The file descriptor's offset is how far the raw (maybe compressed) file
    # has been read, whatever decompressing and buffering sit above it.
    try:
        fd = handle.fileno()
        size = os.fstat(fd).st_size
        offset = os.lseek(fd, 0, os.SEEK_CUR)
    except (OSError, ValueError, AttributeError):
        return ""
    if size <= 0:
        return ""
    return f"{min(100.0, 100.0 * offset / size):.0f}%"
