"""`wstail record -o FILE FEED`: a lossless capture of a live feed, one command per feed."""

from __future__ import annotations

import dataclasses
from typing import Any

import click

from wstail.exitcodes import UsageError
from wstail.feeds import FEEDS, Feed

from .connect import feed_options, source_preparer
from .helpgroups import FeedCommand, tailored
from .options import environment, output_style, stream_options, stream_settings
from .sourcegroup import SourceGroup

EXAMPLES = """\b
Examples:
  wstail record -o public.jsonl.gz public
  wstail record -o 'paymium-%Y%m%dT%H.jsonl.zst' --rotate-every 1h public   # from cron
  wstail record -o user.jsonl.gz user --channel-file ~/.paymium-channel --tee -e balance
"""


def record_options(func: Any) -> Any:
    """-o --rotate-size --rotate-every --tee (on the group and on each source)."""
    options = [
        click.option(
            "-o",
            "--output",
            metavar="FILE",
            help="Capture file ('-' for stdout); .gz and .zst compress. strftime "
            "fields (%Y%m%d...) are filled per rotated part.",
        ),
        click.option(
            "--rotate-size",
            metavar="SIZE",
            help="Start a new file once this one takes SIZE on disk (100M; compressed bytes"
            " for .gz and .zst).",
        ),
        click.option(
            "--rotate-every",
            metavar="DURATION",
            help="Start a new file every DURATION (1h, 15m, 1d).",
        ),
        click.option(
            "--tee",
            is_flag=True,
            default=None,
            help="Also print the envelopes (filtered) to stdout.",
        ),
        click.option(
            "--force",
            is_flag=True,
            default=None,
            help="Overwrite an existing capture file (without it, exit 2).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@click.group(cls=SourceGroup, epilog=EXAMPLES)
@record_options
@click.pass_context
def record(ctx: click.Context, **params: Any) -> None:
    """Record a live feed to a capture file, frames as received (lossless)."""
    ctx.obj = params


def _merged(ctx: click.Context, params: dict[str, Any]) -> dict[str, Any]:
    group = ctx.obj or {}
    for key in ("output", "rotate_size", "rotate_every", "tee", "force"):
        if params.get(key) is None:
            params[key] = group.get(key)
    if not params["output"]:
        raise UsageError("record needs -o/--output FILE ('-' for stdout)")
    if params["output"] == "-" and params["tee"]:
        raise UsageError("--tee cannot share stdout with -o -")
    if params["output"] != "-" and not params["force"]:
        rotating = bool(params["rotate_size"] or params["rotate_every"])
        existing = existing_capture(params["output"], rotating)
        if existing is not None:
            raise UsageError(f"{existing} exists: pass --force to overwrite it")
    return params


def existing_capture(pattern: str, rotating: bool) -> str | None:
    """The first file this recording would overwrite, if one exists already.

    That is the first part's name (strftime fields filled now) and, when rotating
    a plain name, the numbered parts an earlier run left (`day.1.jsonl.gz`...).
    """
    import glob
    import os
    import time

    from wstail.recorder import part_name

    now_us = time.time_ns() // 1000
    first = part_name(pattern, 0, now_us)
    if os.path.exists(first):
        return first
    if rotating and "%" not in pattern:
        head, tail = os.path.split(pattern)
        stem, dot, exts = tail.partition(".")
        candidates = glob.glob(os.path.join(glob.escape(head), glob.escape(stem) + ".*"))
        for path in sorted(candidates):
            number, _, rest = os.path.basename(path)[len(stem) + 1 :].partition(".")
            if number.isdigit() and (rest == exts if dot else not rest):
                return path
    return None


def run_record(feed: Feed, params: dict[str, Any]) -> None:
    """Connect and write every frame to the capture; --tee prints envelopes too."""
    from wstail.fastpaths import DeveloperSwitches
    from wstail.index import CHECKPOINT_EVERY
    from wstail.live import run_live
    from wstail.recorder import RecordOptions, parse_duration, parse_size
    from wstail.status import RecordStatus

    env = environment()
    every = DeveloperSwitches.from_environ(env.environ).index_every
    options = RecordOptions(
        path=params["output"],
        rotate_size=parse_size(params["rotate_size"]) if params["rotate_size"] else None,
        rotate_every=parse_duration(params["rotate_every"]) if params["rotate_every"] else None,
        index_every=every or CHECKPOINT_EVERY,
    )
    style = output_style(params)
    tee = bool(params["tee"])
    status = None
    if RecordStatus.wanted(env.stderr, env.stdout_isatty, tee or options.path == "-"):
        status = RecordStatus(env.stderr)
        env = dataclasses.replace(env, stderr=status.as_stderr)  # lines go above the status
    stream = env.stream(stream_settings(params), style, live=tee, printing=tee)
    prepare = source_preparer(feed, params)
    try:
        run_live(prepare, stream, options.recorder_for, status)
    finally:
        if style.stats:
            env.print_stats(stream)


def record_command(feed: Feed) -> click.Command:
    """`wstail record NAME`: the feed's options and the record options, from its entry."""

    @click.pass_context
    def command(ctx: click.Context, **params: Any) -> None:
        run_record(feed, _merged(ctx, params))

    command.__doc__ = feed.record_summary
    made = record.command(feed.name, epilog=feed.record_examples, cls=FeedCommand)(
        feed_options(feed, record_options)(stream_options(command))
    )
    return tailored(made, feed, "record")


for _feed in FEEDS.values():
    record_command(_feed)
