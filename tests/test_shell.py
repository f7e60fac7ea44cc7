"""At home in the shell: completions, help texts, colour on terminals only."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from helpers.terminal import drain
from wstail.commands.completion import SHELLS, completion_script
from wstail.commands.main import _build_cli

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "cli" / "wstail" / "data" / "public.jsonl"
ENV = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM")}


def complete(words: str) -> list[str]:
    """Ask wstail's bash completion what it offers for the last word of `words`."""
    parts = words.split(" ")
    env = dict(ENV, COMP_WORDS=words, COMP_CWORD=str(len(parts) - 1))
    env["_WSTAIL_COMPLETE"] = "bash_complete"
    out = subprocess.run(
        [sys.executable, "-m", "wstail"], env=env, capture_output=True, text=True, check=True
    ).stdout
    return [line.split(",", 1)[1] for line in out.splitlines() if "," in line]


@pytest.mark.parametrize("shell", SHELLS)
def test_completion_files_match_click(shell: str) -> None:
    """completions/wstail.SHELL is exactly what Click generates today."""
    assert (ROOT / "completions" / f"wstail.{shell}").read_text() == completion_script(shell)


@pytest.mark.parametrize("shell", SHELLS)
def test_completion_command_prints_the_script(shell: str) -> None:
    """`wstail completion SHELL` prints the same script."""
    out = subprocess.run(
        [sys.executable, "-m", "wstail", "completion", shell],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out == completion_script(shell)


def test_bash_completes_subcommands() -> None:
    """Subcommands complete."""
    assert complete("wstail t") == ["tail"]
    assert set(complete("wstail tail ")) >= {"public", "user", "node"}


def test_bash_completes_event_names() -> None:
    """-e and -x complete the documented event names, notification types included."""
    assert "notification.disputeOpen" in complete("wstail replay -e notification.dis")
    assert complete("wstail tail public -x tra") == ["trade"]
    assert "meta.*" in complete("wstail replay -e me")


def test_bash_completes_files_for_replay() -> None:
    """replay's FILE arguments complete as files."""
    env = dict(ENV, COMP_WORDS="wstail replay cap", COMP_CWORD="2")
    env["_WSTAIL_COMPLETE"] = "bash_complete"
    out = subprocess.run(
        [sys.executable, "-m", "wstail"], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "file,cap"


def all_commands() -> list[tuple[str, click.Command]]:
    """Every command and subcommand with its full name."""
    found: list[tuple[str, click.Command]] = []

    def walk(name: str, command: click.Command) -> None:
        found.append((name, command))
        if isinstance(command, click.Group):
            ctx = click.Context(command)
            for sub_name in command.list_commands(ctx):
                sub = command.get_command(ctx, sub_name)
                assert sub is not None
                walk(f"{name} {sub_name}", sub)

    walk("wstail", _build_cli())
    return found


@pytest.mark.parametrize("name", [name for name, _ in all_commands()])
def test_every_command_has_examples_and_a_readme_entry(name: str) -> None:
    """Every command's help carries an example, and the README mentions the command."""
    command = dict(all_commands())[name]
    args = name.split(" ")[1:] + ["--help"]
    result = subprocess.run(
        [sys.executable, "-m", "wstail", *args], capture_output=True, text=True, check=True
    )
    if not isinstance(command, click.Group) or name == "wstail":
        assert "wstail " in result.stdout
    assert "Example" in result.stdout or isinstance(command, click.Group)
    readme = (ROOT / "README.md").read_text()
    assert f"`{name}" in readme or f"{name} " in readme


def run_in_pty(args: list[str], env: dict[str, str]) -> str:
    """Run wstail with stdout on a pseudo-terminal and return what it printed."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "wstail", *args], stdout=follower, stderr=subprocess.DEVNULL, env=env
    )
    os.close(follower)
    chunks = drain(leader)
    proc.wait()
    os.close(leader)
    return b"".join(chunks).decode()


ANSI = re.compile(r"\x1b\[[0-9;]*m")


def test_colour_on_a_terminal() -> None:
    """On a terminal output is pretty and coloured, the event name standing out."""
    out = run_in_pty(["replay", str(SAMPLE), "-n", "1"], dict(ENV, TERM="xterm"))
    assert ANSI.search(out)
    assert '\x1b[33;1m"ticker"' in out
    assert '\n  "seq"' in ANSI.sub("", out).replace("\r\n", "\n")


def test_no_colour_with_no_color() -> None:
    """NO_COLOR turns colour off on a terminal (output stays pretty)."""
    out = run_in_pty(["replay", str(SAMPLE), "-n", "1"], dict(ENV, TERM="xterm", NO_COLOR="1"))
    assert not ANSI.search(out)
    assert '"seq"' in out


def test_no_colour_when_piped() -> None:
    """Piped output is compact NDJSON without colour; --color always forces it."""
    piped = subprocess.run(
        [sys.executable, "-m", "wstail", "replay", str(SAMPLE), "-n", "1"],
        capture_output=True,
        text=True,
        env=ENV,
        check=True,
    ).stdout
    assert not ANSI.search(piped) and piped.count("\n") == 1
    forced = subprocess.run(
        [sys.executable, "-m", "wstail", "replay", str(SAMPLE), "-n", "1", "--color", "always"],
        capture_output=True,
        text=True,
        env=ENV,
        check=True,
    ).stdout
    assert ANSI.search(forced) and forced.count("\n") == 1


def test_progress_on_a_terminal_stderr_only(tmp_path: Path) -> None:
    """A long replay with stderr on a terminal shows progress there; stdout stays clean."""
    lines = SAMPLE.read_bytes().splitlines()
    body = [line for line in lines[1:] if b'"sio"' in line]
    capture = tmp_path / "long.jsonl"
    capture.write_bytes(b"\n".join([lines[0], *(body * 1200)]) + b"\n")
    out_path = tmp_path / "out.jsonl"
    leader, follower = pty.openpty()
    with open(out_path, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "wstail", "replay", str(capture), "--stats"],
            stdout=out,
            stderr=follower,
            env=ENV,
        )
        os.close(follower)
        chunks = drain(leader)
        assert proc.wait() == 0
    os.close(leader)
    err = b"".join(chunks).decode()
    assert "events" in err and "/s" in err and "%" in err
    assert "total" in err  # --stats summary
    out = out_path.read_bytes()
    assert b"events" not in out and b"\x1b" not in out
    assert out.count(b"\n") == sum(1 for _ in out.splitlines())
