"""Hardening: slow readers, signals and secrets, against real processes."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.timeouts import SCALE

PEERS = Path(__file__).resolve().parent / "peers"
SAMPLES = Path(__file__).resolve().parent.parent / "cli" / "wstail" / "data"
WSTAIL = [sys.executable, "-m", "wstail"]


def start_flood(*args: str) -> subprocess.Popen[str]:
    """tests/peers/flood_server.py ARGS, its port read from its first line."""
    proc = subprocess.Popen(
        [sys.executable, str(PEERS / "flood_server.py"), *args], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    return proc


@contextlib.contextmanager
def flooding(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """A flooding node-like server and its URL, killed on exit."""
    proc = start_flood(*args)
    assert proc.stdout is not None
    port = proc.stdout.readline().strip()
    try:
        yield proc, f"ws://127.0.0.1:{port}/ws"
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture
def flood() -> Iterator[tuple[subprocess.Popen[str], str]]:
    """A flooding node-like server: 30,000 frames of ~2 KiB (60 MB) to each client."""
    with flooding("30000", "2048") as served:
        yield served


def wait_for_line(proc: subprocess.Popen[str], wanted: str, timeout: float) -> None:
    """Read the server's stdout until a line starts with `wanted`."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout * SCALE
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith(wanted):
            return
    raise AssertionError(f"server never said {wanted!r}")


