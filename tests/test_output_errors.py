"""Output failures with the real conditions: a file size limit, /dev/full, a vanished directory.

Every case runs the real command in a subprocess against a node-like server
on 127.0.0.1: the run ends with one line naming the file (or stdout) and
the system's reason, exit 5, and a capture that ends on a whole line and
replays cleanly.
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import resource
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from helpers.live import WSTAIL, Done, wstail_env
from helpers.node_peers import NodePeer, run
from helpers.timeouts import scaled

LIMIT = 64 * 1024  # RLIMIT_FSIZE of the runs that hit a file size limit
PR_CAPBSET_DROP = 24  # <linux/prctl.h>
CAP_DAC_OVERRIDE = 1  # <linux/capability.h>


def frame(n: int, pad: int = 200) -> str:
    """A node status frame, numbered, about `pad` bytes long."""
    return json.dumps({"status": f"n{n}", "pad": "x" * pad})


def size_limit(limit: int) -> Callable[[], None]:
    """A preexec_fn that sets the child's file size limit (`ulimit -f`)."""

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


async def run_against_peer(
    args: list[str],
    frames: list[str],
    *,
    stdout: int | object = subprocess.PIPE,
    preexec: Callable[[], None] | None = None,
    env: dict[str, str],
    between: Callable[[int], None] | None = None,
    gap: float = 0.0,
    timeout: float = 30.0,
) -> Done:
    """Run wstail ARGS --url PEER, send `frames` to it, and wait for its end.

    `between(i)` runs before frame i is sent (to change the world mid-run);
    `gap` seconds pass between frames (a live feed, not one burst).
    """
    peer = await NodePeer().start()
    try:
        process = await asyncio.create_subprocess_exec(
            WSTAIL,
            *args,
            "--url",
            peer.url,
            "--retries",
            "0",
            stdin=subprocess.DEVNULL,
            stdout=stdout,  # type: ignore[arg-type]
            stderr=subprocess.PIPE,
            env=env,
            preexec_fn=preexec,
        )
        connection = await peer.accepted()
        for index, text in enumerate(frames):
            if between is not None:
                between(index)
            if process.returncode is not None:
                break
            if gap:
                await asyncio.sleep(gap)
            try:
                await connection.send(text)
            except Exception:  # noqa: BLE001 - the client went away: it has its outcome
                break
        async with asyncio.timeout(scaled(timeout)):
            out, err = await process.communicate()
            return Done(process.returncode or 0, out or b"", err)
    finally:
        await peer.stop()


