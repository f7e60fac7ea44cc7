"""`replay --follow FILE|DIR` of live recordings, and `replay DIR` in the order of headers.

The follower is the real command following a real `wstail record` (of the
bundled sample served on 127.0.0.1 by `--demo`, a socket.io server, or of
the paymium_server.js peer); what it printed is compared, byte for byte,
with a replay of the finished files. The recorder is only stopped once the
follower has ended by itself (-n), so what it printed was read live.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import Wstail as InProcess
from helpers.live import (
    WSTAIL,
    Done,
    Wstail,
    case_items,
    paymium_cases,
    scenario_steps,
    wstail_env,
)
from helpers.serve import meta, sio, write_capture
from helpers.sio_peers import run, scaled, start_peer
from wstail.capture import CaptureHeader, encode_frame
from wstail.frames import Frame
from wstail.wholelines import open_lines

EXTENSIONS = ["jsonl", "jsonl.gz", "jsonl.zst"]
START_US = 1_795_428_000_000_000


async def follow_live_record(
    record_args: list[str], follow_args: list[str], env: dict[str, str]
) -> tuple[Done, Done]:
    """A follower started beside a running `record`; the record stopped once the follower ended."""
    async with Wstail(*record_args, env=env) as recorder:
        async with Wstail("replay", "--follow", *follow_args, env=env) as follower:
            followed = await follower.finish(timeout=60)
        assert recorder.process is not None and recorder.process.returncode is None, (
            "the recording ended before the follower: nothing was shown to be followed live"
        )
        recorder.send_signal(signal.SIGINT)
        recorded = await recorder.finish(timeout=20)
    return followed, recorded


@pytest.mark.parametrize("extension", EXTENSIONS)
def test_follow_a_directory_across_rotation(
    extension: str, tmp_path: Path, wstail: InProcess
) -> None:
    """Following a directory `record --rotate-size` writes parts into prints, live, what a
    replay of the finished directory prints, seq continuous across the parts."""
    env = wstail_env(tmp_path)
    parts = tmp_path / "parts"
    parts.mkdir()
    record = ["record", "public", "--demo", "--speed", "20", "--rotate-size", "2k"]
    record += ["-o", str(parts / f"cap.{extension}")]
    followed, recorded = run(
        lambda: follow_live_record(record, [str(parts), "-n", "150"], env), timeout=90
    )
    assert followed.code == 0, followed.err
    assert followed.err == b""
    assert recorded.code == 130, recorded.err
    assert len(list(parts.iterdir())) >= 3  # rotated at least twice while followed
    replayed = wstail("replay", parts, "-n", "150")
    assert replayed.code == 0, replayed.stderr
    assert followed.out == replayed.stdout
    seqs = [json.loads(line)["seq"] for line in followed.lines]
    assert seqs == list(range(seqs[0], seqs[0] + 150))


@pytest.mark.usefixtures("node_modules")
@pytest.mark.parametrize("extension", EXTENSIONS)
def test_follow_a_file_record_writes(extension: str, tmp_path: Path, wstail: InProcess) -> None:
    """Following one capture while `record public` of the socket.io peer writes it prints
    every envelope, as a replay of the finished file does."""
    env = wstail_env(tmp_path)
    cases = paymium_cases("/public")
    count = len(case_items(cases))
    output = tmp_path / f"cap.{extension}"

    async def body() -> tuple[Done, Done]:
        steps = scenario_steps(cases, "/public")
        async with start_peer("sio4", steps) as peer:
            record = ["record", "-o", str(output), "public", "--url", peer.url]
            return await follow_live_record(record, [str(output), "-n", str(count)], env)

    followed, recorded = run(body, timeout=60)
    assert followed.code == 0, followed.err
    assert recorded.code == 130, recorded.err
    replayed = wstail("replay", output)
    assert replayed.code == 0, replayed.stderr
    assert followed.out == replayed.stdout
    assert len(followed.lines) == count


def capture_states(extension: str, tmp_path: Path, frames: int) -> list[bytes]:
    """The bytes of a capture written by record's line writer after its header and each frame."""
    scratch = tmp_path / f"scratch.{extension}"
    fd = os.open(scratch, os.O_RDWR | os.O_CREAT | os.O_TRUNC)
    lines = open_lines(fd, str(scratch))
    header = CaptureHeader(
        source="paymium.public", start_us=START_US, url="http://x", protocol="eio4", tool="test"
    )
    states = []
    lines.write_line(header.encode() + b"\n")
    states.append(scratch.read_bytes())
    for n in range(frames):
        price = 76000 + n
        payload = f'["stream",{{"ticker":{{"price":"{price}.1","currency":"EUR"}}}}]'
        frame = Frame(
            recv_us=START_US + n * 100_000, kind="sio", channel="/public", payload=payload
        )
        lines.write_line(encode_frame(frame, START_US) + b"\n")
        states.append(scratch.read_bytes())
    lines.close()
    return states


