"""`replay -j N`: worker processes give the very output of one process, and stop as early."""

from __future__ import annotations

import gzip
import random
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
import zstandard

from conftest import Wstail
from helpers.generated import bench_gen, write_node_capture
from helpers.timeouts import scaled
from wstail.fastpaths import BLOCK_SIZE_VARIABLE
from wstail.replaying.parallel import AUTO_THRESHOLD, Jobs, _split

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = sorted((ROOT / "cli" / "wstail" / "data").glob("*.jsonl"))
WSTAIL = Path(sys.executable).with_name("wstail")
# Small reads: a small capture makes many blocks, so workers share it out.
SMALL_BLOCKS = {BLOCK_SIZE_VARIABLE: "3000"}


@pytest.fixture(scope="module")
def captures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Bench-like captures: public (plain, .gz, .zst), node, bad lines, two parts in one file."""
    gen = bench_gen()
    where = tmp_path_factory.mktemp("jobs")
    public = where / "public.jsonl"
    gen.write_public(public, where / "live_public.jsonl", random.Random(5), 1500)
    node = write_node_capture(where / "node.jsonl", 300)
    data = public.read_bytes()
    (where / "public.jsonl.gz").write_bytes(gzip.compress(data))
    (where / "public.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(data))
    body = data.splitlines(keepends=True)
    bad = body[:400] + [b"not json\n", b"[1,2]\n"] + body[400:900] + [b"{oops\n"] + body[900:]
    (where / "bad.jsonl").write_bytes(b"".join(bad))
    # `cat part1 part2`: the second header (another feed, first_seq 5000) mid-file.
    second = (SAMPLES[0].parent / "node.jsonl").read_bytes()
    header, rest = second.split(b"\n", 1)
    header = header.replace(b'"first_seq":1', b'"first_seq":5000')
    (where / "parts.jsonl").write_bytes(b"".join(body[:700]) + header + b"\n" + rest + data)
    return {
        "public": public,
        "public.gz": where / "public.jsonl.gz",
        "public.zst": where / "public.jsonl.zst",
        "node": node,
        "bad": where / "bad.jsonl",
        "parts": where / "parts.jsonl",
    }


def _same(wstail: Wstail, *args: str | Path, jobs: tuple[str, ...] = ("2", "3")) -> bytes:
    """Replay with -j 1 and each of `jobs`: the same exit, stdout and stderr; stdout returned."""
    one = wstail("replay", "-j", "1", *args, env=SMALL_BLOCKS)
    for count in jobs:
        many = wstail("replay", "-j", count, *args, env=SMALL_BLOCKS)
        assert many.code == one.code, many.stderr
        assert many.stdout == one.stdout
        assert many.stderr == one.stderr
    return one.stdout


@pytest.mark.parametrize("path", SAMPLES, ids=lambda path: path.name)
def test_bundled_samples_are_the_same_with_workers(wstail: Wstail, path: Path) -> None:
    """Every bundled sample (public, user, node, ws, sio) replays byte for byte alike."""
    assert _same(wstail, path, "--meta")


@pytest.mark.parametrize("name", ["public", "public.gz", "public.zst", "node", "bad", "parts"])
def test_bench_like_captures_are_the_same_with_workers(
    wstail: Wstail, captures: dict[str, Path], name: str
) -> None:
    """Generated captures, compressed, with bad lines and with a second part: the same."""
    assert _same(wstail, captures[name])


def test_several_files_number_on_as_with_one_process(
    wstail: Wstail, captures: dict[str, Path]
) -> None:
    """Several parts given as files: the same numbers and bad-line reports."""
    assert _same(wstail, captures["public"], captures["bad"], captures["node"])


OPTIONS = [
    ["-n", "7"],
    ["-n", "1000"],
    ["--until", "event == 'trade' && seq > `900`"],
    ["-e", "trade"],
    ["-e", "trade", "-n", "5"],
    ["-f", "seq > `1000` && event == 'depth'"],
    ["-q", "[seq, event]"],
    ["-q", "data.price", "-r"],
    ["--tsv", "-q", "[seq, event]"],
    ["--from", "seq:300", "--to", "seq:1200"],
    ["--from", "+10m", "--to", "+50m"],
    ["--stats", "-n", "333"],
    ["--stats", "-e", "ticker"],
    ["--raw", "-n", "50"],
    ["--seq", "-n", "40"],
    ["--pretty", "--color", "-n", "30"],
    ["--meta", "-x", "depth"],
]


@pytest.mark.parametrize("options", OPTIONS, ids=" ".join)
def test_stream_options_are_the_same_with_workers(
    wstail: Wstail, captures: dict[str, Path], options: list[str]
) -> None:
    """Filters, queries, windows, stop conditions and styles: the same output with workers."""
    _same(wstail, *options, captures["parts"], jobs=("2",))


def test_a_closed_pipe_of_workers_ends_quietly(captures: dict[str, Path]) -> None:
    """`replay -j 2 | head -1`: exit 0, no traceback, one line."""
    pipeline = f"'{WSTAIL}' replay -j 2 '{captures['public']}' | head -1"
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", pipeline],
        capture_output=True,
        timeout=scaled(60),
        env={"PATH": "/usr/bin:/bin", BLOCK_SIZE_VARIABLE: "3000"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == b""
    assert len(done.stdout.splitlines()) == 1


def test_an_early_stop_does_not_read_the_rest(captures: dict[str, Path]) -> None:
    """-n 3 with workers ends while the input still has frames to give: its writer is cut off."""
    data = captures["public"].read_bytes()
    header, body = data.split(b"\n", 1)
    process = subprocess.Popen(
        [str(WSTAIL), "replay", "-j", "2", "-n", "3", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdin is not None
    written = 0
    cut_off = threading.Event()

    def feed() -> None:
        """Write the capture's frames over and over: far more than any pipe holds."""
        nonlocal written
        assert process.stdin is not None
        try:
            process.stdin.write(header + b"\n")
            for _ in range(2000):
                process.stdin.write(body)
                written += 1
            process.stdin.close()
        except (BrokenPipeError, ValueError):
            cut_off.set()

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    out, err = process.communicate(timeout=scaled(60))
    feeder.join(scaled(30))
    assert process.returncode == 0, err
    assert err == b""
    assert len(out.splitlines()) == 3
    assert cut_off.is_set() and written < 2000


