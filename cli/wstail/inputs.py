"""Opening input files: plain, gzip or zstd (by extension or magic bytes), or stdin."""

from __future__ import annotations

import io
import sys
import zlib
from collections.abc import Callable
from typing import Any, BinaryIO

from wstail.exitcodes import BadInputError

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_CHUNK = 1 << 16


class CorruptStream(ValueError):
    """Compressed data that does not decompress; the message says why."""


def display_name(path: str) -> str:
    """How a path is named in messages (`-` is stdin)."""
    return "<stdin>" if path == "-" else path


class Decompressed(io.RawIOBase):
    """A compressed stream, decompressed chunk by chunk, member after member.

    Each read hands out what one chunk decompressed to, so every line before a
    truncation or corruption is still read (gzip.GzipFile and zstandard's
    stream_reader lose the block they were reading, and zstandard reads a
    truncated frame as a silent end). EOFError when the input ends inside a
    member (gzip) or frame (zstd); CorruptStream when the data is not valid.
    """

    def __init__(self, source: BinaryIO, new_decompressor: Callable[[], Any], kind: str) -> None:
        self._source = source
        self._new_decompressor = new_decompressor
        self._kind = kind
        self._member: Any = None  # the decompressor of the member being read, if any
        self._pending = memoryview(b"")
        self._offset = 0
        self._error: CorruptStream | None = None  # raised once what came before is read

    def readable(self) -> bool:
        """Always readable."""
        return True

    def fileno(self) -> int:
        """The compressed file's descriptor: its offset tells how far the input was read."""
        return self._source.fileno()

    def readinto(self, buffer: Any) -> int:
        """Fill `buffer` with decompressed bytes; 0 at the end."""
        while self._offset >= len(self._pending):
            if self._error is not None:
                raise self._error
            chunk = self._source.read(_CHUNK)
            if not chunk:
                if self._member is not None:
                    raise EOFError(f"{self._kind} stream is truncated")
                return 0
            self._pending = memoryview(self._decompress(chunk))
            self._offset = 0
        size = min(len(buffer), len(self._pending) - self._offset)
        buffer[:size] = self._pending[self._offset : self._offset + size]
        self._offset += size
        return size

    def _decompress(self, chunk: bytes) -> bytes:
        parts = []
        try:
            while chunk:
                if self._member is None:
                    self._member = self._new_decompressor()
                parts.append(self._member.decompress(chunk))
                if not self._member.eof:
                    break
                chunk = self._member.unused_data
                self._member = None
        except Exception as exc:  # zlib.error, zstandard.ZstdError
            self._error = CorruptStream(f"corrupt {self._kind} stream: {exc}")
            self._member = None
        return b"".join(parts)

    def close(self) -> None:
        """Close the compressed source too."""
        if not self.closed:
            self._source.close()
        super().close()


def open_input(path: str) -> BinaryIO:
    """Open a capture or NDJSON file for line reading, decompressing as needed."""
    try:
        raw: BinaryIO = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115
    except IsADirectoryError:  # replay reads a directory's captures: this one has none
        raise BadInputError(f"{path}: no capture in this directory") from None
    except OSError as exc:
        raise BadInputError(f"cannot read {display_name(path)}: {exc.strerror or exc}") from None
    buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw)  # type: ignore[type-var]
    try:
        magic = buffered.peek(4)[:4]
    except OSError as exc:
        raise BadInputError(f"cannot read {display_name(path)}: {exc.strerror or exc}") from None
    if magic.startswith(GZIP_MAGIC) or (path.endswith(".gz") and not magic):
        gzip = Decompressed(buffered, lambda: zlib.decompressobj(wbits=31), "gzip")
        return io.BufferedReader(gzip, _CHUNK)
    if magic.startswith(ZSTD_MAGIC) or (path.endswith(".zst") and not magic):
        import zstandard

        zstd = Decompressed(buffered, zstandard.ZstdDecompressor().decompressobj, "zstd")
        return io.BufferedReader(zstd, _CHUNK)
    return buffered