@pytest.mark.parametrize("extension", EXTENSIONS)
def test_a_torn_last_line_is_waited_for(extension: str, tmp_path: Path) -> None:
    """A line half written (plain), or half a compressed line over the rewritten end
    (.gz, .zst), is waited for: the follower prints it whole once the rest comes, and
    reports nothing."""
    states = capture_states(extension, tmp_path, 4)
    target = tmp_path / f"cap.{extension}"
    target.write_bytes(states[3])  # the header and three frames, a whole stream
    env = wstail_env(tmp_path)

    async def body() -> Done:
        async with Wstail("replay", "--follow", str(target), "-n", "4", env=env) as follower:
            got = [await follower.line() for _ in range(3)]
            assert all(b'"event":"ticker"' in line for line in got)
            before, after = states[3], states[4]
            torn = (len(before) + len(after)) // 2  # beyond the old end, short of the new
            with open(target, "r+b") as handle:
                handle.write(after[:torn])
            await asyncio.sleep(0.5)  # several looks at the torn state
            with open(target, "r+b") as handle:
                handle.write(after)
            return await follower.finish()

    done = run(body, timeout=30)
    assert done.code == 0, done.err
    assert done.err == b""
    assert len(done.lines) == 4
    assert b'"price":76003.1' in done.lines[3]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_idle_follow_costs_no_cpu_to_speak_of(signum: signal.Signals, tmp_path: Path) -> None:
    """A follower with nothing new to read uses well under a CPU second in two seconds;
    Ctrl-C or SIGTERM ends it with exit 130 and one line."""
    target = write_capture(
        tmp_path / "cap.jsonl", "paymium.public", [meta(0), sio(0.1, "/public", '["x",{}]')]
    )
    process = subprocess.Popen(
        [WSTAIL, "replay", "--follow", str(target)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=wstail_env(tmp_path),
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline()  # caught up: idle from here
        before = cpu_seconds(process.pid)
        time.sleep(2)
        used = cpu_seconds(process.pid) - before
        assert process.poll() is None
        process.send_signal(signum)
        _, err = process.communicate(timeout=scaled(10))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert used < 0.5, used
    assert process.returncode == 130, err
    assert err.decode().splitlines() == ["wstail: interrupted"]


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds a process has used (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        (["--idle-timeout", "0.5"], 124, "wstail: no envelope passed the filters for 0.5s"),
        (["--duration", "0.5"], 0, ""),
        (["--to", "seq:3"], 0, ""),
        (["-n", "2"], 0, ""),
    ],
)
def test_a_follow_ends_by_its_stop_conditions(
    args: list[str], code: int, said: str, tmp_path: Path, wstail: InProcess
) -> None:
    """--idle-timeout (124), --duration, --to and -n end a follow of a capture no one writes."""
    frames = [meta(0), *(sio(n / 10, "/public", '["x",{}]') for n in range(1, 5))]
    target = write_capture(tmp_path / "cap.jsonl", "paymium.public", frames)
    result = wstail("replay", "--follow", target, *args)
    assert result.code == code, result.stderr
    assert result.stderr.strip() == said
    expected = {"-n": 2, "--to": 1}.get(args[0], 4)
    assert len(result.stdout.splitlines()) == expected


@pytest.mark.parametrize(
    "args",
    [["-"], ["a.jsonl", "b.jsonl"], ["--serve", "0", "a.jsonl"], []],
)
def test_follow_usage_errors(args: list[str], wstail: InProcess) -> None:
    """--follow of stdin, of several inputs or with --serve is a usage error (exit 2)."""
    result = wstail("replay", "--follow", *args)
    assert result.code == 2, result.stderr
    assert "--follow" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_follow_waits_for_a_file_to_appear(tmp_path: Path) -> None:
    """A FILE that does not exist yet is waited for (one line), then followed."""
    target = tmp_path / "later.jsonl"
    env = wstail_env(tmp_path)

    async def body() -> Done:
        async with Wstail("replay", "--follow", str(target), "-n", "1", env=env) as follower:
            await asyncio.sleep(0.3)
            write_capture(target, "paymium.public", [meta(0), sio(0.1, "/public", '["x",{}]')])
            return await follower.finish()

    done = run(body, timeout=30)
    assert done.code == 0, done.err
    assert done.err_lines == [f"wstail: {target} does not exist (yet): waiting for it"]
    assert len(done.lines) == 1


def part(path: Path, start_us: int, number: int, first_seq: int, price: int) -> Path:
    """A one-frame capture part with this start, part number (0: none) and first seq."""
    extra = {"part": number} if number else {}
    header = CaptureHeader(
        source="paymium.public",
        start_us=start_us,
        url="http://x",
        protocol="eio4",
        tool="test",
        first_seq=first_seq,
        extra=extra,
    )
    payload = f'["stream",{{"ticker":{{"price":"{price}","currency":"EUR"}}}}]'
    frame = Frame(recv_us=start_us + 500_000, kind="sio", channel="/public", payload=payload)
    path.write_bytes(header.encode() + b"\n" + encode_frame(frame, start_us) + b"\n")
    return path


def test_replay_dir_orders_parts_by_header_not_name(tmp_path: Path, wstail: InProcess) -> None:
    """replay DIR takes the parts by start, then part number, whatever their names; an
    NDJSON file is one line and passed over; hidden and .idx files are passed over in
    silence; the sequence numbers run on across the parts."""
    directory = tmp_path / "day"
    directory.mkdir()
    made = [
        part(directory / "z-first.jsonl", START_US, 0, 1, 1),
        part(directory / "b-second.jsonl", START_US + 10_000_000, 1, 2, 2),
        part(directory / "a-third.jsonl", START_US + 10_000_000, 2, 3, 3),
        part(directory / "c-fourth.jsonl", START_US + 20_000_000, 3, 4, 4),
    ]
    (directory / "notes.ndjson").write_bytes(wstail("replay", made[0]).stdout)
    (directory / ".hidden.jsonl").write_bytes(b"not json\n")
    (directory / "cap.jsonl.idx").write_bytes(b"\x00\x01")
    (directory / "README").write_text("parts of a day\n")
    (directory / "sub").mkdir()
    result = wstail("replay", directory)
    assert result.code == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"wstail: {directory / 'README'}: not a capture, passed over",
        f"wstail: {directory / 'notes.ndjson'}: wstail NDJSON, passed over",
    ]
    assert [record["data"]["price"] for record in result.records] == [1, 2, 3, 4]
    assert [record["seq"] for record in result.records] == [1, 2, 3, 4]
    assert result.stdout == wstail("replay", *made).stdout


