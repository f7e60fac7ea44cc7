"""`wstail record` end to end: live feeds recorded by the real command, then replayed.

What `record --tee` printed live must be what `replay` prints from the
capture, byte for byte, recv_ts included (replay rebuilds it from the
capture's start time and offsets).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
import zstandard

from helpers.live import (
    PAYMENT_UUID,
    USER_CHANNEL,
    Done,
    Wstail,
    case_items,
    expected_lines,
    grep_secrets,
    masked,
    node_frames,
    paymium_cases,
    run_wstail,
    scenario_steps,
    wstail_env,
)
from helpers.node_peers import NodePeer
from helpers.sio_peers import run, scaled, start_peer

PUBLIC_CASES = paymium_cases("/public")
PUBLIC_ITEMS = case_items(PUBLIC_CASES)
USER_CASES = paymium_cases("/user")
USER_ITEMS = case_items(USER_CASES)
PROTOCOL = {"sio1": "eio3", "sio2": "eio3", "sio4": "eio4", "python": "eio4"}


pytestmark = pytest.mark.usefixtures("node_modules")  # npm install when missing


def read_capture(path: Path) -> bytes:
    """A capture file's text, decompressed by its extension."""
    raw = path.read_bytes()
    if path.name.endswith(".gz"):
        return gzip.decompress(raw)
    if path.name.endswith(".zst"):
        return zstandard.ZstdDecompressor().stream_reader(raw).read()
    return raw


def header_of(path: Path) -> dict[str, Any]:
    """The decoded header line of a capture."""
    header: dict[str, Any] = json.loads(read_capture(path).split(b"\n", 1)[0])
    return header


def replay(*paths: Path, env: dict[str, str], args: tuple[str, ...] = ()) -> Done:
    """`wstail replay ARGS PATHS...` run to its end."""
    return run(lambda: run_wstail("replay", *args, *map(str, paths), env=env))


def record_public(
    kind: str, output: Path, env: dict[str, str], *args: str, cases: list[Any] = PUBLIC_CASES
) -> Done:
    """`wstail record -o OUTPUT public --tee ARGS` against a peer playing `cases`."""

    async def body() -> Done:
        async with start_peer(kind, scenario_steps(cases, "/public")) as peer:
            return await run_wstail(
                "record", "-o", str(output), "public", "--url", peer.url, "--tee", *args, env=env
            )

    return run(body, timeout=20)


@pytest.mark.parametrize(
    ("kind", "name", "meta"),
    [
        ("sio1", "cap.jsonl.gz", False),
        ("sio4", "cap.jsonl.zst", True),
        ("python", "cap.jsonl", False),
    ],
)
def test_record_then_replay_gives_what_tee_printed(
    kind: str, name: str, meta: bool, tmp_path: Path
) -> None:
    """record --tee prints what replay of the capture prints, recv_ts included; replay is stable."""
    env = wstail_env(tmp_path)
    output = tmp_path / name
    flags = ("--meta",) if meta else ()
    done = record_public(kind, output, env, "-n", str(len(PUBLIC_ITEMS)), *flags)
    assert done.code == 0, done.err
    data = [line for line in done.lines if b'"event":"meta.' not in line]
    assert [masked(line) for line in data] == expected_lines(PUBLIC_ITEMS, 2)
    replayed = replay(output, env=env, args=flags)
    assert replayed.code == 0, replayed.err
    assert replayed.out == done.out
    assert replay(output, env=env, args=flags).out == replayed.out  # byte-identical again
    header = header_of(output)
    assert header["source"] == "paymium.public"
    assert header["protocol"] == PROTOCOL[kind]
    assert header["first_seq"] == 1
    assert oct(output.stat().st_mode & 0o777) == oct(0o666 & ~current_umask())


