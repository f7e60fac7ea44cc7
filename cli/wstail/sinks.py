"""Where envelopes go: stdout (one writer owns flushing and broken pipes) and files."""

from __future__ import annotations

import errno
import io
import os
import sys
import time
from collections.abc import Callable
from typing import BinaryIO, Protocol, TextIO

from wstail.exitcodes import output_failed

RS = b"\x1e"


class RecordWriter(Protocol):
    """What the stream writes records to."""

    def write_many(self, records: list[bytes]) -> None:
        """Queue several records, in order."""

    def end_batch(self) -> None:
        """End of one batch of frames' records."""

    def flush(self) -> None:
        """Hand everything queued on."""

    def on_failure(self, callback: Callable[[], None] | None) -> None:
        """Have `callback` called, from any thread, when the output fails between calls."""


class NullWriter:
    """Where records go when only counted (record without --tee)."""

    def write_many(self, records: list[bytes]) -> None:
        """Drop the records."""

    def end_batch(self) -> None:
        """Nothing to hand on."""

    def flush(self) -> None:
        """Nothing to flush."""

    def on_failure(self, callback: Callable[[], None] | None) -> None:
        """Nothing to watch: a failure is raised by the call that meets it."""


class StdoutClosed(Exception):
    """The reader closed the pipe (`| head -1`): stop quietly, exit 0."""


class OutputWriter:
    """Writes records to a binary stream; in blocks, or flushed per batch."""

    def __init__(
        self, stream: BinaryIO | None = None, *, block: bool = True, rs: bool = False
    ) -> None:
        self._stream = stream if stream is not None else buffered_stdout()
        self._block = block
        self._prefix = RS if rs else b""
        self._parts: list[bytes] = []
        self._size = 0

    def write_many(self, records: list[bytes]) -> None:
        """Queue several records, in order, as one part (the list is the writer's now)."""
        if not records:
            return
        data = records_text(records, self._prefix)
        self._parts.append(data)
        self._size += len(data)
        if self._size >= 65536:
            self.flush()

    def end_batch(self) -> None:
        """End of one frame's records: flush now unless writing in blocks."""
        if not self._block:
            self.flush()

    def flush(self) -> None:
        """Hand everything queued to the stream."""
        if not self._parts:
            return
        parts = self._parts
        self._parts = []
        self._size = 0
        try:
            self._stream.writelines(parts)  # each part as it is: no joining copy
            self._stream.flush()
        except OSError as exc:
            raise self.failed(exc) from None

    def on_failure(self, callback: Callable[[], None] | None) -> None:
        """Nothing to watch: a failure is raised by the call that meets it."""

    def descriptor(self) -> tuple[int, bytes] | None:
        """The file descriptor others may write records to, and the records' prefix.

        For `replay -j`'s workers, which write their blocks themselves, in
        turn, once this writer is flushed; None when the stream is no file.
        """
        try:
            return self._stream.fileno(), self._prefix
        except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError
            return None

    def failed(self, exc: OSError) -> Exception:
        """What a failed write of records to this writer's stream raises (see flush)."""
        silence_stdout()  # the interpreter's last flush must not fail loudly again
        if exc.errno == errno.EPIPE:
            return StdoutClosed()
        return output_failed("stdout", exc)


def records_text(records: list[bytes], prefix: bytes = b"") -> bytes:
    """Records as written: a newline after each, `prefix` (--seq's RS) before each.

    Without a prefix, the list gets the last newline's empty item (it is the caller's no more).
    """
    if prefix:
        return prefix + (b"\n" + prefix).join(records) + b"\n"
    records.append(b"")  # the last record's newline, without copying the part again
    return b"\n".join(records)


def buffered_stdout() -> BinaryIO:
    """stdout for bytes, always buffered: every byte written or an error raised.

    With PYTHONUNBUFFERED (or -u) `sys.stdout.buffer` is the raw file, whose
    write may take only part of the bytes (a file size limit reached) and
    say so only by its return value: the rest would be lost silently. A
    buffered writer over the same descriptor writes them all or raises why
    not. Call it once per writer: each call over a raw file makes a new one.
    """
    if not isinstance(sys.stdout.buffer, io.RawIOBase):
        return sys.stdout.buffer
    return io.BufferedWriter(io.FileIO(sys.stdout.fileno(), "wb", closefd=False))


def silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's last flush cannot fail loudly."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