def replay(path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    """`wstail replay PATH`, to its end."""
    return subprocess.run(
        [WSTAIL, "replay", str(path)], capture_output=True, env=env, timeout=scaled(30)
    )


@pytest.mark.parametrize("ext", ["", ".gz", ".zst"], ids=["plain", "gz", "zst"])
def test_record_cut_by_a_file_size_limit_ends_whole_and_replays_clean(
    ext: str, tmp_path: Path
) -> None:
    """ulimit -f during record: exit 5, one line with the reason; the capture replays clean."""
    env = wstail_env(tmp_path)
    capture = tmp_path / f"cut.jsonl{ext}"
    # Random padding: compressed captures must reach the limit too.
    frames = [json.dumps({"status": f"n{n}", "pad": os.urandom(120).hex()}) for n in range(4000)]
    done = run(
        lambda: run_against_peer(
            ["record", "-o", str(capture), "node"],
            frames,
            preexec=size_limit(LIMIT),
            env=env,
        ),
        timeout=60,
    )
    assert done.code == 5, done.err
    assert done.err_lines[-1] == f"wstail: cannot write {capture}: File too large"
    assert b"Traceback" not in done.err
    assert capture.stat().st_size <= LIMIT
    replayed = replay(capture, env)
    assert replayed.returncode == 0, replayed.stderr
    lines = replayed.stdout.splitlines()
    assert len(lines) > 10
    statuses = [json.loads(line)["data"]["status"] for line in lines]
    assert statuses == [f"n{n}" for n in range(len(statuses))]  # whole, in order, none lost
    if not ext:
        assert capture.read_bytes().endswith(b"\n")


def test_tail_to_a_file_over_its_size_limit_says_stdout(tmp_path: Path) -> None:
    """tail node > file under ulimit -f: exit 5, "cannot write stdout: File too large"."""
    env = wstail_env(tmp_path)
    out = tmp_path / "out.ndjson"
    frames = [frame(n) for n in range(2000)]
    with out.open("wb") as sink:
        done = run(
            lambda: run_against_peer(
                ["tail", "node"], frames, stdout=sink, preexec=size_limit(LIMIT), env=env
            ),
            timeout=60,
        )
    assert done.code == 5, done.err
    assert done.err_lines[-1] == "wstail: cannot write stdout: File too large"
    assert out.stat().st_size <= LIMIT


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "PYTHONUNBUFFERED"])
def test_tail_whose_last_write_fails_while_the_feed_is_quiet_still_exits(
    tmp_path: Path, unbuffered: bool
) -> None:
    """The output failing after the last frame (the feed then quiet) ends the run: exit 5.

    One frame larger than the file size limit: the writer's thread fails on
    it after the pump has handed it over and gone back to waiting for the
    socket, where no other frame will ever wake it. With PYTHONUNBUFFERED
    stdout is the raw file, which takes the bytes up to the limit and says
    nothing of the rest: they must still be written, or the failure said.
    """
    env = wstail_env(tmp_path)
    env.pop("PYTHONUNBUFFERED", None)
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    out = tmp_path / "out.ndjson"
    with out.open("wb") as sink:
        done = run(
            lambda: run_against_peer(
                ["tail", "node"],
                [frame(0, pad=2 * LIMIT)],
                stdout=sink,
                preexec=size_limit(LIMIT),
                env=env,
                timeout=15,
            ),
            timeout=30,
        )
    assert done.code == 5, done.err
    assert done.err_lines[-1] == "wstail: cannot write stdout: File too large"


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_replay_to_dev_full_fails_with_the_reason(tmp_path: Path) -> None:
    """replay > /dev/full: exit 5 and one line, no traceback."""
    env = wstail_env(tmp_path)
    source = tmp_path / "in.ndjson"
    source.write_text(
        "".join(
            json.dumps(
                {
                    "seq": n,
                    "recv_ts": "2026-11-23T10:00:00.000000Z",
                    "source": "node",
                    "event": "status",
                    "event_ts": None,
                    "data": {"status": "x"},
                }
            )
            + "\n"
            for n in range(1, 100)
        )
    )
    with open("/dev/full", "wb") as full:
        done = subprocess.run(
            [WSTAIL, "replay", str(source)], stdout=full, stderr=subprocess.PIPE, env=env
        )
    assert done.returncode == 5
    assert done.stderr.decode() == "wstail: cannot write stdout: No space left on device\n"


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
@pytest.mark.parametrize("command", ["tail", "record --tee"])
def test_live_output_to_dev_full_fails_with_the_reason(command: str, tmp_path: Path) -> None:
    """tail node and record --tee with stdout on /dev/full: exit 5, one line; the capture whole."""
    env = wstail_env(tmp_path)
    capture = tmp_path / "tee.jsonl"
    args = (
        ["tail", "node"] if command == "tail" else ["record", "-o", str(capture), "node", "--tee"]
    )
    with open("/dev/full", "wb") as full:
        done = run(
            lambda: run_against_peer(
                args, [frame(n) for n in range(500)], stdout=full, env=env, gap=0.01
            ),
            timeout=30,
        )
    assert done.code == 5, done.err
    assert done.err_lines[-1] == "wstail: cannot write stdout: No space left on device"
    if command != "tail":
        assert replay(capture, env).returncode == 0


def in_order(directory: Path) -> list[Path]:
    """The capture parts in DIRECTORY in the order they were written (by their first_seq)."""

    def first_seq(path: Path) -> int:
        with path.open("rb") as part:
            return int(json.loads(part.readline())["first_seq"])

    return sorted(directory.glob("*.jsonl"), key=first_seq)  # not their indexes (.idx)