def current_umask() -> int:
    """This process's umask."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_record_duration_then_replay(tmp_path: Path) -> None:
    """record --duration ends with exit 0 and the capture replays to what tee printed."""
    env = wstail_env(tmp_path)
    output = tmp_path / "cap.jsonl.gz"
    done = record_public(
        "sio2", output, env, "--duration", str(scaled(1.2)), cases=PUBLIC_CASES[:6]
    )
    assert done.code == 0, done.err
    items = case_items(PUBLIC_CASES[:6])
    assert [masked(line) for line in done.lines] == expected_lines(items, 2)
    assert replay(output, env=env).out == done.out


def test_user_capture_is_private_and_holds_no_channel_id(tmp_path: Path) -> None:
    """record user: the capture is created 0600, replays exactly, and no channel ID shows."""
    env = wstail_env(tmp_path, WSTAIL_CHANNELS=PAYMENT_UUID)
    output = tmp_path / "user.jsonl.gz"
    (tmp_path / "channels").write_text(USER_CHANNEL + "\n")
    steps = scenario_steps(USER_CASES, "/user", after_channels=2)

    async def body() -> tuple[Done, list[dict[str, Any]]]:
        async with start_peer("sio1", steps) as peer:
            done = await run_wstail(
                "record", "-o", str(output), "user", "--channel-file", str(tmp_path / "channels"),
                "--url", peer.url, "--tee", "--meta", "-n", str(len(USER_ITEMS)), env=env,
            )  # fmt: skip
            return done, peer.log.of("channel")

    done, channels = run(body, timeout=20)
    assert done.code == 0, done.err
    assert [entry["channel"] for entry in channels] == [USER_CHANNEL, PAYMENT_UUID]
    assert output.stat().st_mode & 0o777 == 0o600
    replayed = replay(output, env=env, args=("--meta",))
    assert replayed.out == done.out
    data = [line for line in done.lines if b'"event":"meta.' not in line]
    assert [masked(line) for line in data] == expected_lines(USER_ITEMS, 2)
    capture = read_capture(output)
    assert grep_secrets(capture, output.read_bytes(), done.out, done.err, replayed.err) == []
    assert header_of(output)["source"] == "paymium.user"


def part_number(path: Path) -> int:
    """0 for cap[-YYYY].jsonl.gz, n for cap[-YYYY].n.jsonl.gz."""
    match = re.fullmatch(r"cap(?:-\d{4})?(?:\.(\d+))?\.jsonl\.gz", path.name)
    assert match, path.name
    return int(match.group(1) or 0)


@pytest.mark.parametrize("pattern", ["cap.jsonl.gz", "cap-%Y.jsonl.gz"])
def test_rotate_size_parts_replay_in_sequence(pattern: str, tmp_path: Path) -> None:
    """--rotate-size makes several parts (none overwritten); replayed in order: tee's envelopes."""
    env = wstail_env(tmp_path)
    output = tmp_path / pattern
    # 2k of lines made several parts when the size counted them uncompressed; on disk, 512
    # bytes of gzip do.
    done = record_public(
        "sio4", output, env, "-n", str(len(PUBLIC_ITEMS)), "--rotate-size", "512", "--meta"
    )
    assert done.code == 0, done.err
    parts = sorted(tmp_path.glob("cap*.jsonl.gz"), key=part_number)
    assert [part_number(p) for p in parts] == list(range(len(parts)))
    assert len(parts) >= 3
    first_seqs = [header_of(p)["first_seq"] for p in parts]
    assert first_seqs[0] == 1 and first_seqs == sorted(set(first_seqs))
    replayed = replay(*parts, env=env, args=("--meta",))
    assert replayed.code == 0, replayed.err
    assert replayed.out == done.out
    for part, first_seq in zip(parts[1:], first_seqs[1:], strict=True):
        alone = replay(part, env=env, args=("--meta",))
        assert json.loads(alone.lines[0])["seq"] == first_seq


