"""Issue 13's command-line surprises: environment names, --force, --demo checks, option order."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest

from conftest import SAMPLE, Wstail
from helpers.terminal import drain
from wstail.commands.main import COMMAND_LINE_ONLY, _build_cli

ANSI = re.compile(r"\x1b\[[0-9;]*m")
CLEAN: dict[str, str | None] = {"NO_COLOR": None, "WSTAIL_CHANNELS": None}


def events(result: Any) -> list[str]:
    """The event names of a run's envelopes."""
    return [record["event"] for record in result.records]


@pytest.mark.parametrize("name", ["WSTAIL_VERSION", "WSTAIL_HELP", "WSTAIL_DEBUG", "WSTAIL_H"])
def test_flag_like_variables_are_ignored(wstail: Wstail, name: str) -> None:
    """WSTAIL_VERSION=1 (or HELP, DEBUG) does not turn a replay into a version line."""
    plain = wstail("replay", SAMPLE, env=CLEAN)
    result = wstail("replay", SAMPLE, env={**CLEAN, name: "1"})
    assert result.code == 0
    assert result.stdout == plain.stdout
    assert b"version" not in result.stdout


def walk(command: click.Command, path: list[str]) -> list[tuple[list[str], click.Option]]:
    """Every option of the command tree, with its command path."""
    ctx = click.Context(command)
    found = [(path, p) for p in command.params if isinstance(p, click.Option)]
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None
            found += walk(sub, [*path, name])
    return found


def test_every_environment_name_follows_the_readme_rule() -> None:
    """WSTAIL_<COMMAND>_<SUBCOMMAND>_<OPTION>, named after the long option; a few exceptions."""
    shared = {
        "url": "WSTAIL_URL",
        "eio": "WSTAIL_EIO",
        "retries": "WSTAIL_RETRIES",
        "retry_max_delay": "WSTAIL_RETRY_MAX_DELAY",
    }
    for path, option in walk(_build_cli(), []):
        if option.name in COMMAND_LINE_ONLY:
            assert option.envvar is None, (path, option.opts)
            continue
        if option.name in shared and path[:1] != ["replay"]:
            assert option.envvar == shared[option.name]
            continue
        long = max(option.opts, key=len).lstrip("-").upper().replace("-", "_")
        expected = "_".join(["WSTAIL", *(p.upper() for p in path), long])
        assert option.envvar == expected, (path, option.opts)


def test_replay_event_and_exclude_take_comma_lists(wstail: Wstail) -> None:
    """WSTAIL_REPLAY_EVENT=trade,ticker keeps both; the old ..._EVENTS name does nothing."""
    both = wstail("replay", SAMPLE, env={**CLEAN, "WSTAIL_REPLAY_EVENT": "trade, ticker"})
    assert both.code == 0
    assert set(events(both)) == {"trade", "ticker"}
    old = wstail("replay", SAMPLE, env={**CLEAN, "WSTAIL_REPLAY_EVENTS": "trade"})
    assert len(set(events(old))) > 2
    dropped = wstail("replay", SAMPLE, env={**CLEAN, "WSTAIL_REPLAY_EXCLUDE": "trade,depth"})
    assert not {"trade", "depth"} & set(events(dropped))


def test_replay_filter_takes_one_expression_per_line(wstail: Wstail) -> None:
    """WSTAIL_REPLAY_FILTER holds JMESPath expressions (which contain commas), one a line."""
    value = "event == 'trade'\ncontains(['trade', 'x'], event)"
    result = wstail("replay", SAMPLE, env={**CLEAN, "WSTAIL_REPLAY_FILTER": value})
    assert result.code == 0
    assert set(events(result)) == {"trade"}


def test_replay_seq_from_to_and_count_names(wstail: Wstail) -> None:
    """WSTAIL_REPLAY_SEQ, _FROM, _TO and _COUNT are the names of --seq, --from, --to, -n."""
    env = {
        **CLEAN,
        "WSTAIL_REPLAY_FROM": "seq:3",
        "WSTAIL_REPLAY_TO": "seq:9",
        "WSTAIL_REPLAY_COUNT": "2",
    }
    result = wstail("replay", SAMPLE, env=env)
    assert result.code == 0
    assert [r["seq"] for r in result.records] == [3, 4]
    framed = wstail("replay", SAMPLE, "-n", "1", env={**CLEAN, "WSTAIL_REPLAY_SEQ": "1"})
    assert framed.stdout.startswith(b"\x1e{")