def test_rotation_into_a_removed_directory_keeps_the_current_part(tmp_path: Path) -> None:
    """The directory of the parts goes away: said once, the current part gets every frame."""
    env = wstail_env(tmp_path)
    parts = tmp_path / "parts"
    parts.mkdir()
    moved = tmp_path / "moved"
    frames = [frame(n) for n in range(300)]

    def remove_at(index: int) -> None:
        if index == 100:
            parts.rename(moved)  # gone from its path; the open part still writes

    done = run(
        lambda: run_against_peer(
            ["record", "-o", str(parts / "p.jsonl"), "--rotate-size", "8k", "node", "-n", "300"],
            frames,
            env=env,
            between=remove_at,
        ),
        timeout=60,
    )
    assert done.code == 0, done.err
    warnings = [line for line in done.err_lines if "recording goes on" in line]
    assert len(warnings) == 1, done.err
    assert "No such file or directory" in warnings[0]
    statuses = []
    for path in in_order(moved):
        replayed = replay(path, env)
        assert replayed.returncode == 0, replayed.stderr
        statuses += [json.loads(line)["data"]["status"] for line in replayed.stdout.splitlines()]
    assert statuses == [f"n{n}" for n in range(300)]


def without_dac_override() -> Callable[[], None] | None:
    """How to start a run that must meet Permission denied in a read-only directory.

    Root writes into any directory through CAP_DAC_OVERRIDE: as root, the
    child drops that capability from its bounding set before exec (so the
    wstail it runs has it in no set); other users need nothing.
    """
    if os.geteuid() != 0:
        return None

    def drop() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP, CAP_DAC_OVERRIDE)")

    return drop


def test_rotation_into_a_read_only_directory_keeps_the_current_part(tmp_path: Path) -> None:
    """The directory of the parts turns read-only: said once, no frame lost."""
    env = wstail_env(tmp_path)
    parts = tmp_path / "parts"
    parts.mkdir()
    frames = [frame(n) for n in range(300)]

    def lock_at(index: int) -> None:
        if index == 100:
            parts.chmod(0o555)

    try:
        done = run(
            lambda: run_against_peer(
                [
                    "record",
                    "-o",
                    str(parts / "p.jsonl"),
                    "--rotate-size",
                    "8k",
                    "node",
                    "-n",
                    "300",
                ],
                frames,
                env=env,
                preexec=without_dac_override(),
                between=lock_at,
            ),
            timeout=60,
        )
        assert done.code == 0, done.err
        warnings = [line for line in done.err_lines if "recording goes on" in line]
        assert len(warnings) == 1 and "Permission denied" in warnings[0], done.err
        statuses = []
        for path in in_order(parts):
            statuses += [
                json.loads(line)["data"]["status"] for line in replay(path, env).stdout.splitlines()
            ]
        assert statuses == [f"n{n}" for n in range(300)]
    finally:
        parts.chmod(0o755)


def test_a_40_mb_frame_to_a_file_arrives_whole_with_the_frames_after_it(tmp_path: Path) -> None:
    """tail node > file: a 40 MB envelope is never dropped for its size, nor what follows."""
    env = wstail_env(tmp_path)
    out = tmp_path / "big.ndjson"
    big = json.dumps({"status": "big", "pad": "y" * (40 * 1024 * 1024)})
    frames = [frame(0), big] + [frame(n) for n in range(1, 50)]
    with out.open("wb") as sink:
        done = run(
            lambda: run_against_peer(["tail", "node", "-n", "51"], frames, stdout=sink, env=env),
            timeout=60,
        )
    assert done.code == 0, done.err
    assert b"dropped" not in done.err
    with out.open("rb") as printed:
        statuses = [json.loads(line)["data"]["status"] for line in printed]
    assert statuses == ["n0", "big"] + [f"n{n}" for n in range(1, 50)]
