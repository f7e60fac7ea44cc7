"""Replay progress: the percentage of compressed captures comes from the compressed file."""

from __future__ import annotations

import gzip
import io
import os
from pathlib import Path

import pytest
import zstandard

from wstail.inputs import open_input
from wstail.progress import Progress


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz", ".jsonl.zst"])
def test_progress_shows_a_percentage_for_compressed_files(tmp_path: Path, suffix: str) -> None:
    """Half-way through a plain, .gz or .zst capture, progress shows a percentage under 100."""
    # random payloads: the compressed file must span many read chunks
    body = b"".join(b'{"x":"%s"}\n' % os.urandom(32).hex().encode() for _ in range(20_000))
    path = tmp_path / f"cap{suffix}"
    if suffix.endswith(".gz"):
        packed = gzip.compress(body)
    elif suffix.endswith(".zst"):
        packed = zstandard.ZstdCompressor().compress(body)
    else:
        packed = body
    path.write_bytes(packed)
    stderr = io.StringIO()
    with open_input(str(path)) as handle:
        handle.read(len(body) // 4)
        Progress(stderr, interval=0).tick(path.name, handle, 10)
        handle.read()
        Progress(stderr, interval=0).tick(path.name, handle, 20)
    first, last = stderr.getvalue().split("\r\x1b[K")[1:]
    assert first.startswith(f"{path.name}: 10 events, ")
    assert first.endswith("%") and int(first.rsplit(" ", 1)[1][:-1]) < 100
    assert last.endswith(", 100%")
