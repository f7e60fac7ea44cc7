"""Where envelopes go: stdout (one writer owns flushing and broken pipes) and files."""

from __future__ import annotations

import os
import sys
from typing import BinaryIO

RS = b"\x1e"


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

    def write(self, record: bytes) -> None:
        """Queue one record; it gets its newline (and RS prefix with --seq)."""
        if self._prefix:
            self._parts.append(self._prefix)
        self._parts.append(record)
        self._parts.append(b"\n")
        self._size += len(record) + 2
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
        data = b"".join(self._parts)
        self._parts.clear()
        self._size = 0
        try:
            self._stream.write(data)
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
