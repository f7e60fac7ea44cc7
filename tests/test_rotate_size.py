"""--rotate-size counts bytes on disk: compressed bytes for .gz and .zst parts.

A user sizing a disk means the files' sizes; counting the lines before
compression made `--rotate-size 200k` on a .gz capture give 27 KB files.
"""

from __future__ import annotations

import gzip
import random
from pathlib import Path

import pytest
import zstandard

from conftest import Wstail
from wstail.capture import CaptureHeader
from wstail.frames import Frame
from wstail.recorder import Recorder

LIMIT = 16 * 1024
START_US = 1_795_428_000_000_000


def frames(kind: str, count: int) -> list[Frame]:
    """Ticker frames: `repetitive` ones compress about 10:1, `noisy` ones hardly at all."""
    rng = random.Random(24)
    made = []
    for n in range(count):
        if kind == "repetitive":
            data = f'{{"ticker":{{"price":"{76000 + n % 7}.10","currency":"EUR"}}}}'
        else:
            data = f'{{"id":"{rng.randbytes(60).hex()}"}}'
        payload = f'["stream",{data}]'
        made.append(
            Frame(recv_us=START_US + n * 1000, kind="sio", channel="/public", payload=payload)
        )
    return made


def read_part(path: Path) -> bytes:
    """A part's lines, decompressed by its extension."""
    data = path.read_bytes()
    if path.suffix == ".gz":
        return gzip.decompress(data)
    if path.suffix == ".zst":
        return zstandard.ZstdDecompressor().decompressobj().decompress(data)
    return data


@pytest.mark.parametrize("kind", ["repetitive", "noisy"])
@pytest.mark.parametrize("extension", [".jsonl.gz", ".jsonl.zst", ".jsonl"])
def test_parts_land_near_the_size_on_disk(
    extension: str, kind: str, tmp_path: Path, wstail: Wstail
) -> None:
    """Every part but the last is at least the size on disk, and none is over it by more than
    one line's flush block; the parts replay to every frame, in order."""
    header = CaptureHeader(
        source="paymium.public", start_us=START_US, url="http://x", protocol="eio4", tool="test"
    )
    recorder = Recorder(str(tmp_path / f"cap{extension}"), header, private=False, rotate_size=LIMIT)
    written = frames(kind, 4000 if kind == "repetitive" else 1500)
    for seq, frame in enumerate(written, 1):
        recorder.write(frame, seq)
    recorder.close()
    parts = [Path(path) for path in recorder.paths]
    assert len(parts) >= 3
    longest = max(len(frame.payload) for frame in written) + 64  # the line around the payload
    # A part rotates once its size on disk reaches the limit, before the next line, so
    # each is under the limit plus the last line it took. A line is flushed on its own
    # (a deflate sync flush, a zstd block): its bytes on disk are at most its own length
    # plus a few bytes of block framing (a stored deflate block's 5, the empty block of a
    # sync flush's 5, a zstd block header's 3), 32 being plenty; the end rewritten after
    # each line (gzip's trailer, zstd's last block) is in the size before and after.
    for part in parts:
        assert part.stat().st_size < LIMIT + longest + 32, part
    for part in parts[:-1]:
        assert part.stat().st_size >= LIMIT, part
    lines = [line for part in parts for line in read_part(part).splitlines()[1:]]
    assert len(lines) == len(written)
    replayed = wstail("replay", "--raw", *parts)
    assert replayed.code == 0, replayed.stderr
    assert len(replayed.stdout.splitlines()) == len(written)