def test_replay_of_a_directory_without_captures(tmp_path: Path, wstail: InProcess) -> None:
    """A directory with no capture is an input that gave nothing: one line, exit 4, alone
    or beside others (which still replay); --serve of a directory is a usage error."""
    empty = tmp_path / "empty"
    empty.mkdir()
    alone = wstail("replay", empty)
    assert alone.code == 4
    assert alone.stderr == f"wstail: {empty}: no capture in this directory\n"
    capture = part(tmp_path / "cap.jsonl", START_US, 0, 1, 1)
    both = wstail("replay", empty, capture)
    assert both.code == 4
    assert both.stderr.splitlines() == [
        f"wstail: {empty}: no capture in this directory",
        "wstail: replay finished with 1 unreadable file",
    ]
    assert len(both.records) == 1
    served = wstail("replay", "--serve", "0", tmp_path)
    assert served.code == 2
    assert served.stderr == "wstail: --serve takes one capture FILE, not a directory\n"


def test_replay_dir_reports_a_bad_part(tmp_path: Path, wstail: InProcess) -> None:
    """A part whose header cannot be read is reported as a named file is (exit 4), after
    the good parts are printed."""
    directory = tmp_path / "day"
    directory.mkdir()
    part(directory / "a.jsonl", START_US, 0, 1, 1)
    bad = directory / "b.jsonl"
    bad.write_bytes(b'{"wstail_capture":9,"source":"x"}\n')
    result = wstail("replay", directory)
    assert result.code == 4
    assert len(result.records) == 1
    assert result.stderr.splitlines()[0] == (
        f"{bad}:1: capture format version 9 is not supported (this reads 1)"
    )
