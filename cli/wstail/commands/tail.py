"""`wstail tail FEED`: a live feed as envelopes on stdout, one command per registered feed."""

from __future__ import annotations

from typing import Any

import click

from wstail.feeds import FEEDS, Feed

from .connect import feed_options, source_preparer
from .helpgroups import FeedCommand, tailored
from .options import environment, output_style, stream_options, stream_settings
from .sourcegroup import SourceGroup


@click.group(cls=SourceGroup)
def tail() -> None:
    """Tap a live feed: one normalized JSON envelope per message on stdout."""


def run_tail(feed: Feed, params: dict[str, Any]) -> None:
    """Connect (or start the demo server), then stream until an end condition."""
    from wstail.live import run_live

    env = environment()
    # a live feed on a terminal reads best one coloured line an envelope (--pretty to indent)
    style = output_style(params, pretty_default=False)
    stream = env.stream(stream_settings(params), style, live=True)
    try:
        run_live(source_preparer(feed, params), stream)
    finally:
        if style.stats:
            env.print_stats(stream)


def tail_command(feed: Feed) -> click.Command:
    """`wstail tail NAME`: the feed's options, as its registry entry says."""

    def command(**params: Any) -> None:
        run_tail(feed, params)

    command.__doc__ = feed.summary
    made = tail.command(feed.name, epilog=feed.tail_examples, cls=FeedCommand)(
        feed_options(feed)(stream_options(command))
    )
    return tailored(made, feed, "tail")


for _feed in FEEDS.values():
    tail_command(_feed)