def test_record_node_text_and_binary_frames(tmp_path: Path) -> None:
    """record node keeps pretty-printed text and binary frames; replay gives what tee printed."""
    env = wstail_env(tmp_path)
    output = tmp_path / "node.jsonl.zst"
    frames = node_frames()
    items = [item for _, frame_items in frames for item in frame_items]
    binary = b'{"status": "publishing"}'

    async def body() -> Done:
        peer = await NodePeer().start()
        try:
            command = ["record", "-o", str(output), "node", "--url", peer.url, "--tee"]
            async with Wstail(*command, "-n", str(len(items) + 1), env=env) as wstail:
                connection = await peer.accepted()
                for text, _ in frames:
                    await connection.send(text)
                await connection.send(binary)
                return await wstail.finish()
        finally:
            await peer.stop()

    done = run(body, timeout=20)
    assert done.code == 0, done.err
    assert [masked(line) for line in done.lines] == expected_lines(
        [*items, ("node", "status", None, '{"status":"publishing"}')], 2
    )
    assert replay(output, env=env).out == done.out
    header = header_of(output)
    assert (header["source"], header["protocol"]) == ("node", "websocket")
    assert output.stat().st_mode & 0o777 == 0o600  # node feeds carry private data too


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_during_record_closes_the_capture_whole(
    signum: signal.Signals, tmp_path: Path
) -> None:
    """SIGINT or SIGTERM mid-recording: exit 130, gzip -t accepts the file, it replays."""
    env = wstail_env(tmp_path)
    output = tmp_path / "cap.jsonl.gz"
    cases = PUBLIC_CASES[:8]
    wanted = 4

    async def body() -> Done:
        async with start_peer("sio2", scenario_steps(cases, "/public")) as peer:
            command = ["record", "-o", str(output), "public", "--url", peer.url, "--tee"]
            async with Wstail(*command, env=env) as wstail:
                for _ in range(wanted):
                    assert await wstail.line()
                wstail.send_signal(signum)
                return await wstail.finish()

    done = run(body, timeout=20)
    assert done.code == 130, done.err
    assert done.err_lines[-1] == "wstail: interrupted"
    assert len(done.lines) >= wanted
    subprocess.run(["gzip", "-t", str(output)], check=True, timeout=scaled(10))
    replayed = replay(output, env=env)
    assert replayed.code == 0, replayed.err
    assert replayed.out == done.out


def test_record_refuses_to_tee_into_its_own_stdout(tmp_path: Path) -> None:
    """record -o - --tee is a usage error (exit 2), before connecting."""
    done = run(
        lambda: run_wstail(
            "record",
            "-o",
            "-",
            "public",
            "--tee",
            "--url",
            "http://127.0.0.1:9",
            env=wstail_env(tmp_path),
        )  # fmt: skip
    )
    assert done.code == 2
    assert done.out == b""


def test_record_to_stdout_replays_from_stdin(tmp_path: Path) -> None:
    """record -o - writes the capture to stdout; `replay -` reads it back."""
    env = wstail_env(tmp_path)
    cases = PUBLIC_CASES[:4]
    items = case_items(cases)

    async def body() -> tuple[Done, Done]:
        async with start_peer("python", scenario_steps(cases, "/public")) as peer:
            captured = await run_wstail(
                "record", "-o", "-", "public", "--url", peer.url, "-n", str(len(items)), env=env
            )
        replayed = await run_wstail("replay", "-", env=env, stdin=captured.out)
        return captured, replayed

    captured, replayed = run(body)
    assert captured.code == 0, captured.err
    assert captured.lines[0].startswith(b'{"wstail_capture":1,')
    assert replayed.code == 0, replayed.err
    assert [masked(line) for line in replayed.lines] == expected_lines(items, 2)


def test_part_name_never_reuses_a_name_of_the_run() -> None:
    """Rotated parts get numbers when the pattern has no fields or its filled name is taken."""
    from wstail.recorder import part_name

    day = 1_795_428_000_000_000  # 2026-11-23T10:00:00Z
    assert part_name("cap.jsonl.gz", 0, day) == "cap.jsonl.gz"
    assert part_name("cap.jsonl.gz", 2, day) == "cap.2.jsonl.gz"
    assert part_name("d/%Y%m%d.jsonl", 0, day) == "d/20261123.jsonl"
    assert part_name("d/%Y%m%d.jsonl", 1, day, ["d/20261123.jsonl"]) == "d/20261123.1.jsonl"
    assert part_name("d/%Y%m%d.jsonl", 5, day + 86_400_000_000, ["d/20261123.jsonl"]) == (
        "d/20261124.jsonl"
    )
