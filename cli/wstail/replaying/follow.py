"""`replay --follow FILE|DIR`: a capture printed as it is written, like `tail -F`.

What the file holds is printed first (from --from), then each line as
`record` writes it: the file is looked at every POLL_S seconds (a stat; no
CPU to speak of while nothing comes), its new whole lines read through
growing.py and fed to the stream as replay feeds a block, then written
through. A directory is followed part after part (parts.py's header order):
the parts already finished are replayed whole, the newest followed, and
when a newer part's header appears the one followed is read to its end and
the newer one followed. A FILE that is replaced (a new file under its name)
or truncated is followed again from its start; the next part of a FILE
whose `record` rotates is not looked for (follow the directory). The end:
-n, --until, --duration, --to (the first frame past it), --idle-timeout
(exit 124) or Ctrl-C (exit 130).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from wstail.capture import is_header
from wstail.exitcodes import BadInputError, IdleTimeout, Interrupted
from wstail.inputs import open_input
from wstail.pipeline import StreamDone
from wstail.words import counted

from .blocks import ReadFailure, decoded, excerpt, first_line, is_envelope
from .captures import Part, capture_entries
from .driver import SHOWN_BAD_LINES, NotReplayable, Replayer
from .growing import GrowingFile
from .ndjson import envelope_entry
from .parts import Probe, SortKey, listed, probe

POLL_S = 0.1
"""Seconds between looks at a file that has nothing new (well within the 250 ms promised)."""


@dataclass(slots=True)
class Followed:
    """The file being followed and how its lines are read."""

    path: str
    growing: GrowingFile
    part: Part | None = None  # a capture's, once its header is read
    ndjson: bool = False  # wstail's NDJSON output, followed too
    started: bool = False  # its first line was read
    dead: bool = False  # a bad header or corrupt data: nothing more is read from it


class Follower(Replayer):
    """Replays one FILE or DIR, then what is written to it, until an end condition."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.progress = None  # no progress line: there is no end to show the way to
        self.paced = bool(self.options.speed)  # --duration is looked at between reads
        self.last_us: int | None = None  # the receive time of the latest frame read

    def follow(self, path: str) -> None:
        """Replay `path` (a capture, NDJSON or a directory of parts) and follow it.

        SIGINT, SIGTERM and SIGHUP end it with exit 130, as they end `tail`.
        """
        previous = {signum: signal.signal(signum, _interrupt) for signum in _SIGNALS}
        try:
            if os.path.isdir(path):
                self._follow_directory(path)
            else:
                self._follow_file(path)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            self.stream.flush()

    def _follow_file(self, path: str) -> None:
        followed = self._wait_for(path)
        while True:
            if self._take(followed):
                continue
            self._idle()
            change = _changed(followed)
            if change:
                while self._take(followed):  # what the old file still had
                    pass
                self._close(followed)
                self._say(f"{path} was {change}: following it from its start")
                followed = self._wait_for(path)
                continue
            self._pause()

    def _follow_directory(self, directory: str) -> None:
        watch = PartsWatch(directory, self._say)
        followed: Followed | None = None
        key: SortKey | None = None
        while True:
            newer = watch.newer(key)
            if newer:
                if followed is not None:
                    self._finish(followed)  # its writer has moved on: read to its end
                for finished in newer[:-1]:
                    self._replay_whole(finished.path)
                key = newer[-1].key
                followed = self._open(newer[-1].path)
                if followed is None:
                    continue
            if followed is not None and self._take(followed):
                continue
            self._idle()
            self._pause()

    def _wait_for(self, path: str) -> Followed:
        """The file opened, once it exists (said once on stderr while it does not)."""
        said = False
        while True:
            try:
                return self._opened(path)
            except FileNotFoundError:
                if not said:
                    said = True
                    self._say(f"{path} does not exist (yet): waiting for it")
            except OSError as exc:
                raise BadInputError(f"cannot read {path}: {exc.strerror or exc}") from None
            self._idle()
            self._pause()

    def _open(self, path: str) -> Followed | None:
        """A directory's part opened; None (said) if it cannot be."""
        try:
            return self._opened(path)
        except OSError as exc:
            self._say(f"cannot read {path}: {exc.strerror or exc}")
            return None

    def _opened(self, path: str) -> Followed:
        self._file_bad_lines = 0
        return Followed(path, GrowingFile(path))

    def _replay_whole(self, path: str) -> None:
        """A finished part, replayed as replay reads any file."""
        try:
            handle = open_input(path)
        except BadInputError as exc:
            self._say(exc.message)
            return
        try:
            self.replay_file(path, handle)
        except NotReplayable as exc:
            self._say(exc.message)
        finally:
            handle.close()
        self._check_ends()

    def _take(self, followed: Followed, final: bool = False) -> bool:
        """Feed the lines written since the last look; whether there were any."""
        try:
            before, block = followed.growing.read(final)
        except ReadFailure as failure:
            if not followed.dead:
                self.report(followed.path, failure.lineno, failure.reason, always=True)
            followed.dead = True
            return False
        if not block:
            return False
        if not followed.dead:
            self._feed_block(followed, before, block)
            self.stream.flush()
            self._check_ends()
        return True

    def _feed_block(self, followed: Followed, before: int, block: bytes) -> None:
        path = followed.path
        blocks: Iterator[tuple[int, bytes]] = iter(((before, block),))
        if not followed.started:
            head = first_line(blocks)
            if head is None:
                return
            followed.started = True
            number, line, blocks = head
            first = decoded(line)
            if is_header(first):
                followed.part = self.begin_capture(path, number, first)
                followed.dead = followed.part is None
            elif is_envelope(first):
                followed.ndjson = True
                entry = envelope_entry(number, line, self.needles, self._exact)
                if entry is not None:
                    self._feed_envelopes(path, iter(([entry] if type(entry) is tuple else entry,)))
            else:
                raise NotReplayable(
                    f"{path}: not a wstail capture or NDJSON: first line {excerpt(line)}"
                )
        if followed.dead:
            return
        if followed.ndjson:
            self._feed_envelopes(path, self._envelopes(blocks))
            return
        assert followed.part is not None
        entries = capture_entries(
            blocks, followed.part, short=self.options.short_ways, paths=self.fast_paths
        )
        self._feed_frames(path, self._timed(entries) if self._ends_by_time else entries)

    @property
    def _ends_by_time(self) -> bool:
        window = self.options.window
        return window is not None and window.end is not None and window.end.kind != "seq"

    def _timed(self, entries: Iterator[Any]) -> Iterator[Any]:
        """The entries, the latest frame's receive time kept (--to TIME ends a follow)."""
        for entry in entries:
            if type(entry) is tuple:
                self.last_us = entry[1]
            yield entry

    def _finish(self, followed: Followed) -> None:
        """A part whose writer has moved on: read to its end (its last bytes are data now)."""
        while self._take(followed, final=True):
            pass
        self._close(followed)

    def _close(self, followed: Followed) -> None:
        followed.growing.close()
        hidden = self._file_bad_lines - SHOWN_BAD_LINES
        if hidden > 0:
            self._say(f"... and {counted(hidden, 'more bad line')} in {followed.path}")

    def _check_ends(self) -> None:
        """StreamDone past --duration or --to; IdleTimeout past --idle-timeout."""
        now = time.monotonic()
        deadline = self.timer.deadline
        if deadline is not None and now >= deadline:
            raise StreamDone
        idle = self.stream.options.idle_timeout
        if idle is not None and now - self.stream.last_pass >= idle:
            raise IdleTimeout(f"no envelope passed the filters for {idle:g}s")
        window = self.options.window
        end = None if window is None else window.end
        if end is None:
            return
        if end.kind == "seq":
            if self.stream.next_seq >= end.value:
                raise StreamDone
        elif end.kind == "time" and self.last_us is not None and self.last_us >= end.value:
            raise StreamDone

    def _idle(self) -> None:
        """Nothing new: what is held is written, and the end conditions looked at."""
        self.stream.flush()
        self._check_ends()

    def _pause(self) -> None:
        """Sleep until the next look (or the --duration or --idle-timeout end, if sooner)."""
        now = time.monotonic()
        pause = POLL_S
        deadline = self.timer.deadline
        if deadline is not None:
            pause = min(pause, deadline - now)
        idle = self.stream.options.idle_timeout
        if idle is not None:
            pause = min(pause, self.stream.last_pass + idle - now)
        time.sleep(max(pause, 0.001))


