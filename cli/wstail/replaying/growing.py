"""A file being written (by `record`): the whole lines in it so far, read as they come.

`record` writes each line whole, but a reader can still see half of one
(a plain line's write in progress), and a compressed capture ends after
every line with a short end that the next line overwrites (wholelines.py:
gzip's empty last block, CRC and length; zstd's empty last block). So the
lines after the last newline are held until the rest comes, and the last
bytes of a compressed file are never decompressed until more data follows
them (or the file is known finished): a rewritten end read as data would
end the stream there.
"""

from __future__ import annotations

import os
import zlib
from typing import Any

from wstail.inputs import GZIP_MAGIC, ZSTD_MAGIC

from .blocks import BLOCK_SIZE, ReadFailure

HELD_BACK = {"plain": 0, "gzip": 10, "zstd": 3}
"""Bytes at the end of a file written by `record` that the next line rewrites (wholelines.py)."""


class GrowingFile:
    """Whole lines of a file as they are written: plain, gzip or zstd (by its magic bytes)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd = os.open(path, os.O_RDONLY)  # OSError for the caller to word
        status = os.fstat(self.fd)
        self.identity = (status.st_dev, status.st_ino)
        self.offset = 0  # bytes of the file taken (decompressed, for .gz and .zst)
        self.kind: str | None = None  # "plain", "gzip" or "zstd", once the first bytes tell
        self.lineno = 0  # lines handed out so far
        self._member: Any = None  # the decompressor of the gzip member or zstd frame read
        self._rest = b""  # what came after the last newline: a line not yet whole
        self._error: ReadFailure | None = None  # raised once the lines before it are taken

    def size(self) -> int:
        """The file's size on disk now."""
        return os.fstat(self.fd).st_size

    def read(self, final: bool = False, limit: int = BLOCK_SIZE) -> tuple[int, bytes]:
        """The whole lines written since the last call (about `limit` bytes of file at most).

        Returns the number of the line before them and the lines (b"" if
        none yet). `final`: the file is finished (its writer moved on), so
        its end is data and a last line without newline is a line. A
        corrupt stream raises ReadFailure once the lines before it are taken.
        """
        before = self.lineno
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        size = self.size()
        if self.kind is None and not self._learn_kind(size, final):
            return before, b""
        end = size if final else size - HELD_BACK[self.kind or "plain"]
        parts = [self._rest]
        taken = 0
        while self.offset < end and taken < limit:
            chunk = os.pread(self.fd, min(end - self.offset, limit - taken, 1 << 16), self.offset)
            if not chunk:
                break
            self.offset += len(chunk)
            taken += len(chunk)
            if self.kind == "plain":
                parts.append(chunk)
                continue
            decompressed, self._error = self._decompress(chunk)
            parts.append(decompressed)
            if self._error is not None:
                break
        data = b"".join(parts)
        finished = final and self.offset >= end and self._error is None
        if finished and self._member is not None:  # the cut line is the error's to tell
            self._error = ReadFailure(0, f"{self.kind} stream is truncated")
        if finished and self._error is None:
            block, self._rest = data, b""  # a last line without its newline is a line
        else:
            cut = data.rfind(b"\n") + 1
            block, self._rest = data[:cut], data[cut:]
        if block:
            count = block.count(b"\n")
            self.lineno += count if block[-1:] == b"\n" else count + 1
        if self._error is not None and self._error.lineno == 0:
            self._error = ReadFailure(self.lineno + 1, self._error.reason)
        return before, block

    @property
    def pending(self) -> bool:
        """Whether part of a line (or more file) is waiting to be read."""
        return bool(self._rest) or self.offset < self.size()

    def _learn_kind(self, size: int, final: bool) -> bool:
        """Tell plain, gzip and zstd apart by the first bytes, once there are enough."""
        head = os.pread(self.fd, 4, 0) if size else b""
        if not head:
            return False
        if head.startswith(GZIP_MAGIC) or head == GZIP_MAGIC[: len(head)]:
            if len(head) < 2 and not final:
                return False
            self.kind = "gzip" if head.startswith(GZIP_MAGIC) else "plain"
        elif head == ZSTD_MAGIC[: len(head)]:
            if len(head) < 4 and not final:
                return False
            self.kind = "zstd" if head == ZSTD_MAGIC else "plain"
        else:
            self.kind = "plain"
        return True

    def _decompress(self, chunk: bytes) -> tuple[bytes, ReadFailure | None]:
        """Decompressed bytes of the next chunk, member after member (`cat a.gz b.gz`).

        A corrupt stream gives what came before it, and the failure.
        """
        out = []
        try:
            while chunk:
                if self._member is None:
                    self._member = self._new_member()
                out.append(self._member.decompress(chunk))
                if not self._member.eof:
                    break
                chunk = self._member.unused_data
                self._member = None
        except Exception as exc:  # zlib.error, zstandard.ZstdError
            self._member = None
            return b"".join(out), ReadFailure(0, f"corrupt {self.kind} stream: {exc}")
        return b"".join(out), None

    def _new_member(self) -> Any:
        if self.kind == "gzip":
            return zlib.decompressobj(wbits=31)
        import zstandard

        return zstandard.ZstdDecompressor().decompressobj()

    def close(self) -> None:
        """Close the file."""
        os.close(self.fd)