class BackgroundWriter:
    """Live output: records go to stdout from a thread, so a stalled reader never stalls us.

    Batches wait in a queue bounded by `limit` bytes (not counting the one
    being written). A batch that would go over the bound is dropped, and
    counted, only when the reader is stalled: the thread has been writing
    for `stall` seconds without moving a chunk. A reader that keeps up
    takes anything, an envelope larger than the bound included; one that
    moves but falls far behind is held to `4 * limit`. The count and how
    long the reader stood still are said on stderr once the pipe moves again
    (never silently). The socket and the capture file keep being served.
    """

    def __init__(
        self,
        stream: BinaryIO | None = None,
        *,
        rs: bool = False,
        limit: int = 32 * 1024 * 1024,
        stall: float = 1.0,
        warn: TextIO | None = None,
    ) -> None:
        import queue
        import threading

        self._stream = stream if stream is not None else buffered_stdout()
        self._prefix = RS if rs else b""
        self._limit = limit
        self._stall = stall
        self._warn = warn if warn is not None else sys.stderr
        self._parts: list[bytes] = []
        self._records = 0
        self._waiting = 0  # bytes queued, not yet taken by the thread
        self._writing = False
        self._moved = time.monotonic()  # when the thread last moved data on
        self._stalled_since: float | None = None  # the reader's last move before the drops
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[tuple[bytes, int] | None] = queue.SimpleQueue()
        self.dropped = 0
        self._reported = 0
        self.closed = False
        self.error: OSError | None = None
        self._on_failure: Callable[[], None] | None = None
        self._thread = threading.Thread(target=self._run, name="wstail-stdout", daemon=True)
        self._thread.start()

    def write_many(self, records: list[bytes]) -> None:
        """Queue several records for the current batch."""
        if not records:
            return
        if self._prefix:
            self._parts.append(self._prefix + (b"\n" + self._prefix).join(records) + b"\n")
        else:
            self._parts.append(b"\n".join(records))
            self._parts.append(b"\n")
        self._records += len(records)

    def end_batch(self) -> None:
        """Hand the batch to the writer thread, or drop it if the reader is stalled."""
        if self.closed:
            self._raise_closed()
        if not self._parts:
            return
        data = b"".join(self._parts)
        records = self._records
        self._parts.clear()
        self._records = 0
        size = len(data)
        with self._lock:
            waiting = self._waiting
            if waiting and waiting + size > self._limit and self._reader_stalled(waiting + size):
                if self._stalled_since is None:
                    self._stalled_since = self._moved
                self.dropped += records
                return
            self._waiting = waiting + size
        self._queue.put((data, records))

    def on_failure(self, callback: Callable[[], None] | None) -> None:
        """Have `callback` called from the writer's thread when a write fails (None: no more).

        A live run waits on its socket between batches: without this, a
        write failing after the last batch of a quiet feed would go unseen.
        """
        self._on_failure = callback

    def _failed(self) -> None:
        callback = self._on_failure
        if callback is not None:
            try:
                callback()
            except RuntimeError:  # the event loop is gone: the run has its outcome already
                pass

    def _reader_stalled(self, total: int) -> bool:
        """Over the bound: drop if the thread is stuck on a write, or far over."""
        if total > 4 * self._limit:
            return True
        return self._writing and time.monotonic() - self._moved >= self._stall

    def flush(self) -> None:
        """Send what is queued and wait until the thread has written it all."""
        if self._thread.is_alive():
            self.end_batch()
            self._queue.put(None)
            self._thread.join()
        self._report_drops()
        if self.closed:
            self._raise_closed()

    def _raise_closed(self) -> None:
        if self.error is not None:
            raise output_failed("stdout", self.error)
        raise StdoutClosed

    def _run(self) -> None:
        import queue

        done = False
        while not done:
            # Take everything queued in one go: one write per wake-up, so the
            # thread keeps up with a busy main thread that holds the GIL.
            items = [self._queue.get()]
            while True:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if items[-1] is None:
                done = True
            chunks = [item[0] for item in items if item is not None]
            if not chunks:
                continue
            data = b"".join(chunks)
            with self._lock:
                self._waiting -= len(data)
                self._writing = True
                self._moved = time.monotonic()
            try:
                self._write(data)
            except (BrokenPipeError, ValueError):
                self.closed = True
                silence_stdout()
                self._failed()
                return
            except OSError as exc:
                self.error = exc
                self.closed = True
                silence_stdout()
                self._failed()
                return
            finally:
                self._writing = False
            if self.dropped != self._reported:
                self._report_drops()

    def _write(self, data: bytes) -> None:
        """Write in chunks, each noted as the reader moving (a big envelope is no stall)."""
        stream = self._stream
        if len(data) <= _CHUNK:
            stream.write(data)
        else:
            view = memoryview(data)
            for start in range(0, len(data), _CHUNK):
                stream.write(view[start : start + _CHUNK])
                self._moved = time.monotonic()
        stream.flush()
        self._moved = time.monotonic()

    def _report_drops(self) -> None:
        with self._lock:
            dropped = self.dropped
            since = self._stalled_since
            self._stalled_since = None
        if dropped != self._reported:
            stalled = f" for {time.monotonic() - since:.1f}s" if since is not None else ""
            now = dropped - self._reported
            try:
                self._warn.write(
                    f"wstail: stdout was blocked{stalled}: dropped {now} "
                    f"envelope{'' if now == 1 else 's'} ({dropped} in all); "
                    "the capture, if any, has every frame\n"
                )
                self._warn.flush()
            except (OSError, ValueError):
                pass  # stderr's reader is gone: nobody is left to tell, and stdout goes on
            self._reported = dropped


# What the stdout thread writes at once: each chunk written is the reader moving.
_CHUNK = 1024 * 1024