def test_jobs_from_the_option() -> None:
    """-j N is N workers from the start; no -j is every core, after a first stretch."""
    assert Jobs.of(3) == Jobs(3)
    assert not Jobs.of(1).parallel
    default = Jobs.of(None)
    assert default.auto and default.count >= 1


def test_split_blocks_keep_their_line_numbers() -> None:
    """Blocks cut into pieces of whole lines, each with the number of the line before it."""
    block = b"".join(b"line %d\n" % number for number in range(1, 2001))
    pieces = list(_split(iter([(10, block)]), 1000))
    assert b"".join(piece for _, piece in pieces) == block
    assert len(pieces) > 5
    for before, piece in pieces:
        assert piece.endswith(b"\n")
        assert piece.startswith(b"line %d\n" % (before - 10 + 1))


def test_a_bad_next_header_then_another_file(
    wstail: Wstail, captures: dict[str, Path], tmp_path: Path
) -> None:
    """A part whose header cannot be read ends its file's entries; the next file goes on."""
    lines = captures["public"].read_bytes().splitlines(keepends=True)
    header = lines[0].replace(b'"wstail_capture":1', b'"wstail_capture":2')
    cut = tmp_path / "cut.jsonl"
    cut.write_bytes(b"".join(lines[:600]) + header + b"".join(lines[1:900]))
    out = _same(wstail, cut, captures["node"], cut, "--stats")
    assert out