def test_record_refuses_an_existing_capture(wstail: Wstail, tmp_path: Path) -> None:
    """record -o FILE exits 2 naming FILE and --force when FILE exists; the file is kept."""
    target = tmp_path / "cap.jsonl"
    target.write_text("keep\n")
    result = wstail("record", "-o", target, "public", "--demo", "-n", "1", env=CLEAN)
    assert result.code == 2
    assert result.stderr == f"wstail: {target} exists: pass --force to overwrite it\n"
    assert target.read_text() == "keep\n"


def test_record_refuses_an_earlier_runs_rotated_part(wstail: Wstail, tmp_path: Path) -> None:
    """With rotation, a numbered part an earlier run left (day.2.jsonl) is refused too."""
    (tmp_path / "day.2.jsonl").write_text("keep\n")
    target = tmp_path / "day.jsonl"
    result = wstail(
        "record", "-o", target, "--rotate-size", "1M", "public", "--demo", "-n", "1", env=CLEAN
    )
    assert result.code == 2
    assert result.stderr == (
        f"wstail: {tmp_path / 'day.2.jsonl'} exists: pass --force to overwrite it\n"
    )


def test_record_force_overwrites(wstail: Wstail, tmp_path: Path) -> None:
    """--force writes the capture over the existing file; WSTAIL_RECORD_FORCE does not."""
    target = tmp_path / "cap.jsonl"
    target.write_text("keep\n")
    env = {**CLEAN, "WSTAIL_RECORD_FORCE": "1", "WSTAIL_RECORD_PUBLIC_FORCE": "1"}
    assert wstail("record", "-o", target, "public", "--demo", "-n", "1", env=env).code == 2
    result = wstail("record", "--force", "-o", target, "public", "--demo", "-n", "1", env=CLEAN)
    assert result.code == 0
    assert target.read_text().startswith("{")


@pytest.mark.parametrize("demo", [[], ["--demo"]])
def test_demo_validates_like_url(wstail: Wstail, tmp_path: Path, demo: list[str]) -> None:
    """A bad -H and a missing --channel-file fail alike with and without --demo (exit 2)."""
    missing = tmp_path / "none"
    bad = wstail("tail", "user", "c1", "-H", "nocolon", *demo, env=CLEAN)
    assert (bad.code, bad.stderr) == (2, "wstail: -H 'nocolon'...: expected 'Name: value'\n")
    gone = wstail("tail", "user", "--channel-file", missing, *demo, env=CLEAN)
    assert gone.code == 2
    assert gone.stderr.endswith(
        f"wstail: cannot read --channel-file {missing}: No such file or directory\n"
    )
    assert len(gone.stderr.splitlines()) == 1


def test_options_before_the_source_are_accepted(wstail: Wstail, tmp_path: Path) -> None:
    """`tail --demo public` and `record -n 1 -o x public` read as if written after the source."""
    tail = wstail("tail", "--demo", "-n", "1", "--compact", "public", env=CLEAN)
    assert tail.code == 0
    assert len(tail.records) == 1
    target = tmp_path / "x.jsonl"
    record = wstail("record", "-n", "1", "-o", target, "--demo", "public", env=CLEAN)
    assert record.code == 0
    assert target.exists()


def test_a_websocket_url_where_the_feed_goes_is_tail_ws(wstail: Wstail) -> None:
    """`wstail tail -n 1 wss://...` (websocat's habit) taps the generic WebSocket feed."""
    result = wstail("tail", "-n", "1", "--retries", "0", "ws://127.0.0.1:1/feed", env=CLEAN)
    assert result.code == 3
    assert result.stderr.splitlines()[-1] == (
        "wstail: could not connect to ws://127.0.0.1:1/feed after 0 retries: connection refused"
    )


def test_an_http_url_where_the_feed_goes_asks_which_protocol(wstail: Wstail) -> None:
    """An http(s) URL could be Socket.IO or a WebSocket: one line says how to say which."""
    result = wstail("record", "-o", "x.jsonl", "https://example.com/feed", env=CLEAN)
    assert result.code == 2
    assert result.stderr.startswith(
        "wstail: wstail record https://example.com/feed: say which protocol: "
        "`wstail record sio URL` (Socket.IO) or `wstail record ws URL`"
    )
    assert result.stdout == b""


