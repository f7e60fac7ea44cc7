"""Opening input files: plain, gzip or zstd (by extension or magic bytes), or stdin."""

from __future__ import annotations

import gzip
import io
import sys
from typing import BinaryIO

from wstail.exitcodes import BadInputError

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def display_name(path: str) -> str:
    """How a path is named in messages (`-` is stdin)."""
    return "<stdin>" if path == "-" else path


def open_input(path: str) -> BinaryIO:
    """Open a capture or NDJSON file for line reading, decompressing as needed."""
    try:
        raw: BinaryIO = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115
    except OSError as exc:
        raise BadInputError(f"cannot read {display_name(path)}: {exc.strerror or exc}") from None
    buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw)  # type: ignore[type-var]
    try:
        magic = buffered.peek(4)[:4]
    except OSError as exc:
        raise BadInputError(f"cannot read {display_name(path)}: {exc.strerror or exc}") from None
    if magic.startswith(GZIP_MAGIC) or (path.endswith(".gz") and not magic):
        return io.BufferedReader(gzip.GzipFile(fileobj=buffered, mode="rb"), 1 << 16)
    if magic.startswith(ZSTD_MAGIC) or (path.endswith(".zst") and not magic):
        import zstandard

        reader = zstandard.ZstdDecompressor().stream_reader(buffered, read_across_frames=True)
        return io.BufferedReader(reader, 1 << 16)
    return buffered