def _live_pipe(*args: str) -> tuple[subprocess.Popen[bytes], bytes]:
    """`replay -j 2 -` fed part of a capture through a pipe left open: (process, frames unsent)."""
    data = (SAMPLES[0].parent / "public.jsonl").read_bytes()
    header, body = data.split(b"\n", 1)
    process = subprocess.Popen(
        [str(WSTAIL), "replay", "-j", "2", *args, "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={"PATH": "/usr/bin:/bin", BLOCK_SIZE_VARIABLE: "300"},
    )
    assert process.stdin is not None
    process.stdin.write(header + b"\n" + body)
    process.stdin.flush()
    return process, body


def test_a_pausing_pipe_still_prints_what_came(tmp_path: Path) -> None:
    """Input that pauses (stdin still open): workers print what came, -n ends the run."""
    process, _ = _live_pipe("-n", "5")
    try:
        out, err = process.communicate(timeout=scaled(60))
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert len(out.splitlines()) == 5


def _children(pid: int) -> list[int]:
    """The child processes of `pid` (its workers)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def test_ctrl_c_ends_the_workers_quietly() -> None:
    """Ctrl-C while workers wait for more input: exit 130, no traceback, no worker left."""
    process, _ = _live_pipe()
    workers: list[int] = []

    def up() -> bool:
        workers[:] = _children(process.pid)
        return len(workers) >= 2

    out = _interrupted(process, up, "no workers started")
    assert all(line.startswith(b'{"seq":') for line in out.splitlines())  # whole lines
    for worker in workers:
        assert not Path(f"/proc/{worker}").exists() or b"zombie" in _state(worker)


def _interrupted(process: subprocess.Popen[bytes], ready: Callable[[], bool], never: str) -> bytes:
    """Ctrl-C to `process` once `ready()` holds: the rest of its stdout (exit 130, no traceback)."""
    try:
        deadline = time.monotonic() + scaled(30)
        while not ready():
            assert time.monotonic() < deadline, never
            time.sleep(0.01)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=scaled(60))
    finally:
        process.kill()
    assert process.returncode == 130, err
    assert b"Traceback" not in err
    return out


def _state(pid: int) -> bytes:
    """A process's state line (a reaped one has none)."""
    try:
        return Path(f"/proc/{pid}/status").read_bytes()
    except OSError:
        return b"zombie"


@pytest.fixture(scope="module")
def big_capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A capture past the default -j's first stretch, with bad lines on both sides of it."""
    gen = bench_gen()
    where = tmp_path_factory.mktemp("big")
    public = where / "public.jsonl"
    gen.write_public(public, where / "live_public.jsonl", random.Random(11), 32_000)
    lines = public.read_bytes().splitlines(keepends=True)
    assert sum(map(len, lines)) > AUTO_THRESHOLD * 5 // 4
    for at in (25_000, 5_000):
        lines.insert(at, b"[1.5,\n")
    big = where / "big.jsonl"
    big.write_bytes(b"".join(lines))
    return big


def test_the_default_jobs_give_one_process_output(wstail: Wstail, big_capture: Path) -> None:
    """No -j on a big capture (workers once past the first stretch): the same as -j 1."""
    one = wstail("replay", "-j", "1", big_capture)
    default = wstail("replay", big_capture)
    assert one.code == default.code == 4
    assert default.stdout == one.stdout
    assert default.stderr == one.stderr
    assert ":25002:" in one.stderr  # a line number far into the file
    piped = wstail("replay", "-", input=big_capture.read_bytes())
    assert piped.stdout == one.stdout
    assert piped.stderr == one.stderr.replace(str(big_capture), "<stdin>")


def test_stdin_from_a_file_is_read_by_the_parent(captures: dict[str, Path]) -> None:
    """`replay -j 2 - < FILE`: stdin is a regular file, but not one workers can open by name."""
    runs = []
    for jobs in ("1", "2"):
        with captures["bad"].open("rb") as stdin:
            runs.append(_run(jobs, "-", stdin=stdin))
    one, two = runs
    assert one.returncode == two.returncode == 4
    assert (two.stdout, two.stderr) == (one.stdout, one.stderr)
    assert b"<stdin>:401:" in one.stderr


# Workers write their blocks to stdout themselves when it is a file (a pipe, a
# regular file, /dev/full): only real processes have one, so these run the command.


def _run(
    jobs: str | None,
    *args: str | Path,
    stdin: Any = subprocess.DEVNULL,
    stdout: Any = subprocess.PIPE,
    stderr: Any = subprocess.PIPE,
    limit: int | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """`wstail replay -j JOBS ARGS...` (None: the default -j) in a process of its own.

    Small blocks: a small capture makes many pieces.
    """

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run(
        [str(WSTAIL), "replay", *(() if jobs is None else ("-j", jobs)), *map(str, args)],
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        timeout=scaled(60),
        env={"PATH": "/usr/bin:/bin", BLOCK_SIZE_VARIABLE: "3000"},
        preexec_fn=None if limit is None else apply,
    )


DIRECT_CASES = [
    *((name, []) for name in ("public", "public.gz", "public.zst", "node", "bad", "parts")),
    *(
        ("parts", options)
        for options in (
            ["-n", "1000"],
            ["--until", "event == 'trade' && seq > `900`"],
            ["--seq", "-n", "40"],
            ["-e", "trade", "--stats"],
        )
    ),
]


@pytest.mark.parametrize(
    ("name", "options"), DIRECT_CASES, ids=[" ".join([n, *o]) for n, o in DIRECT_CASES]
)
def test_workers_writing_stdout_themselves_give_one_process_output(
    captures: dict[str, Path], name: str, options: list[str]
) -> None:
    """Through a pipe: the same bytes, bad-line reports and exit as one process."""
    one = _run("1", *options, captures[name])
    assert one.stdout
    for jobs in ("2", "3"):
        many = _run(jobs, *options, captures[name])
        assert (many.returncode, many.stderr) == (one.returncode, one.stderr)
        assert many.stdout == one.stdout


def test_bad_lines_are_reported_in_their_place_among_the_records(
    captures: dict[str, Path], tmp_path: Path
) -> None:
    """stdout and stderr in one file (`>out 2>&1`): reports fall where one process puts them."""
    outputs = []
    for jobs in ("1", "2"):
        both = tmp_path / f"both.{jobs}"
        with both.open("wb") as sink:
            done = _run(jobs, captures["bad"], captures["public"], stdout=sink, stderr=sink)
        assert done.returncode == 4
        outputs.append(both.read_bytes())
    assert outputs[0] == outputs[1]
    assert b"bad.jsonl:401:" in outputs[0]


def test_workers_append_to_a_regular_file_at_its_end(big_capture: Path, tmp_path: Path) -> None:
    """`>> FILE`: what was there stays, with -j 2 and with the default -j."""
    expected = b"kept\n" + _run("1", big_capture).stdout
    for jobs in ("2", None):
        out = tmp_path / f"out.{jobs}"
        out.write_bytes(b"kept\n")
        with out.open("ab") as sink:
            done = _run(jobs, big_capture, stdout=sink)
        assert done.returncode == 4, done.stderr
        assert out.read_bytes() == expected


def test_a_full_disk_under_workers_is_one_line_and_exit_5(captures: dict[str, Path]) -> None:
    """stdout on /dev/full: the worker's failed write is the parent's one line, as with -j 1."""
    runs = []
    for jobs in ("1", "2"):
        with open("/dev/full", "wb") as full:
            runs.append(_run(jobs, captures["public"], stdout=full))
    for done in runs:
        assert done.returncode == 5
        assert done.stderr == b"wstail: cannot write stdout: No space left on device\n"


def test_a_file_size_limit_under_workers_is_one_line_and_exit_5(
    captures: dict[str, Path], tmp_path: Path
) -> None:
    """`ulimit -f`: the file holds every byte up to the limit, as with -j 1; one line, exit 5."""
    limit = 64 * 1024
    files = []
    for jobs in ("1", "2"):
        out = tmp_path / f"limited.{jobs}"
        with out.open("wb") as sink:
            done = _run(jobs, captures["public"], stdout=sink, limit=limit)
        assert done.returncode == 5
        assert done.stderr == b"wstail: cannot write stdout: File too large\n"
        files.append(out.read_bytes())
    assert len(files[1]) == limit
    assert files[0] == files[1]


def test_ctrl_c_mid_write_ends_stdout_on_a_whole_line(big_capture: Path) -> None:
    """Ctrl-C while a worker is blocked writing a piece to a full pipe: the piece ends whole."""
    process = subprocess.Popen(
        [str(WSTAIL), "replay", "-j", "2", str(big_capture)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    first = process.stdout.read(1000)  # then nothing: the pipe fills, a write waits

    def blocked() -> bool:
        return any(_blocked_writing(worker) for worker in _children(process.pid))

    out = first + _interrupted(process, blocked, "no worker waits on the full pipe")
    assert out.endswith(b"\n")
    assert all(orjson.loads(line)["seq"] for line in out.splitlines())


def _blocked_writing(pid: int) -> bool:
    """Whether a process sleeps in a write to a pipe (its kernel wait channel says so)."""
    try:
        return "pipe" in Path(f"/proc/{pid}/wchan").read_text()
    except OSError:
        return False
