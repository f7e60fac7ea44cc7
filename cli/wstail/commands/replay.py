"""`wstail replay`: captures and wstail NDJSON back through the stream, or served live."""

from __future__ import annotations

import os
import sys
from typing import Any, TextIO

import click
from click.core import ParameterSource

from wstail.exitcodes import UsageError

from .generic import rule_options, rules_of
from .helpgroups import ReplayCommand, replay_tailored
from .options import environment, output_style, stream_options, stream_settings

EXAMPLES = """\b
Examples:
  wstail replay session.jsonl.gz -e trade -q data.price
  wstail replay --speed 10 day.jsonl.zst | ./consumer
  wstail replay --from 2026-11-23T10:00:00Z --to seq:5000 cap.jsonl
  wstail replay --from +1h --to +1h30m day.jsonl.zst
  wstail replay --follow /var/lib/wstail/ -e trade
  wstail tail public -n 100 | wstail replay - -f 'data.price > `200`'
  wstail replay --serve 3000 --cors http://localhost:5173 cap.jsonl
"""


@click.command(epilog=EXAMPLES, cls=ReplayCommand)
@click.argument("files", nargs=-1, type=click.Path(allow_dash=True))
@click.option(
    "--from",
    "start",
    metavar="TIME|+DURATION|seq:N",
    help="Start at this receive time or sequence number (inclusive). TIME: RFC 3339 "
    "(2026-11-23T10:00:00Z), a date (midnight UTC) or a date-time without offset (UTC); "
    "+DURATION: after the capture's start (+90s, +1h30m, +2d; the first capture's header "
    "start, or NDJSON's first recv_ts). A capture's index (FILE.idx: record writes it, "
    "`wstail index` makes it) lets reading start near it and skip parts outside.",
)
@click.option(
    "--to",
    "end",
    metavar="TIME|+DURATION|seq:N",
    help="Stop before this receive time or sequence number (exclusive; as --from, and "
    "not before it).",
)
@click.option(
    "--speed",
    type=click.FloatRange(min=0, min_open=True),
    metavar="X",
    help="Pace by the recorded times (1 = real time). Default: as fast as the "
    "pipe takes it; 1 when serving.",
)
@click.option(
    "--follow",
    "-F",
    is_flag=True,
    help="Like tail -F: print what FILE or DIR holds, then each frame as record writes it "
    "(within 250 ms), a directory's next part when it appears; until -n, --until, "
    "--duration, --to or Ctrl-C.",
)
@click.option(
    "--max-gap", type=click.FloatRange(min=0), metavar="SECONDS", help="Cap idle gaps when pacing."
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    metavar="N",
    help="Decode and normalize captures in N worker processes (output as with -j 1). "
    "Default: every core once a capture passes 4 MiB of lines, one process below; "
    "NDJSON and --speed/--duration replays use one process.",
)
@click.option(
    "--serve",
    metavar="[HOST:]PORT",
    help="Serve the capture as a live endpoint of its own protocol instead of printing.",
)
@click.option(
    "--loop",
    is_flag=True,
    help="With --serve: start over at the end (else each session ends after the last frame).",
)
@rule_options
@click.option(
    "--eio",
    type=click.Choice(["3", "4"]),
    default="4",
    show_default=True,
    help="With --serve, Socket.IO captures: Engine.IO protocol to serve.",
)
@click.option(
    "--cors",
    multiple=True,
    metavar="ORIGIN",
    help="With --serve: let pages from ORIGIN (http://HOST:PORT) read it, with credentials "
    "(repeatable; '*': any page, no credentials, public captures only). Default: none.",
)
@click.option(
    "--allow-host",
    "allow_hosts",
    multiple=True,
    metavar="NAME",
    help="With --serve: also answer requests for this Host name (repeatable; besides "
    "loopback names, the bound address, and any IP when bound to 0.0.0.0 or ::).",
)
@stream_options
def replay(files: tuple[str, ...], **params: Any) -> None:
    """Replay captures or wstail's own NDJSON output (FILE may be '-' for stdin).

    A directory is its captures in the order of their headers (start, then
    part), not their names; other files in it are passed over (one line
    each; hidden and .idx files silently). Compression is read from the
    file (.gz, .zst). Corrupt lines are reported
    as FILE:LINE: reason on stderr (five per file, then a count); good lines
    are still printed (exit 4). A file whose first line is neither a capture
    header nor an envelope is one line on stderr (exit 4).
    """
    from functools import partial

    from wstail.fastpaths import DeveloperSwitches
    from wstail.feeds import reading_for
    from wstail.replaying import Bound, Replayer, ReplayOptions, Window
    from wstail.replaying.blocks import BLOCK_SIZE
    from wstail.replaying.parallel import Jobs

    paths = list(files) or ["-"]
    if params["follow"]:
        _check_follow(paths, params)
    if params["serve"]:
        from .serving import serve_files

        if any(os.path.isdir(path) for path in paths):
            raise UsageError("--serve takes one capture FILE, not a directory")

        serve_files(paths, params)
        return
    if params["loop"]:
        raise UsageError("--loop only applies with --serve")
    typed = click.get_current_context().get_parameter_source
    if ParameterSource.COMMANDLINE in (typed("cors"), typed("allow_hosts")):
        # from the environment they are a setting for the next --serve, not a mistake
        raise UsageError("--cors and --allow-host only apply with --serve")
    env = environment()
    if not params["follow"] and any(os.path.isdir(path) for path in paths):
        from wstail.replaying.parts import expand_directories

        paths = expand_directories(paths, partial(_say, env.stderr))
    if not files and _stdin_is_a_terminal():
        # Not an error (a person may paste lines), but a silent wait looks like a hang.
        env.stderr.write(STDIN_HINT + "\n")
        env.stderr.flush()
    switches = DeveloperSwitches.from_environ(env.environ)
    window = Window(
        Bound.parse(params["start"], "--from") if params["start"] else None,
        Bound.parse(params["end"], "--to") if params["end"] else None,
    )
    options = ReplayOptions(
        window=window if window.active else None,
        speed=params["speed"],
        max_gap=params["max_gap"],
        jobs=Jobs.of(params["jobs"]),
        short_ways=switches.short_ways,
        block_size=switches.block_size or BLOCK_SIZE,
        strict_fast_paths=switches.strict,
    )
    style = output_style(params)
    stream = env.stream(
        stream_settings(params),
        style,
        block=not params["speed"],
        window=window.contains if window.active else None,
    )
    rules = rules_of(params)
    # Indexes count envelopes by the recorded rules: replay's own --each... number anew.
    options.use_index = switches.index and rules == type(rules)()
    reading = partial(reading_for, rules=rules)
    follower = None
    replayer: Replayer
    if params["follow"]:
        from wstail.replaying.follow import Follower  # only then: a replay starts without it

        replayer = follower = Follower(stream, options, env.stderr, reading)
    else:
        replayer = Replayer(stream, options, env.stderr, reading)
    try:
        if follower is not None:
            follower.follow(paths[0])
        else:
            replayer.replay(paths)
    finally:
        try:
            stream.close()
        finally:
            if style.stats:
                env.print_stats(stream)
            if _debug():
                env.stderr.write(f"wstail: debug: {replayer.fast_paths.summary()}\n")


def _check_follow(paths: list[str], params: dict[str, Any]) -> None:
    """UsageError for a --follow that cannot be: of stdin, of several inputs, or serving."""
    if params["serve"]:
        raise UsageError("--follow cannot be used with --serve")
    if len(paths) != 1 or paths[0] == "-":
        raise UsageError("--follow takes one FILE or DIR (not stdin: a pipe is followed anyway)")


def _say(stderr: TextIO, message: str) -> None:
    """One line about an input on stderr."""
    stderr.write(f"wstail: {message}\n")
    stderr.flush()


STDIN_HINT = "wstail: reading captures from stdin (Ctrl-D to end; give FILE to replay a file)"


def _stdin_is_a_terminal() -> bool:
    """Whether stdin is a terminal (a closed or odd stdin is not)."""
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def _debug() -> bool:
    """Whether `wstail --debug` was given."""
    ctx = click.get_current_context(silent=True)
    return ctx is not None and bool(ctx.find_root().params.get("debug"))


replay_tailored(replay)
