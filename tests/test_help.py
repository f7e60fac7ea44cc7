"""--help per command: only what applies to it, under headings, in the user's terms."""

from __future__ import annotations

import re

import click
import pytest

from conftest import Wstail
from wstail.commands.main import _build_cli
from wstail.feeds import FEEDS

HEADINGS = ("Connection:", "Filters:", "Output:", "Stop conditions:")


def help_of(wstail: Wstail, *command: str) -> str:
    """The --help text of a command (exit 0, nothing on stderr)."""
    result = wstail(*command, "--help")
    assert result.code == 0, result
    assert result.stderr == ""
    return result.stdout.decode() if isinstance(result.stdout, bytes) else result.stdout


def option_line(text: str, option: str) -> str:
    """An option's help, joined across its wrapped lines."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if re.match(rf"\s+(-\w, )?{re.escape(option)}\b", line):
            parts = [line]
            for more in lines[index + 1 :]:
                if not more.startswith(" " * 8):  # an option line starts at column 2
                    break
                parts.append(more)
            return " ".join(part.strip() for part in parts)
    raise AssertionError(f"{option} not in the help")


def sections(text: str) -> list[str]:
    """The headings of a help text, in order."""
    return [line for line in text.splitlines() if re.fullmatch(r"[A-Z][a-z ]+:", line)]


def test_tail_node_help_speaks_of_the_node_only(wstail: Wstail) -> None:
    """tail node: its own URL, -H on the WebSocket upgrade, node credentials, no --eio."""
    text = help_of(wstail, "tail", "node")
    assert "--eio" not in text
    assert "long-polling" not in text
    assert "paymium" not in text.lower()
    assert "(default: ws://127.0.0.1:4002/ws)" in option_line(text, "--url")
    assert "on the WebSocket upgrade request" in option_line(text, "--header")
    assert "--password-file" in text
    assert "Tail the bundled node sample" in option_line(text, "--demo")


def test_tail_public_help_has_the_socketio_options(wstail: Wstail) -> None:
    """tail public: the Paymium URL, --eio, -H on the upgrade and long-polling requests."""
    text = help_of(wstail, "tail", "public")
    assert "(default: https://paymium.com)" in option_line(text, "--url")
    assert "ws://127.0.0.1:4002" not in text
    assert "--eio" in text
    assert "long-polling requests" in option_line(text, "--header")
    assert "--password-file" not in text


def test_record_help_says_what_only_matters_with_tee(wstail: Wstail) -> None:
    """record public: the output options say (with --tee); --demo records a sample."""
    text = help_of(wstail, "record", "public")
    for option in ("--query", "--raw-output", "--oneline", "--color", "--seq", "--pretty"):
        assert option_line(text, option).split("[env var")[0].rstrip().endswith("(with --tee)."), (
            option
        )
    demo = option_line(text, "--demo")
    assert demo.startswith("--demo") and "Record the bundled public sample" in demo
    assert "Tail a bundled" not in text


def test_replay_help_says_when_its_stop_conditions_apply(wstail: Wstail) -> None:
    """replay: --idle-timeout only with --speed, --duration on the wall clock."""
    text = help_of(wstail, "replay")
    assert "With --speed: exit 124" in option_line(text, "--idle-timeout")
    assert "wall clock" in option_line(text, "--duration")
    assert sections(text) == [
        "Replay:",
        "Reading messages:",
        "Filters:",
        "Output:",
        "Stop conditions:",
        "Serving:",
        "Other:",
    ]


def test_generic_feeds_help_lists_their_own_options(wstail: Wstail) -> None:
    """tail ws: a URL argument, --send and no --eio; tail sio: --emit, --namespace, --path."""
    ws = help_of(wstail, "tail", "ws")
    assert ws.startswith("Usage: wstail tail ws [OPTIONS] URL")
    assert "--send" in ws and "--emit" not in ws and "--eio" not in ws
    assert not re.search(r"^\s+--url\b", ws, re.M)
    sio = help_of(wstail, "tail", "sio")
    for option in ("--emit", "--namespace", "--path", "--eio"):
        assert option in sio
    assert "--send" not in sio
    for text in (ws, sio):
        assert "Reading messages:" in text
    for exchange in ("kraken", "binance", "coinbase"):  # the three subscription styles
        assert exchange in ws


@pytest.mark.parametrize("verb", ["tail", "record"])
@pytest.mark.parametrize("name", list(FEEDS))
def test_every_feed_command_groups_its_options(verb: str, name: str, wstail: Wstail) -> None:
    """Every option of every feed command sits under a heading; Other holds only --help."""
    text = help_of(wstail, verb, name)
    found = sections(text)
    assert [heading for heading in found if heading in HEADINGS] == list(HEADINGS)
    other = text.split("\nOther:\n", 1)[1].split("\n\n", 1)[0]
    assert [line.split()[0] for line in other.splitlines() if line.startswith("  -")] == ["-h,"]


def test_no_option_falls_under_other_but_help() -> None:
    """The headings table knows every parameter of every command (a new option needs one)."""
    from wstail.commands.helpgroups import GroupedCommand

    cli = _build_cli()
    ctx = click.Context(cli)
    commands: list[click.Command] = []
    for name in cli.list_commands(ctx):
        command = cli.get_command(ctx, name)
        if isinstance(command, click.Group):
            commands += [command.get_command(ctx, sub) for sub in command.list_commands(ctx)]
        elif command is not None:
            commands.append(command)
    grouped = [command for command in commands if isinstance(command, GroupedCommand)]
    assert len(grouped) == 2 * len(FEEDS) + 1  # tail and record of each feed, and replay
    for command in grouped:
        for param in command.params:
            if isinstance(param, click.Option) and param.name not in ("help",):
                assert param.name in command.headings, (command.name, param.name)
