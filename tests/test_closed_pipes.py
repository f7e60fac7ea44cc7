"""A reader that goes away (`| head`, a closed stderr) ends wstail quietly, never as exit 1.

Real pipes, real processes: a pipe whose read end is already closed makes
every write fail with EPIPE at once (no race with a reader), and `2>&1 |
head -2` is the shape people type.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import SAMPLE
from helpers.timeouts import scaled

WSTAIL = Path(sys.executable).with_name("wstail")
TIMEOUT = scaled(60)

COMMANDS = {
    "version": ["--version"],
    "help": ["--help"],
    "feed-help": ["tail", "public", "--help"],
    "replay": ["replay", str(SAMPLE)],
    "replay-bad-lines": ["replay", "{mixed}"],
    "tail-demo": ["tail", "public", "--demo", "-n", "3", "--meta"],
    "record-stdout-demo": ["record", "-o", "-", "public", "--demo", "-n", "3"],
    "record-tee-demo": ["record", "-o", "{tmp}/cap.jsonl", "--tee", "public", "--demo", "-n", "3"],
}


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    """NDJSON with a bad line after each good one: both stdout and stderr get written."""
    out = subprocess.run(
        [WSTAIL, "replay", SAMPLE], capture_output=True, timeout=TIMEOUT, check=True
    ).stdout
    path = tmp_path / "mixed.jsonl"
    # Far more than a pipe buffer: a reader that left is met by a later write.
    path.write_bytes(b"".join(line + b"\ngarbage\n" for line in out.splitlines() * 300))
    return path


@pytest.fixture
def dead_pipe() -> Iterator[int]:
    """The write end of a pipe whose reader is gone: each write fails with EPIPE."""
    read, write = os.pipe()
    os.close(read)
    yield write
    os.close(write)


def command(name: str, tmp_path: Path, mixed: Path) -> list[str]:
    """The command line of COMMANDS[name], its placeholders filled."""
    return [
        arg.replace("{mixed}", str(mixed)).replace("{tmp}", str(tmp_path)) for arg in COMMANDS[name]
    ]


@pytest.mark.parametrize("closed", ["stdout", "stderr", "both"])
@pytest.mark.parametrize("name", list(COMMANDS))
def test_a_closed_pipe_is_a_quiet_end(
    name: str, closed: str, dead_pipe: int, tmp_path: Path, mixed: Path
) -> None:
    """tail, record and replay with a dead stdout, stderr or both: exit 0, nothing else said."""
    streams = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    for stream in ("stdout", "stderr") if closed == "both" else (closed,):
        streams[stream] = dead_pipe
    result = subprocess.run([WSTAIL, *command(name, tmp_path, mixed)], timeout=TIMEOUT, **streams)
    assert result.returncode == 0, result.stderr
    if closed == "stdout":
        assert b"error" not in result.stderr and b"Traceback" not in result.stderr


def test_a_failed_run_keeps_its_code_when_stderr_is_gone(dead_pipe: int, tmp_path: Path) -> None:
    """The one line of a bad input cannot be said to a dead stderr: still exit 4, not 1."""
    other = tmp_path / "passwd"
    other.write_bytes(b"root:x:0:0::/root:/bin/sh\n")
    result = subprocess.run(
        [WSTAIL, "replay", other], stdout=dead_pipe, stderr=dead_pipe, timeout=TIMEOUT
    )
    assert result.returncode == 4


@pytest.mark.parametrize(
    "line",
    [
        '"$WSTAIL" replay "$MIXED" 2>&1 | head -2',
        '"$WSTAIL" replay "$PASSWD" 2>&1 | head -2',
        '"$WSTAIL" record -o - public --demo -n 5 2>&1 | head -2',
    ],
    ids=["both-into-head", "foreign-file", "record-into-head"],
)
def test_into_head(line: str, tmp_path: Path, mixed: Path) -> None:
    """`wstail ... 2>&1 | head -2` as typed: two lines, and the code of the run, never 1."""
    passwd = tmp_path / "passwd"
    passwd.write_bytes(b"root:x:0:0::/root:/bin/sh\n" * 30)
    bash = shutil.which("bash")
    assert bash is not None
    result = subprocess.run(
        [bash, "-c", line + '; echo "${PIPESTATUS[@]}"'],
        capture_output=True,
        env={**os.environ, "WSTAIL": str(WSTAIL), "MIXED": str(mixed), "PASSWD": str(passwd)},
        timeout=TIMEOUT,
    )
    *shown, statuses = result.stdout.splitlines()
    expected = b"4" if "PASSWD" in line else b"0"
    assert statuses.split() == [expected, b"0"], shown
    assert not any(b"internal error" in text for text in shown)
    assert result.stderr == b""
