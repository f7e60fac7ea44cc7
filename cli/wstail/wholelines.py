"""Capture files that always end on a whole line, whatever stops the writing.

Each line is written whole or not at all. A plain file is truncated back
to the end of the last whole line when a write fails (disk full, file size
limit, I/O error). A compressed file is kept a complete stream after every
line: the deflate (gzip) or zstd blocks of the lines so far, then a short
end (an empty last block, and for gzip the CRC and length) that the next
line overwrites. A failed write puts the previous end back, so the file
stays valid and holds only whole lines; a kill -9 leaves a valid file too.

A compressed file is a series of gzip members or zstd frames of about
MEMBER_SIZE decompressed bytes each (a valid file, as BGZF and the zstd
seekable format are): a capture's index points at a member's start, where
reading can begin with a fresh decompressor (docs/index.md).
"""

from __future__ import annotations

import os
import struct
import zlib
from typing import Any

from wstail.exitcodes import output_failed

MEMBER_SIZE = 1 << 20  # decompressed bytes per gzip member or zstd frame `record` writes

# gzip member header (RFC 1952): deflate, no flags, no time, unknown OS.
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
# An empty final deflate block with fixed codes (RFC 1951): BFINAL=1, BTYPE=01, code 256.
_DEFLATE_END = b"\x03\x00"
# An empty last zstd block (RFC 8878): Last_Block=1, Raw, size 0; it ends the frame.
_ZSTD_END = b"\x01\x00\x00"


class PlainLines:
    """Lines appended to a file descriptor; a failed line is cut off again."""

    def __init__(self, fd: int, path: str) -> None:
        self.fd = fd
        self.path = path
        self.end = 0  # the end of the last whole line
        self.seekable = _seekable(fd)  # a pipe cannot be cut back: it only gets the error

    def write_line(self, line: bytes) -> tuple[int, int]:
        """Append one line (with its newline) whole, or raise OutputError leaving none of it.

        Returns where it starts, as an index point: (its byte offset, 0).
        """
        start = self.end
        try:
            _write_at(self.fd, line, start if self.seekable else None)
        except OSError as exc:
            self._cut(exc)
        self.end += len(line)
        return start, 0

    @property
    def size(self) -> int:
        """Bytes on disk: the whole lines written."""
        return self.end

    def _cut(self, exc: OSError) -> None:
        if self.seekable:
            try:
                os.ftruncate(self.fd, self.end)
            except OSError:
                pass  # nothing more can be done: the error below says why
        raise output_failed(self.path, exc) from None

    def close(self) -> None:
        """Close the file (every line is already written through)."""
        os.close(self.fd)


class _CompressedLines:
    """Lines compressed as one stream, whose end is rewritten after every line."""

    def __init__(self, fd: int, path: str, start: bytes, tail: bytes, member_size: int) -> None:
        self.fd = fd
        self.path = path
        self.end = 0  # the end of the compressed lines, where the tail starts
        self.tail = b""
        self.member_size = member_size
        self.member_start = 0  # where the member (frame) being written starts in the file
        self.member_bytes = 0  # the decompressed bytes of its lines so far
        # A pipe gets the tail once, on closing: it cannot be rewritten there.
        self.seekable = _seekable(fd)
        self.ended = False
        if start or tail:
            self._put(start, tail)

    @property
    def size(self) -> int:
        """Bytes on disk: the compressed lines and the end after them (a pipe's: the lines)."""
        return self.end + len(self.tail) if self.seekable else self.end

    def _compress(self, line: bytes) -> bytes:
        raise NotImplementedError

    def _tail(self) -> bytes:
        raise NotImplementedError

    def _new_member(self) -> None:
        raise NotImplementedError

    def write_line(self, line: bytes) -> tuple[int, int]:
        """Append one line (with its newline) whole, or raise OutputError leaving none of it.

        Returns where it starts, as an index point: (its member's byte offset,
        the decompressed bytes of the member before it).
        """
        if self.member_bytes >= self.member_size and self.seekable:
            # The member's end stays as it is (the last line's CRC and size): it is final.
            self.end += len(self.tail)
            self.tail = b""
            self.member_start = self.end
            self.member_bytes = 0
            self._new_member()
        where = self.member_start, self.member_bytes
        self._put(self._compress(line), None)
        self.member_bytes += len(line)
        return where

    def _put(self, body: bytes, tail: bytes | None) -> None:
        if tail is None:
            tail = self._tail()
        try:
            if self.seekable:
                _write_at(self.fd, body + tail, self.end)
            else:
                _write_at(self.fd, body, None)
        except OSError as exc:
            self._restore(exc)
        self.end += len(body)
        self.tail = tail

    def _restore(self, exc: OSError) -> None:
        # The blocks up to end+len(tail) were the file's before this write,
        # so putting the old tail back needs no new space.
        if self.seekable:
            try:
                os.ftruncate(self.fd, self.end + len(self.tail))
                _write_at(self.fd, self.tail, self.end)
            except OSError:
                pass
        self.ended = True  # a pipe's stream is cut where it failed: nothing to add
        raise output_failed(self.path, exc) from None

    def close(self) -> None:
        """Close the file; its stream is complete (a pipe gets its end now)."""
        try:
            if not self.seekable and not self.ended and self.tail:
                self.ended = True
                _write_at(self.fd, self.tail, None)
        except OSError as exc:
            raise output_failed(self.path, exc) from None
        finally:
            os.close(self.fd)