def test_options_without_a_source_name_the_place(wstail: Wstail) -> None:
    """`tail --demo` with no source says a source is needed and options go either side."""
    result = wstail("tail", "--demo", env=CLEAN)
    assert result.code == 2
    assert result.stderr == (
        "wstail: wstail tail needs a source (node, public, sio, user, ws); its options may go "
        "before or after it (see 'wstail tail --help')\n"
    )


def test_oneline_is_compact_and_coloured_even_into_a_pipe(wstail: Wstail) -> None:
    """--oneline prints one coloured line an envelope (jq -c -C); --no-color drops the colour."""
    result = wstail("replay", SAMPLE, "-n", "2", "--oneline", env=CLEAN)
    assert result.code == 0
    lines = result.stdout.decode().splitlines()
    assert len(lines) == 2 and all(ANSI.search(line) for line in lines)
    plain = wstail("replay", SAMPLE, "-n", "2", env=CLEAN)
    assert [ANSI.sub("", line).encode() for line in lines] == plain.stdout.splitlines()
    bare = wstail("replay", SAMPLE, "-n", "2", "--oneline", "--no-color", env=CLEAN)
    assert bare.stdout == plain.stdout


def test_oneline_and_pretty_conflict(wstail: Wstail) -> None:
    """--oneline with --pretty is a usage error (exit 2, one line)."""
    result = wstail("replay", SAMPLE, "--oneline", "--pretty", env=CLEAN)
    assert (result.code, result.stderr) == (
        2,
        "wstail: --oneline and --pretty cannot be combined\n",
    )


def run_in_pty(args: list[str]) -> str:
    """Run wstail with stdout on a pseudo-terminal and return what it printed."""
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR",) and "WSTAIL_" not in k}
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "wstail", *args],
        stdout=follower,
        stderr=subprocess.DEVNULL,
        env={**env, "TERM": "xterm"},
    )
    os.close(follower)
    chunks = drain(leader)
    proc.wait()
    os.close(leader)
    return b"".join(chunks).decode()


def test_tail_on_a_terminal_is_one_coloured_line_an_envelope() -> None:
    """tail's terminal default is --oneline; --pretty still indents; replay stays pretty."""
    one = run_in_pty(["tail", "public", "--demo", "-n", "2"]).splitlines()
    assert len(one) == 2 and all(ANSI.search(line) for line in one)
    pretty = run_in_pty(["tail", "public", "--demo", "-n", "1", "--pretty"]).splitlines()
    assert len(pretty) > 5
    replayed = run_in_pty(["replay", str(SAMPLE), "-n", "1"]).splitlines()
    assert len(replayed) > 5


@pytest.mark.parametrize("source", ["public", "node"])
def test_cacert_must_be_a_readable_file(wstail: Wstail, tmp_path: Path, source: str) -> None:
    """--cacert naming no file: exit 2 before connecting, the option named."""
    missing = tmp_path / "no-ca.pem"
    result = wstail("tail", source, "--url", "wss://127.0.0.1:9/ws", "--cacert", missing, env=CLEAN)
    assert result.code == 2
    assert "--cacert" in result.stderr and "no-ca.pem" in result.stderr


def test_short_options_never_clash_and_c_is_compact() -> None:
    """No command takes one short option for two things; -c is --compact where it exists."""
    cli = _build_cli()
    commands: dict[tuple[str, ...], list[str]] = {}
    for path, option in walk(cli, []):
        commands.setdefault(tuple(path), []).extend(option.opts + option.secondary_opts)
    for path, names in commands.items():
        shorts = [name for name in names if not name.startswith("--")]
        assert len(shorts) == len(set(shorts)), (path, sorted(shorts))
    for path in (("tail", "public"), ("record", "node"), ("replay",)):
        assert "-c" in commands[path] and "--compact" in commands[path], path


def test_tsv_on_a_terminal_is_a_plain_row() -> None:
    """--tsv rows are neither indented nor coloured on a terminal, where replay is pretty."""
    printed = run_in_pty(
        ["replay", str(SAMPLE), "-e", "trade", "-n", "2", "--tsv", "-q", "[seq, event]"]
    )
    assert printed.splitlines() == ["3\ttrade", "8\ttrade"]
