"""Capture indexes end to end: written by `record` and by `wstail index`, used by --from/--to.

Every windowed replay here is compared with the reference, the same replay
with WSTAIL_DEV_INDEX=0 (every capture read from its start): stdout must be
byte-identical, whatever the index says or fails to say.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest
import zstandard

from helpers.generated import bench_gen
from helpers.live import WSTAIL, wstail_env
from helpers.node_peers import run
from test_output_errors import frame, run_against_peer

EVERY = "2048"  # bytes between checkpoints in these small captures
EXTENSIONS = ["jsonl", "jsonl.gz", "jsonl.zst"]


def wstail(
    *args: str | Path, env: dict[str, str], index: bool = True
) -> subprocess.CompletedProcess[bytes]:
    """Run the console script; `index` False is the reference (WSTAIL_DEV_INDEX=0)."""
    run_env = dict(env, WSTAIL_DEV_INDEX="1" if index else "0")
    return subprocess.run(
        [str(WSTAIL), *map(str, args)], env=run_env, capture_output=True, timeout=60, check=False
    )


def same_as_reference(env: dict[str, str], *args: str | Path) -> subprocess.CompletedProcess[bytes]:
    """`wstail replay ARGS` with indexes, checked against the reference; its result."""
    used = wstail("replay", *args, env=env)
    reference = wstail("replay", *args, env=env, index=False)
    assert used.returncode == reference.returncode, used.stderr
    assert used.stdout == reference.stdout, args
    return used


def envelopes(env: dict[str, str], *parts: Path) -> list[dict[str, object]]:
    """Every envelope of a full replay (lifecycle ones too), as the reference reads them."""
    done = wstail("replay", "--meta", *parts, env=env, index=False)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def windows(found: list[dict[str, object]]) -> list[list[str]]:
    """--from/--to at the first, a middle and the last envelope, by seq and by time."""
    picks = [found[0], found[len(found) // 2], found[-1]]
    cases = []
    for envelope in picks:
        cases.append(["--from", f"seq:{envelope['seq']}"])
        cases.append(["--from", str(envelope["recv_ts"])])
        cases.append(["--from", str(envelope["recv_ts"]), "-n", "1"])
    middle = found[len(found) // 2]
    cases.append(["--to", f"seq:{middle['seq']}"])
    cases.append(["--from", f"seq:{found[1]['seq']}", "--to", str(middle["recv_ts"])])
    cases.append(["--from", str(middle["recv_ts"]), "--to", f"seq:{found[-1]['seq']}"])
    return cases


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """bench/gen.py's public capture (3000 frames): plain, one gzip member, one zstd frame."""
    where = tmp_path_factory.mktemp("indexed")
    plain = where / "public.jsonl"
    bench_gen().write_public(plain, where / "live.jsonl", random.Random(7), 3000)
    (where / "live.jsonl").unlink()
    data = plain.read_bytes()
    (where / "public.jsonl.gz").write_bytes(gzip.compress(data, mtime=0))
    (where / "public.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(data))
    return {extension: where / f"public.{extension}" for extension in EXTENSIONS}


@pytest.mark.parametrize("extension", EXTENSIONS)
def test_wstail_index_then_seeks_match_a_full_read(
    extension: str, generated: dict[str, Path], tmp_path: Path
) -> None:
    """`wstail index` on a capture not written by record (one gzip member, one zstd frame):
    seeks at the first, a middle and the last frame, by seq and time, print the reference's."""
    env = wstail_env(tmp_path, WSTAIL_DEV_INDEX_EVERY=EVERY)
    capture = tmp_path / generated[extension].name
    shutil.copy(generated[extension], capture)
    made = wstail("index", capture, env=env)
    assert made.returncode == 0, made.stderr
    assert made.stdout.decode().startswith(f"{capture}.idx: ")
    index_lines = (tmp_path / f"{capture.name}.idx").read_bytes().splitlines()
    assert len(index_lines) > 20  # many checkpoints: the seeks start in the middle
    for args in windows(envelopes(env, capture)):
        done = same_as_reference(env, *args, capture)
        assert done.stderr == b""


def record_node_parts(tmp_path: Path, extension: str, env: dict[str, str]) -> list[Path]:
    """`wstail record node` of 300 frames from a local peer, rotated by size: its parts."""
    parts = tmp_path / "parts"
    parts.mkdir()
    size = "6k" if extension == "jsonl" else "700"  # the frames compress well
    args = ["record", "-o", str(parts / f"p.{extension}"), "--rotate-size", size]
    done = run(
        lambda: run_against_peer(
            [*args, "node", "-n", "300"], [frame(n) for n in range(300)], env=env
        ),
        timeout=60,
    )
    assert done.code == 0, done.err

    def first_seq(path: Path) -> int:
        return int(json.loads(read_head(path))["first_seq"])

    found = sorted((p for p in parts.iterdir() if not p.name.endswith(".idx")), key=first_seq)
    assert len(found) >= 3
    return found


def read_head(path: Path) -> bytes:
    """The first line of a capture, decompressed."""
    raw = path.read_bytes()
    if path.name.endswith(".gz"):
        raw = gzip.decompress(raw)
    elif path.name.endswith(".zst"):
        raw = zstandard.ZstdDecompressor().decompressobj().decompress(raw)
    return raw.split(b"\n", 1)[0]


@pytest.mark.parametrize("extension", EXTENSIONS)
def test_record_writes_the_index_wstail_index_would(extension: str, tmp_path: Path) -> None:
    """record's index of each rotated part is byte for byte the one `wstail index` makes of it
    (gzip members and zstd frames found again); seeks across the parts match the reference."""
    env = wstail_env(tmp_path, WSTAIL_DEV_INDEX_EVERY="1024")
    parts = record_node_parts(tmp_path, extension, env)
    recorded = {part: Path(f"{part}.idx").read_bytes() for part in parts}
    assert all(len(text.splitlines()) > 2 for text in recorded.values())
    for args in windows(envelopes(env, *parts)):
        assert same_as_reference(env, *args, *parts).stderr == b""
    made = wstail("index", *parts, env=env)
    assert made.returncode == 0, made.stderr
    for part, text in recorded.items():
        assert Path(f"{part}.idx").read_bytes() == text, part


@pytest.mark.parametrize("extension", ["jsonl", "jsonl.gz"])
def test_a_part_wholly_outside_the_window_is_not_read(
    extension: str, generated: dict[str, Path], tmp_path: Path
) -> None:
    """A part before --from is skipped by its index: bytes spoilt in its middle (its size,
    mtime and head unchanged) go unnoticed, where a full read reports them."""
    env = wstail_env(tmp_path, WSTAIL_DEV_INDEX_EVERY=EVERY)
    first = tmp_path / f"a.{extension}"
    later = tmp_path / f"b.{extension}"
    data = generated["jsonl"].read_bytes()
    data_later = data.replace(b'"first_seq":1', b'"first_seq":900000', 1).replace(
        b'"start":"2026-11-23', b'"start":"2026-11-24', 1
    )
    for path, text in ((first, data), (later, data_later)):
        path.write_bytes(gzip.compress(text, mtime=0) if extension.endswith("gz") else text)
    assert wstail("index", first, later, env=env).returncode == 0
    stat = first.stat()
    spoilt = bytearray(first.read_bytes())
    middle = len(spoilt) - 4000  # past the hashed head
    assert middle > 1 << 16
    spoilt[middle : middle + 40] = b"\xff" * 40
    first.write_bytes(bytes(spoilt))
    os.utime(first, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    for window in (("--from", "seq:900005"), ("--from", "2026-11-24T00:00:10Z")):
        used = wstail("replay", *window, first, later, env=env)
        assert (used.returncode, used.stderr) == (0, b"")
        reference = wstail("replay", *window, first, later, env=env, index=False)
        assert reference.returncode == 4
        assert reference.stdout == used.stdout and used.stdout


@pytest.mark.parametrize("extension", EXTENSIONS)
def test_corrupt_or_stale_index_is_said_once_and_ignored(
    extension: str, generated: dict[str, Path], tmp_path: Path
) -> None:
    """A corrupt index, one of a capture since changed, or one counting envelopes as another
    wstail did: one warning each, and the output of a full read."""
    env = wstail_env(tmp_path, WSTAIL_DEV_INDEX_EVERY=EVERY)
    capture = tmp_path / generated[extension].name
    shutil.copy(generated[extension], capture)
    index = Path(f"{capture}.idx")
    assert wstail("index", capture, env=env).returncode == 0
    good = index.read_bytes()
    middle = envelopes(env, capture)[1500]
    window = ("--from", str(middle["recv_ts"]), "-n", "5")

    index.write_bytes(good[: len(good) // 2] + b"[1,2,\n")
    said = same_as_reference(env, *window, capture).stderr.decode()
    assert said.count("\n") == 1 and f"{index} is corrupt" in said

    index.write_bytes(good.replace(b'"normalize":1', b'"normalize":0', 1))
    said = same_as_reference(env, *window, capture).stderr.decode()
    assert said.count("\n") == 1 and "older wstail" in said

    index.write_bytes(good)
    os.utime(capture, ns=(1, 1))  # the capture touched since: stale
    said = same_as_reference(env, *window, capture).stderr.decode()
    assert said.count("\n") == 1 and f"{index} is stale" in said

    index.unlink()  # missing, on a small capture: read whole without a word
    assert same_as_reference(env, *window, capture).stderr == b""


def test_index_refuses_what_is_not_a_capture(tmp_path: Path) -> None:
    """`wstail index` of NDJSON or a missing file: one line each, exit 4; '-' is a usage error."""
    env = wstail_env(tmp_path)
    ndjson = tmp_path / "out.ndjson"
    ndjson.write_text('{"seq":1,"event":"trade"}\n')
    done = wstail("index", ndjson, tmp_path / "none.jsonl", env=env)
    assert done.returncode == 4
    lines = done.stderr.decode().splitlines()
    assert lines[0] == f"wstail: {ndjson}: not a wstail capture (NDJSON needs no index)"
    assert lines[1].startswith(f"wstail: cannot read {tmp_path / 'none.jsonl'}")
    assert not Path(f"{ndjson}.idx").exists()
    assert wstail("index", "-", env=env).returncode == 2


def test_replay_of_a_directory_listing_skips_indexes(
    generated: dict[str, Path], tmp_path: Path
) -> None:
    """`replay dir/*` meets the indexes too: they are not inputs (no error, no output)."""
    env = wstail_env(tmp_path, WSTAIL_DEV_INDEX_EVERY=EVERY)
    capture = tmp_path / "public.jsonl"
    shutil.copy(generated["jsonl"], capture)
    assert wstail("index", capture, env=env).returncode == 0
    both = wstail("replay", "-n", "3", f"{capture}.idx", capture, env=env)
    assert (both.returncode, both.stderr) == (0, b"")
    assert both.stdout == wstail("replay", "-n", "3", capture, env=env).stdout