class GzipLines(_CompressedLines):
    """A gzip member, sync-flushed after every line."""

    def __init__(self, fd: int, path: str, level: int = 6, member_size: int = MEMBER_SIZE) -> None:
        self._level = level
        self._deflate = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
        self._crc = 0
        self._size = 0
        super().__init__(fd, path, _GZIP_HEADER, self._tail(), member_size)

    def _new_member(self) -> None:
        self._deflate = zlib.compressobj(self._level, zlib.DEFLATED, -zlib.MAX_WBITS)
        self._crc = 0
        self._size = 0
        self._put(_GZIP_HEADER, self._tail())  # an empty member: the file stays valid

    def _compress(self, line: bytes) -> bytes:
        self._crc = zlib.crc32(line, self._crc)
        self._size += len(line)
        deflate = self._deflate
        return deflate.compress(line) + deflate.flush(zlib.Z_SYNC_FLUSH)

    def _tail(self) -> bytes:
        return _DEFLATE_END + struct.pack("<II", self._crc, self._size & 0xFFFFFFFF)


class ZstdLines(_CompressedLines):
    """A zstd frame, a block flushed after every line."""

    def __init__(self, fd: int, path: str, level: int = 3, member_size: int = MEMBER_SIZE) -> None:
        import zstandard

        self._compressor = zstandard.ZstdCompressor(
            level=level, write_checksum=False, write_content_size=False
        )
        self._zstd: Any = self._compressor.compressobj()
        self._flush_block = zstandard.COMPRESSOBJ_FLUSH_BLOCK
        # No frame header before the first line: an empty file until then.
        super().__init__(fd, path, b"", b"", member_size)

    def _new_member(self) -> None:
        self._zstd = self._compressor.compressobj()  # its frame header comes with the line

    def _compress(self, line: bytes) -> bytes:
        zstd = self._zstd
        return zstd.compress(line) + zstd.flush(self._flush_block)

    def _tail(self) -> bytes:
        return _ZSTD_END


def _write_at(fd: int, data: bytes, offset: int | None) -> None:
    """Write all of `data` at `offset` (None: where the file is, for a pipe or a terminal).

    A short write goes on until the error, if any.
    """
    written = os.write(fd, data) if offset is None else os.pwrite(fd, data, offset)
    if written == len(data):
        return
    view = memoryview(data)[written:]
    while view:
        if offset is None:
            written = os.write(fd, view)
        else:
            offset += written
            written = os.pwrite(fd, view, offset)
        view = view[written:]


def _seekable(fd: int) -> bool:
    try:
        os.lseek(fd, 0, os.SEEK_CUR)
    except OSError:
        return False
    return True


def open_lines(
    fd: int, path: str, member_size: int = MEMBER_SIZE
) -> PlainLines | GzipLines | ZstdLines:
    """The line writer for a capture path: compressed by its extension."""
    if path.endswith(".gz"):
        return GzipLines(fd, path, member_size=member_size)
    if path.endswith(".zst"):
        return ZstdLines(fd, path, member_size=member_size)
    return PlainLines(fd, path)
