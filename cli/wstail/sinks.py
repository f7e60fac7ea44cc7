"""Where envelopes go: stdout (one writer owns flushing and broken pipes) and files."""

from __future__ import annotations

import os
import sys
from typing import BinaryIO, Protocol, TextIO

RS = b"\x1e"


class RecordWriter(Protocol):
    """What the stream writes records to."""

    def write_many(self, records: list[bytes]) -> None:
        """Queue several records, in order."""

    def end_batch(self) -> None:
        """End of one batch of frames' records."""

    def flush(self) -> None:
        """Hand everything queued on."""


class NullWriter:
    """Where records go when only counted (record without --tee)."""

    def write_many(self, records: list[bytes]) -> None:
        """Drop the records."""

    def end_batch(self) -> None:
        """Nothing to hand on."""

    def flush(self) -> None:
        """Nothing to flush."""


class StdoutClosed(Exception):
    """The reader closed the pipe (`| head -1`): stop quietly, exit 0."""


class OutputWriter:
    """Writes records to a binary stream; in blocks, or flushed per batch."""

    def __init__(
        self, stream: BinaryIO | None = None, *, block: bool = True, rs: bool = False
    ) -> None:
        self._stream = stream if stream is not None else sys.stdout.buffer
        self._block = block
        self._prefix = RS if rs else b""
        self._parts: list[bytes] = []
        self._size = 0

    def write_many(self, records: list[bytes]) -> None:
        """Queue several records, in order, as one part (the list is the writer's now)."""
        if not records:
            return
        if self._prefix:
            data = self._prefix + (b"\n" + self._prefix).join(records) + b"\n"
        else:
            records.append(b"")  # the last record's newline, without copying the part again
            data = b"\n".join(records)
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
        except BrokenPipeError:
            silence_stdout()
            raise StdoutClosed from None
        except OSError as exc:
            if exc.errno == 32:
                silence_stdout()
                raise StdoutClosed from None
            raise


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

    Batches wait in a queue bounded by `limit` bytes. When the reader falls
    that far behind, new batches are dropped and counted, and the count is
    said on stderr once the pipe moves again (never silently). The socket
    and the capture file keep being served meanwhile.
    """

    def __init__(
        self,
        stream: BinaryIO | None = None,
        *,
        rs: bool = False,
        limit: int = 32 * 1024 * 1024,
        warn: TextIO | None = None,
    ) -> None:
        import queue
        import threading

        self._stream = stream if stream is not None else sys.stdout.buffer
        self._prefix = RS if rs else b""
        self._limit = limit
        self._warn = warn if warn is not None else sys.stderr
        self._parts: list[bytes] = []
        self._records = 0
        self._queued = 0
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[tuple[bytes, int] | None] = queue.SimpleQueue()
        self.dropped = 0
        self._reported = 0
        self.closed = False
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
        """Hand the batch to the writer thread, or drop it if the reader is too far behind."""
        if self.closed:
            raise StdoutClosed
        if not self._parts:
            return
        data = b"".join(self._parts)
        records = self._records
        self._parts.clear()
        self._records = 0
        with self._lock:
            if self._queued + len(data) > self._limit:
                self.dropped += records
                return
            self._queued += len(data)
        self._queue.put((data, records))

    def flush(self) -> None:
        """Send what is queued and wait until the thread has written it all."""
        if self._thread.is_alive():
            self.end_batch()
            self._queue.put(None)
            self._thread.join()
        self._report_drops()
        if self.closed:
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
            try:
                self._stream.write(data)
                self._stream.flush()
            except (BrokenPipeError, ValueError):
                self.closed = True
                silence_stdout()
                return
            except OSError:
                self.closed = True
                return
            with self._lock:
                self._queued -= len(data)
            if self.dropped != self._reported:
                self._report_drops()

    def _report_drops(self) -> None:
        dropped = self.dropped
        if dropped != self._reported:
            self._warn.write(
                f"wstail: stdout was blocked: dropped {dropped - self._reported} envelope(s) "
                f"({dropped} in all); the capture, if any, has every frame\n"
            )
            self._warn.flush()
            self._reported = dropped
