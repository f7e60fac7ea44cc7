"""Status lines on a terminal's stderr: record's status, replay's progress; both gone after Ctrl-C.

wstail runs with stderr on a pseudo-terminal (python's pty module) and
stdout in a file, as `wstail record ... ` or `wstail replay x | jq` run in a
shell; what the terminal would show is worked out from the bytes written
(carriage returns and erase-line sequences applied).
"""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers.timeouts import scaled
from wstail.progress import summary
from wstail.status import human_bytes, status_line

SAMPLES = Path(__file__).resolve().parent.parent / "cli" / "wstail" / "data"
SAMPLE = SAMPLES / "public.jsonl"  # about a minute at --speed 1


def screen(text: str) -> list[str]:
    """The lines a terminal shows for `text`: `\\r` back to column 0, `ESC[K` erases the rest."""
    lines: list[str] = []
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = ""
        column = 0
        for piece in re.split(r"(\r|\x1b\[K)", raw):
            if piece == "\r":
                column = 0
            elif piece == "\x1b[K":
                line = line[:column]
            else:
                line = line[:column] + piece + line[column + len(piece) :]
                column += len(piece)
        lines.append(line)
    while lines and lines[-1] == "":
        lines.pop()
    return lines


class OnTerminal:
    """wstail with stderr on a pseudo-terminal, stdout to a file; reads what it draws."""

    def __init__(self, args: list[str], stdout: Path) -> None:
        env = {k: v for k, v in os.environ.items() if "WSTAIL_" not in k}
        self.leader, follower = pty.openpty()
        with stdout.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "wstail", *args],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=follower,
                env={**env, "TERM": "xterm", "COLUMNS": "200"},
            )
        os.close(follower)
        self.text = ""

    def read_until(self, pattern: str, timeout: float = 15.0) -> re.Match[str]:
        """Read the terminal until `pattern` shows up in what was written."""
        deadline = time.monotonic() + scaled(timeout)
        while True:
            found = re.search(pattern, self.text)
            if found:
                return found
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{pattern!r} not drawn; got {self.text!r}")
            ready, _, _ = select.select([self.leader], [], [], left)
            if ready and not self._read():
                raise EOFError(f"{pattern!r} not drawn before the end; got {self.text!r}")

    def _read(self) -> bool:
        try:
            data = os.read(self.leader, 65536)
        except OSError:  # EIO once the child closed its side
            return False
        self.text += data.decode(errors="replace")
        return bool(data)

    def finish(self, signum: int | None = None) -> int:
        """Send `signum` (if any), read to the end, and return the exit code."""
        if signum is not None:
            self.process.send_signal(signum)
        while self._read():
            pass
        os.close(self.leader)
        return self.process.wait(timeout=scaled(10))


def test_status_line_texts() -> None:
    """The status line says frames, bytes, rate, the part and the reconnects, in few words."""
    assert human_bytes(512) == "512 B"
    assert human_bytes(1536) == "1.5 KiB"
    assert human_bytes(5 * 1024**3) == "5.0 GiB"
    line = status_line(1234, 2 * 1024**2, 2.0, "day.1.jsonl.gz", 1)
    assert line == "recording: 1,234 frames, 2.0 MiB, 617/s, day.1.jsonl.gz, 1 reconnect"
    assert status_line(1, 10, 0.0, "x.jsonl", 0) == "recording: 1 frame, 10 B, 0/s, x.jsonl"
    assert summary(1, 0.5) == "wstail: replayed 1 envelope in 0.5 s, 2/s"


def test_record_status_on_a_terminal_then_gone_after_ctrl_c(tmp_path: Path) -> None:
    """record draws its status line on a terminal's stderr; Ctrl-C erases it (exit 130)."""
    capture = tmp_path / "demo.jsonl"
    run = OnTerminal(["record", "-o", str(capture), "public", "--demo"], tmp_path / "out")
    drawn = run.read_until(r"\x1b\[Krecording: ([1-9][\d,]*) frames?, [^\r\n]*demo\.jsonl")
    assert int(drawn.group(1).replace(",", "")) >= 1
    code = run.finish(signal.SIGINT)
    assert code == 130, run.text
    shown = screen(run.text)
    assert shown[-1] == "wstail: interrupted", shown
    assert not [line for line in shown if "recording:" in line], shown  # erased, never glued
    assert shown[0].startswith("wstail: demo: serving the bundled public sample at ")
    assert capture.read_text().startswith('{"wstail_capture":1')


def test_record_status_is_absent_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    """Piped stderr gets the usual lines and no status line."""
    capture = tmp_path / "demo.jsonl"
    done = subprocess.run(
        [sys.executable, "-m", "wstail", "record", "-o", str(capture), "public", "--demo"]
        + ["--speed", "1000", "-n", "5"],
        capture_output=True,
        timeout=scaled(20),
    )
    assert done.returncode == 0, done.stderr.decode()
    assert b"recording:" not in done.stderr and b"\x1b[K" not in done.stderr


def test_replay_progress_is_erased_on_ctrl_c(tmp_path: Path) -> None:
    """A paced replay's progress line is erased by Ctrl-C: only `wstail: interrupted` is left."""
    run = OnTerminal(["replay", "--speed", "1", str(SAMPLE)], tmp_path / "out")
    run.read_until(r"public\.jsonl: [\d,]+ events")
    code = run.finish(signal.SIGINT)
    assert code == 130, run.text
    # click starts a new line after Ctrl-C (past the terminal's echoed ^C)
    assert [line for line in screen(run.text) if line] == ["wstail: interrupted"], run.text


@pytest.mark.parametrize(
    ("args", "count"), [([], 38), (["-n", "5"], 5), (["-j", "2"], 38), (["-j", "2", "-n", "5"], 5)]
)
def test_replay_progress_ends_with_a_summary(tmp_path: Path, args: list[str], count: int) -> None:
    """At the end (or at -n) the progress line becomes one summary line: envelopes, time, rate."""
    run = OnTerminal(["replay", *args, str(SAMPLE)], tmp_path / "out")
    code = run.finish()
    assert code == 0, run.text
    shown = screen(run.text)
    assert len(shown) == 1, shown
    assert re.fullmatch(rf"wstail: replayed {count} envelopes in \d+\.\d s, [\d,]+/s", shown[0])
    assert len((tmp_path / "out").read_bytes().splitlines()) == count


def test_bad_lines_are_printed_above_the_progress_line(tmp_path: Path) -> None:
    """A bad line met while the progress line is drawn erases it first: never glued to it."""
    lines = SAMPLE.read_text().splitlines(keepends=True)
    capture = tmp_path / "bad.jsonl"
    # a paced replay draws its progress line before the bad lines come
    capture.write_text("".join(lines[:20]) + "not json\n" + "".join(lines[20:]) + "[1,\n")
    run = OnTerminal(["replay", "--speed", "20", str(capture)], tmp_path / "out")
    run.read_until(r"bad\.jsonl: [\d,]+ events")
    code = run.finish()
    assert code == 4, run.text
    shown = [line for line in screen(run.text) if line]
    reports = [line for line in shown if f"{capture}:" in line and " events" not in line]
    assert [line.split(": ", 1)[0] for line in reports] == [f"{capture}:21", f"{capture}:34"]
    assert all(line.startswith(f"{capture}:") for line in reports), shown  # never glued
