"""A person's slips met with help: misspelt commands, counts in words, a terminal's stdin."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import Wstail
from helpers.sio_peers import closed_port
from helpers.timeouts import scaled
from wstail.sources.retry import gave_up
from wstail.words import counted

WSTAIL = Path(sys.executable).with_name("wstail")
TIMEOUT = scaled(30)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["tial"], "No such command 'tial'. Did you mean 'tail'? (see 'wstail --help')"),
        (["recrod"], "No such command 'recrod'. Did you mean 'record'? (see 'wstail --help')"),
        (["replya", "x"], "No such command 'replya'. Did you mean 'replay'? (see 'wstail --help')"),
        (["zzz"], "No such command 'zzz' (see 'wstail --help')"),
        (
            ["tail", "pubic"],
            "No such command 'pubic'. Did you mean 'public'? (see 'wstail tail --help')",
        ),
        (
            ["record", "-o", "x.jsonl", "nod"],
            "No such command 'nod'. Did you mean 'node'? (see 'wstail record --help')",
        ),
        (
            ["tail", "-n", "3", "uesr"],
            "No such command 'uesr'. Did you mean 'user'? (see 'wstail tail --help')",
        ),
    ],
    ids=["tial", "recrod", "replya", "nothing-close", "feed", "feed-after-options", "feed-after-n"],
)
def test_a_misspelt_command_gets_the_closest(wstail: Wstail, args: list[str], message: str) -> None:
    """A misspelt command or feed name: one line naming the closest one; exit 2."""
    result = wstail(*args)
    assert (result.code, result.stdout) == (2, b"")
    assert result.stderr == f"wstail: {message}\n"


def test_counted_is_singular_for_one() -> None:
    """1 retry, 2 retries, 0 retries; 1 bad line, 3 bad lines."""
    assert counted(1, "retry", "retries") == "1 retry"
    assert counted(2, "retry", "retries") == "2 retries"
    assert counted(0, "retry", "retries") == "0 retries"
    assert counted(1, "bad line") == "1 bad line"
    assert counted(3, "bad line") == "3 bad lines"
    assert gave_up("ws://h/ws", 1, "connection refused") == (
        "could not connect to ws://h/ws after 1 retry: connection refused"
    )


def test_one_retry_is_said_in_the_singular(wstail: Wstail) -> None:
    """--retries 1 against a closed port: `after 1 retry`, never `after 1 retries`."""
    url = f"ws://127.0.0.1:{closed_port()}/ws"
    env = {"WSTAIL_RETRY_MAX_DELAY": "0.1"}
    result = wstail("tail", "node", "--url", url, "--retries", "1", env=env)
    assert result.code == 3
    assert result.stderr.splitlines()[-1] == (
        f"wstail: could not connect to {url} after 1 retry: connection refused"
    )


def test_one_more_bad_line_is_singular(wstail: Wstail, tmp_path: Path) -> None:
    """Six bad lines: five reported, then `... and 1 more bad line`."""
    path = tmp_path / "six.jsonl"
    path.write_bytes(b'{"event":"x"}\n' + b"garbage\n" * 6)
    result = wstail("replay", path)
    assert result.code == 4
    assert result.stderr.splitlines()[-2:] == [
        f"... and 1 more bad line in {path}",
        "wstail: replay finished with 6 bad lines",
    ]


def test_replay_without_file_on_a_terminal_says_it_reads_stdin() -> None:
    """`wstail replay` with a terminal for stdin: a one-line hint on stderr, then it reads on."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [WSTAIL, "replay"],
        stdin=follower,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    os.close(follower)
    os.write(leader, b'{"event":"x","seq":1}\n\x04')  # a line, then Ctrl-D at a line's start
    out, err = process.communicate(timeout=TIMEOUT)
    os.close(leader)
    assert process.returncode == 0, err
    assert err == (
        b"wstail: reading captures from stdin (Ctrl-D to end; give FILE to replay a file)\n"
    )
    assert out == b'{"event":"x","seq":1}\n'


def test_replay_from_a_pipe_or_a_file_gives_no_hint(tmp_path: Path) -> None:
    """Stdin from a pipe, or FILE given while stdin is a terminal: no hint."""
    piped = subprocess.run(
        [WSTAIL, "replay"], input=b'{"event":"x"}\n', capture_output=True, timeout=TIMEOUT
    )
    assert (piped.returncode, piped.stderr) == (0, b"")
    path = tmp_path / "one.jsonl"
    path.write_bytes(b'{"event":"x"}\n')
    leader, follower = pty.openpty()
    given = subprocess.run(
        [WSTAIL, "replay", path], stdin=follower, capture_output=True, timeout=TIMEOUT
    )
    os.close(follower)
    os.close(leader)
    assert (given.returncode, given.stderr) == (0, b"")
