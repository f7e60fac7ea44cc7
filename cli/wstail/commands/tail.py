"""`wstail tail public|user|node`: a live feed as envelopes on stdout."""

from __future__ import annotations

from typing import Any

import click

from .connect import (
    channel_options,
    collect_channels,
    connect_options,
    node_options,
    source_preparer,
)
from .options import environment, output_style, stream_options, stream_settings
from .sourcegroup import SourceGroup


@click.group(cls=SourceGroup)
def tail() -> None:
    """Tap a live feed: one normalized JSON envelope per message on stdout."""


def run_tail(name: str, params: dict[str, Any], channels: list[str] | None = None) -> None:
    """Connect (or start the demo server), then stream until an end condition."""
    from wstail.live import run_live

    env = environment()
    # a live feed on a terminal reads best one coloured line an envelope (--pretty to indent)
    style = output_style(params, pretty_default=False)
    stream = env.stream(stream_settings(params), style, live=True)
    try:
        run_live(source_preparer(name, params, channels), stream)
    finally:
        if style.stats:
            env.print_stats(stream)


@tail.command(
    epilog="""\b
Examples:
  wstail tail public -e trade -q data.price
  wstail tail public -e trade -n 1 -q data.price -r     # latest trade price, for cron
  wstail tail public -x depth --meta | tee feed.jsonl
  wstail tail public --demo                             # offline sample
"""
)
@connect_options
@stream_options
def public(**params: Any) -> None:
    """Paymium public feed: trades, ticker, depth, prices, announcements."""
    run_tail("public", params)


@tail.command(
    epilog="""\b
Examples:
  wstail tail user --channel-file ~/.paymium-channel -e balance
  WSTAIL_CHANNELS=$PAYMENT_UUID wstail tail user --until "data.state == 'paid'"
"""
)
@channel_options
@connect_options
@stream_options
def user(channels: tuple[str, ...], channel_file: str | None, **params: Any) -> None:
    """Paymium user and payment channels (CHANNEL IDs are secrets: prefer --channel-file)."""
    ids = collect_channels(channels, channel_file, required=not params["demo"])
    run_tail("user", params, ids)


@tail.command(
    epilog="""\b
Examples:
  wstail tail node -e 'notification.*'
  wstail tail node --user admin --password-file ~/.ob-pass -e wallet.tx -n 1
  wstail tail node --url ws://127.0.0.1:4002/ws --idle-timeout 60
"""
)
@connect_options
@node_options
@stream_options
def node(**params: Any) -> None:
    """OpenBazaar node WebSocket: wallet, notifications, chat, lookups, status."""
    run_tail("node", params)