class PartsWatch:
    """A directory's captures as they appear, handed out in header order, each once."""

    def __init__(self, directory: str, say: Any) -> None:
        self.directory = directory
        self.say = say
        self.changed_ns: int | None = None  # the directory's mtime at the last listing
        self.known: dict[str, Probe | None] = {}  # probed for good (None: passed over)
        self.waiting: dict[str, int] = {}  # no whole first line yet: path -> size when probed
        self.found: list[Probe] = []  # captures not handed out yet

    def newer(self, key: SortKey | None) -> list[Probe]:
        """The captures after `key` (all, if None) not handed out yet, in header order."""
        try:
            changed = os.stat(self.directory).st_mtime_ns
        except OSError as exc:
            raise BadInputError(f"cannot read {self.directory}: {exc.strerror or exc}") from None
        if changed != self.changed_ns:
            self.changed_ns = changed
            for path in listed(self.directory):
                if path not in self.known and path not in self.waiting:
                    self.waiting[path] = -1
        for path, size in list(self.waiting.items()):
            self._look(path, size)
        if not self.found:
            return []
        handed = sorted(
            (found for found in self.found if key is None or (found.key or key) > key),
            key=lambda found: found.key or (0, 0, ""),
        )
        for late in self.found:
            if late not in handed:
                self.say(f"{late.path}: a part older than the one followed, passed over")
        self.found = []
        return handed

    def _look(self, path: str, size: int) -> None:
        """Probe a file that had no whole first line, if it has grown."""
        try:
            now = os.stat(path).st_size
        except OSError:
            del self.waiting[path]  # gone
            return
        if now == size:
            return
        found = probe(path, final=False)
        if found.waiting:
            self.waiting[path] = now
            return
        del self.waiting[path]
        self.known[path] = found if found.capture else None
        if found.capture:
            self.found.append(found)
        elif found.skip or found.broken:
            self.say(found.skip or f"{path}: {found.broken}, passed over")


_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _interrupt(signum: int, frame: object) -> None:
    raise Interrupted("interrupted")


def _changed(followed: Followed) -> str:
    """How the followed FILE's name changed: "replaced", "truncated", or "" (still it)."""
    try:
        status = os.stat(followed.path)
    except OSError:
        return ""  # removed (for now): what was open is still read
    if (status.st_dev, status.st_ino) != followed.growing.identity:
        return "replaced"
    if status.st_size < followed.growing.offset:
        return "truncated"
    return ""


__all__ = ["Follower"]
