"""`record`'s status line on a terminal's stderr: frames, bytes, rate, part, reconnects.

One line kept at the bottom of the terminal, redrawn at most four times a
second, erased at exit. Other stderr lines (connected, disconnected,
warnings) go through `StatusStderr`, which erases the status line first, so
they never end up glued to it; the next tick draws it again below them.
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING, TextIO, cast

if TYPE_CHECKING:
    from wstail.recorder import Recorder

__all__ = ["RecordStatus", "StatusStderr", "human_bytes", "status_line"]

INTERVAL = 0.25  # seconds between redraws: at most four a second
_ERASE = "\r\x1b[K"


def human_bytes(size: int) -> str:
    """A byte count for people: `512 B`, `1.5 KiB`, `12.0 MiB`, `3.2 GiB`."""
    if size < 1024:
        return f"{size} B"
    value = float(size)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            break
    return f"{value:.1f} {unit}"


def status_line(frames: int, written: int, elapsed: float, part: str, reconnects: int) -> str:
    """The status text: `recording: 1,234 frames, 2.0 MiB, 56/s, day.jsonl.gz, 1 reconnect`."""
    rate = frames / elapsed if elapsed > 0 else 0.0
    plural = "" if frames == 1 else "s"
    line = f"recording: {frames:,} frame{plural}, {human_bytes(written)}, {rate:,.0f}/s"
    if part:
        line += f", {part}"
    if reconnects:
        line += f", {reconnects} reconnect{'' if reconnects == 1 else 's'}"
    return line


class StatusStderr:
    """stderr for the rest of the run: each write first erases the status line, if shown."""

    def __init__(self, stderr: TextIO) -> None:
        self.raw = stderr
        self.shown = False

    def write(self, text: str) -> int:
        """Write `text` where the status line was (it is drawn again at the next tick)."""
        if self.shown and text:
            self.raw.write(_ERASE)
            self.shown = False
        return self.raw.write(text)

    def flush(self) -> None:
        """Flush the terminal."""
        self.raw.flush()

    def isatty(self) -> bool:
        """A terminal, or the status line would not be shown."""
        return self.raw.isatty()

    def fileno(self) -> int:
        """The terminal's file descriptor."""
        return self.raw.fileno()


class RecordStatus:
    """The status line of one `record` run; `follow(recorder)` draws it until cancelled."""

    def __init__(self, stderr: TextIO, interval: float = INTERVAL) -> None:
        self.stderr = StatusStderr(stderr)
        self.interval = interval

    @staticmethod
    def wanted(stderr: TextIO, stdout_isatty: bool, printing: bool) -> bool:
        """On a terminal's stderr, unless envelopes (`--tee`, `-o -`) go to the same terminal."""
        try:
            return stderr.isatty() and not (printing and stdout_isatty)
        except (AttributeError, ValueError):
            return False

    @property
    def as_stderr(self) -> TextIO:
        """The stderr the run writes its other lines to."""
        return cast("TextIO", self.stderr)

    def draw(self, recorder: Recorder, elapsed: float) -> None:
        """Draw the line once, cut to the terminal's width (a wrapped line cannot be erased)."""
        part = os.path.basename(recorder.file.path) if recorder.file is not None else ""
        reconnects = max(recorder.connects - 1, 0)
        line = status_line(recorder.frames, recorder.bytes_written, elapsed, part, reconnects)
        raw = self.stderr.raw
        try:
            width = os.get_terminal_size(raw.fileno()).columns or 80  # 0: a size never set
        except (OSError, ValueError):
            width = 80
        raw.write(_ERASE + line[: max(width - 1, 1)])
        raw.flush()
        self.stderr.shown = True

    async def follow(self, recorder: Recorder) -> None:
        """Redraw every `interval` until cancelled."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        while True:
            self.draw(recorder, loop.time() - started)
            await asyncio.sleep(self.interval)

    def clear(self) -> None:
        """Erase the line (at exit, whatever ended the run)."""
        if self.stderr.shown:
            try:
                self.stderr.raw.write(_ERASE)
                self.stderr.raw.flush()
            except (OSError, ValueError):
                pass
            self.stderr.shown = False
