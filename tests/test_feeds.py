"""The feed registry drives the commands: each feed's commands, options and endpoints come from
its entry, and no code outside feeds.py tests a feed's name."""

from __future__ import annotations

import ast
from pathlib import Path

import click
import pytest

from conftest import Wstail
from wstail.commands.main import _build_cli
from wstail.feeds import FEEDS, Feed

PACKAGE = Path(__file__).resolve().parent.parent / "cli" / "wstail"
CLEAN: dict[str, str | None] = {"WSTAIL_CHANNELS": None}


def subcommand(*path: str) -> click.Command:
    """The command at `wstail PATH...`."""
    command: click.Command = _build_cli()
    for name in path:
        assert isinstance(command, click.Group)
        found = command.get_command(click.Context(command), name)
        assert found is not None, path
        command = found
    return command


def names(command: click.Command) -> set[str]:
    """Every parameter's name."""
    return {param.name for param in command.params if param.name is not None}


@pytest.mark.parametrize("feed", FEEDS.values(), ids=list(FEEDS))
@pytest.mark.parametrize("verb", ["tail", "record"])
def test_every_feed_has_its_commands_with_the_options_its_entry_names(
    feed: Feed, verb: str
) -> None:
    """`wstail tail|record NAME` exist for every feed, CHANNEL and auth options as it says."""
    command = subcommand(verb, feed.name)
    params = names(command)
    assert ("channels" in params) == feed.channels
    assert ("channel_file" in params) == feed.channels
    auth = {"user", "password_file", "cookie_file"}
    assert (auth & params) == (auth if feed.auth else set())
    assert {"url", "demo", "max_frame_size", "events", "query"} <= params
    assert ("output" in params) == (verb == "record")
    summary = feed.summary if verb == "tail" else feed.record_summary
    assert command.help == summary
    assert command.epilog == (feed.tail_examples if verb == "tail" else feed.record_examples)


def test_the_commands_list_exactly_the_registry() -> None:
    """No feed command is written by hand: tail and record list the registry's feeds, in order."""
    for verb in ("tail", "record"):
        group = subcommand(verb)
        assert isinstance(group, click.Group)
        assert sorted(group.list_commands(click.Context(group))) == sorted(FEEDS)


def _feed_name_tests(tree: ast.AST) -> list[int]:
    """Lines comparing something's `.name` with a string (a feed-name test)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            named = any(isinstance(side, ast.Attribute) and side.attr == "name" for side in sides)
            literal = any(isinstance(side, ast.Constant) and side.value in FEEDS for side in sides)
            if named and literal:
                found.append(node.lineno)
    return found


def test_no_feed_name_tests_outside_the_registry() -> None:
    """Only feeds.py knows feed names: elsewhere a feed is asked for its fields."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "feeds.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        offenders += [f"{path.relative_to(PACKAGE)}:{line}" for line in _feed_name_tests(tree)]
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Subscript)
                and isinstance(node.value, ast.Name)
                and node.value.id == "FEEDS"
                and isinstance(node.slice, ast.Constant)
            ):
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: FEEDS[...]")
    assert offenders == []


@pytest.mark.parametrize("verb", ["tail", "record"])
def test_missing_channels_name_the_command_that_ran(wstail: Wstail, verb: str) -> None:
    """`record user` without a channel says `record user`, not `tail user` (exit 2)."""
    args = ["record", "-o", "x.jsonl", "user"] if verb == "record" else ["tail", "user"]
    result = wstail(*args, env=CLEAN)
    assert result.code == 2
    assert result.stderr == (
        f"wstail: {verb} user needs at least one channel ID: as arguments, "
        "--channel-file FILE, or WSTAIL_CHANNELS\n"
    )