def test_tail_with_a_blocked_reader_drops_within_a_bound_and_says_so() -> None:
    """stdout blocked while 64 MB arrive over seconds: tail keeps reading, drops, says so.

    Drops start only once the reader has been stalled a while (1 s) with the
    queue at its bound: 8,000 frames of 8 KiB, 0.5 ms apart, take seconds to
    fill the 32 MiB bound, the reader never reading until the server is done.
    """
    with flooding("8000", "8192", "0", "0.0005") as (server, url):
        tail = subprocess.Popen(
            [*WSTAIL, "tail", "node", "--url", url, "-n", "8000", "--compact"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        wait_for_line(server, "sent", 120)  # the server got everything out: we kept reading
        out, err = tail.communicate(timeout=60 * SCALE)
    assert tail.returncode == 0, err
    printed = out.count(b"\n")
    dropped = sum(int(n) for n in re.findall(rb"dropped (\d+) envelope", err))
    assert dropped > 0, err
    assert re.search(rb"stdout was blocked for \d+(\.\d+)?s", err), err
    assert printed + dropped == 8000
    assert b"Traceback" not in err


def test_record_keeps_every_frame_while_tee_reader_is_blocked(
    flood: tuple[subprocess.Popen[str], str], tmp_path: Path
) -> None:
    """record --tee with a blocked stdout: the capture still holds every frame."""
    server, url = flood
    capture = tmp_path / "flood.jsonl.gz"
    record = subprocess.Popen(
        [*WSTAIL, "record", "-o", str(capture), "node", "--url", url, "-n", "30000", "--tee"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    wait_for_line(server, "sent", 60)
    out, err = record.communicate(timeout=60 * SCALE)
    assert record.returncode == 0, err
    replayed = subprocess.run(
        [*WSTAIL, "replay", str(capture), "-q", "data.notificationId", "-r"],
        capture_output=True,
        check=True,
    ).stdout.split()
    assert replayed == [f"n{i}".encode() for i in range(1, 30001)]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_signals_close_the_capture_whole(
    flood: tuple[subprocess.Popen[str], str], tmp_path: Path, signum: int
) -> None:
    """SIGINT, SIGTERM or SIGHUP during record: exit 130, a valid gzip that replays."""
    _, url = flood
    capture = tmp_path / "sig.jsonl.gz"
    record = subprocess.Popen(
        [*WSTAIL, "record", "-o", str(capture), "node", "--url", url, "--tee", "-q", "seq"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert record.stdout is not None
    for _ in range(100):  # some frames are in the file
        assert record.stdout.readline()
    record.send_signal(signum)
    _, err = record.communicate(timeout=30 * SCALE)
    assert record.returncode == 130, err
    assert err.strip().splitlines()[-1] == b"wstail: interrupted"
    subprocess.run(["gzip", "-t", str(capture)], check=True)
    replay = subprocess.run([*WSTAIL, "replay", str(capture)], capture_output=True)
    assert replay.returncode == 0, replay.stderr
    assert replay.stdout.count(b"\n") >= 100


SECRET_CHANNEL = "c0ffee00-dead-beef-0000-5ecre7c4a77e1"
SECRET_PASSWORD = "hunter2-very-secret-pw"


def served_url(server: subprocess.Popen[str]) -> str:
    """The URL a `replay --serve` process says it listens at."""
    assert server.stderr is not None
    while True:
        line = server.stderr.readline()
        assert line, "the server did not start"
        found = re.search(r"(http://\S+)", line)
        if found and " at " in line:
            return found.group(1)


def test_secrets_never_leak(tmp_path: Path) -> None:
    """Channel IDs and passwords appear nowhere: stdout, stderr, --debug logs, captures, argv."""
    channel_file = tmp_path / "channels"
    channel_file.write_text(SECRET_CHANNEL + "\n")
    password_file = tmp_path / "pw"
    password_file.write_text(SECRET_PASSWORD + "\n")
    runs = [
        [*WSTAIL, "--debug", "tail", "user", "--demo", "-n", "3", "--meta"],
        [
            *WSTAIL,
            "--debug",
            "record",
            "-o",
            str(tmp_path / "u.jsonl"),
            "user",
            "--channel-file",
            str(channel_file),
            "--url",
            "http://127.0.0.1:9",
            "--retries",
            "1",
            "--connect-timeout",
            "1",
        ],
        [
            *WSTAIL,
            "--debug",
            "tail",
            "node",
            "--user",
            "admin",
            "--password-file",
            str(password_file),
            "--url",
            "ws://127.0.0.1:9/ws",
            "--retries",
            "0",
        ],
    ]
    env = dict(os.environ, WSTAIL_CHANNELS=SECRET_CHANNEL, WSTAIL_NODE_PASSWORD=SECRET_PASSWORD)
    for args in runs:
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes()
        out, err = proc.communicate(timeout=60 * SCALE)
        for blob in (out, err, cmdline):
            assert SECRET_CHANNEL.encode() not in blob
            assert SECRET_PASSWORD.encode() not in blob
    for protocol in ("3", "4"):
        server = subprocess.Popen(
            [
                *WSTAIL,
                "--debug",
                "replay",
                "--serve",
                "127.0.0.1:0",
                "--speed",
                "100",
                "--eio",
                protocol,
                str(SAMPLES / "user.jsonl"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            url = served_url(server)
            proc = subprocess.run(
                [
                    *WSTAIL,
                    "--debug",
                    "record",
                    "-o",
                    str(tmp_path / f"live{protocol}.jsonl"),
                    "user",
                    "--channel-file",
                    str(channel_file),
                    "--url",
                    url,
                    "-n",
                    "3",
                    "--tee",
                ],
                capture_output=True,
                env=env,
                timeout=60 * SCALE,
            )
            assert proc.returncode == 0, proc.stderr
            assert proc.stdout.count(b"\n") == 3
            assert b"debug" in proc.stderr
            for blob in (proc.stdout, proc.stderr):
                assert SECRET_CHANNEL.encode() not in blob
        finally:
            server.send_signal(signal.SIGINT)
            _, server_err = server.communicate(timeout=30 * SCALE)
        assert SECRET_CHANNEL not in server_err
    for path in tmp_path.glob("*.jsonl"):
        content = path.read_bytes()
        assert SECRET_CHANNEL.encode() not in content
        assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_eight_mebibyte_frames_pass_whole() -> None:
    """An 8 MiB node frame normalizes and round-trips through a capture line unchanged."""
    from wstail.capture import decode_frame, encode_frame
    from wstail.frames import Frame
    from wstail.jsonexact import dumps
    from wstail.normalize import normalize_frame

    memo = "x" * (8 * 1024 * 1024)
    big = "123456789012345678901234"
    text = '{\n  "wallet": {\n    "memo": "' + memo + '",\n    "value": ' + big + "\n  }\n}"
    frame = Frame(recv_us=1_800_000_000_000_000, kind="text", payload=text)
    items = normalize_frame(frame, "node")
    assert [(event, len(data["memo"])) for _, event, _, data in items] == [("wallet.tx", len(memo))]
    assert dumps(items[0][3]["value"]) == big.encode()
    assert decode_frame(encode_frame(frame, 0), 0) == frame


@pytest.mark.parametrize("depth", [300, 5000])
def test_deep_nesting_is_reported_not_raised(depth: int) -> None:
    """JSON nested beyond the decoders' limits gives a meta.bad_frame or unknown, never an error."""
    from wstail.frames import Frame
    from wstail.jsonexact import dumps
    from wstail.normalize import normalize_frame

    text = '{"status": ' + "[" * depth + "]" * depth + "}"
    items = normalize_frame(Frame(recv_us=1, kind="text", payload=text), "node")
    assert len(items) == 1
    _, event, _, data = items[0]
    assert event in ("meta.bad_frame", "unknown", "status")
    if event == "meta.bad_frame":
        assert dumps(data)
