"""CONNECT and NODE options, and building a live source from them."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any, TypeVar

import click

from wstail.exitcodes import UsageError
from wstail.fastpaths import FastPaths
from wstail.feeds import ConnectSettings, Feed
from wstail.frames import DEFAULT_MAX_FRAME_SIZE
from wstail.live import LiveSource, Prepare

from .generic import emits_of, name_of, rules_of
from .options import LINE_LIST, environment

F = TypeVar("F", bound=Callable[..., Any])


def connect_options(func: F) -> F:
    """--url --eio -H --insecure --connect-timeout --retries --ping-interval
    --max-frame-size --demo --speed."""
    options = [
        click.option(
            "--url",
            envvar="WSTAIL_URL",
            metavar="URL",
            help="Server URL (default: https://paymium.com; node: ws://127.0.0.1:4002/ws).",
        ),
        click.option(
            "--eio",
            type=click.Choice(["auto", "3", "4"]),
            default="auto",
            show_default=True,
            envvar="WSTAIL_EIO",
            help="Engine.IO protocol (Socket.IO sources); auto works with Socket.IO 1.x to 4.x.",
        ),
        click.option(
            "-H",
            "--header",
            "headers",
            multiple=True,
            type=LINE_LIST,
            metavar="'K: V'",
            help="Extra HTTP header on the upgrade and long-polling requests (repeatable).",
        ),
        click.option("--insecure", is_flag=True, help="Skip TLS certificate verification."),
        click.option(
            "--cacert",
            type=click.Path(exists=True, dir_okay=False, readable=True),
            metavar="FILE",
            help=(
                "Check TLS certificates against the authorities in this PEM file "
                "(a private CA) instead of the system's."
            ),
        ),
        click.option(
            "--connect-timeout",
            type=click.FloatRange(min=0, min_open=True),
            default=10.0,
            show_default=True,
            metavar="SECONDS",
            help="Bound on each connection handshake.",
        ),
        click.option(
            "--retries",
            type=click.IntRange(min=0),
            metavar="N",
            envvar="WSTAIL_RETRIES",
            help="Reconnect attempts in a row (default: forever once the feed was "
            "reached, 3 if it never was).",
        ),
        click.option(
            "--retry-max-delay",
            type=click.FloatRange(min=0, min_open=True),
            default=5.0,
            show_default=True,
            metavar="SECONDS",
            envvar="WSTAIL_RETRY_MAX_DELAY",
            help="Cap on the wait before a reconnect attempt (1 s at first, doubling, "
            "randomized by half, as socket.io-client's).",
        ),
        click.option(
            "--ping-interval",
            type=click.FloatRange(min=0, min_open=True),
            metavar="SECONDS",
            help="Client liveness ping interval.",
        ),
        click.option(
            "--max-frame-size",
            type=FRAME_SIZE,
            default=DEFAULT_MAX_FRAME_SIZE,
            show_default=True,
            metavar="BYTES",
            help="A larger frame becomes a meta.bad_frame and is never held in memory"
            " (0: no limit).",
        ),
        click.option(
            "--demo",
            is_flag=True,
            help="Tail a bundled sample capture served on 127.0.0.1 (offline).",
        ),
        click.option(
            "--speed",
            type=click.FloatRange(min=0, min_open=True),
            metavar="X",
            help="With --demo: play the sample X times faster than recorded (default 1).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


class _FrameSize(click.ParamType):
    """A byte count, 0 or more: a bad one is a one-line usage error (exit 2)."""

    name = "bytes"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        """The value as an int of 0 or more."""
        if isinstance(value, int):
            number = value
        else:
            try:
                number = int(str(value).strip())
            except ValueError:
                self.fail(f"{value!r} is not a whole number of bytes", param, ctx)
        if number < 0:
            self.fail(f"{value!r} is negative (0 means no limit)", param, ctx)
        return number


FRAME_SIZE = _FrameSize()


def node_options(func: F) -> F:
    """--user --password-file --cookie-file."""
    options = [
        click.option("--user", metavar="NAME", help="Basic auth user name."),
        click.option(
            "--password-file",
            type=click.Path(dir_okay=False),
            metavar="FILE",
            help="File whose first line is the password (or set WSTAIL_NODE_PASSWORD).",
        ),
        click.option(
            "--cookie-file",
            type=click.Path(dir_okay=False),
            metavar="FILE",
            help="File with a line OpenBazaar_Auth_Cookie=VALUE (default: the "
            "node datadir's .cookie when present).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def channel_options(func: F) -> F:
    """CHANNEL... plus --channel-file and WSTAIL_CHANNELS."""
    func = click.option(
        "--channel-file",
        type=click.Path(dir_okay=False, allow_dash=True),
        metavar="FILE",
        help="Read channel IDs from FILE, one per line (keeps them off the command line).",
    )(func)
    return click.argument("channels", nargs=-1)(func)


def parse_headers(values: tuple[str, ...]) -> dict[str, str]:
    """`-H 'K: V'` values as a dict; a malformed one is a usage error."""
    headers: dict[str, str] = {}
    for value in values:
        name, sep, content = value.partition(":")
        if not sep or not name.strip() or any(c in name for c in " \t\r\n"):
            raise UsageError(f"-H {value.split(':')[0][:40]!r}...: expected 'Name: value'")
        headers[name.strip()] = content.strip()
    return headers


Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def feed_options(feed: Feed, *more: Decorator) -> Decorator:
    """The options a feed's commands take, as its registry entry says; `more` after CHANNEL.

    A generic feed takes its URL as an argument (no --url) and its generic
    options; --eio is only for Socket.IO feeds.
    """
    from .generic import generic_options

    bundles: list[Decorator] = []
    if feed.channels:
        bundles.append(channel_options)
    if feed.generic:
        bundles.append(generic_options(feed))
    bundles += [*more, connect_options]
    if feed.auth:
        bundles.append(node_options)
    dropped = {"url"} if feed.generic else set()
    if feed.protocol != "socketio":
        dropped.add("eio")

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        for bundle in reversed(bundles):
            func = bundle(func)
        params = getattr(func, "__click_params__", [])
        kept = [param for param in params if not _dropped(param, dropped)]
        func.__click_params__ = kept  # type: ignore[attr-defined]
        return func

    return decorate


def _dropped(param: click.Parameter, names: set[str]) -> bool:
    """Whether a bundle's option is not for this feed (the generic URL argument stays)."""
    return isinstance(param, click.Option) and param.name in names


def collect_channels(
    args: tuple[str, ...],
    channel_file: str | None,
    required: bool = True,
    command: str = "tail user",
) -> list[str]:
    """Channel IDs from arguments, --channel-file and WSTAIL_CHANNELS (never echoed).

    `command` names the command that ran (`record user`) in the error.
    """
    channels = [c.strip() for c in args if c.strip()]
    if channel_file:
        try:
            if channel_file == "-":
                text = sys.stdin.read()
            else:
                with open(channel_file, encoding="utf-8") as handle:
                    text = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            raise UsageError(f"cannot read --channel-file {channel_file}: {reason}") from None
        channels += [
            line.strip()
            for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        ]
    env = os.environ.get("WSTAIL_CHANNELS", "")
    channels += [c.strip() for c in env.split(",") if c.strip()]
    unique = list(dict.fromkeys(channels))
    if not unique and required:
        raise UsageError(
            f"{command} needs at least one channel ID: as arguments, --channel-file FILE, "
            "or WSTAIL_CHANNELS"
        )
    return unique


def connect_settings(params: dict[str, Any], channels: list[str] | None = None) -> ConnectSettings:
    """The typed CONNECT/NODE settings of a command's parsed options."""
    return ConnectSettings(
        url=params["url"],
        eio=params.get("eio", "auto"),
        headers=parse_headers(params["headers"]),
        insecure=params["insecure"],
        cacert=params["cacert"],
        connect_timeout=params["connect_timeout"],
        retries=params["retries"],
        retry_max_delay=params["retry_max_delay"],
        ping_interval=params["ping_interval"],
        user=params.get("user"),
        password_file=params.get("password_file"),
        cookie_file=params.get("cookie_file"),
        channels=tuple(channels or ()),
        max_frame_size=params.get("max_frame_size", DEFAULT_MAX_FRAME_SIZE),
        fast_paths=FastPaths.of_run(environment().environ),
        sends=tuple(params.get("sends") or ()),
        emits=emits_of(tuple(params.get("emits") or ())),
        namespace=params.get("namespace"),
        path=params.get("path"),
        name=name_of(params),
        rules=rules_of(params),
    )


def source_preparer(feed: Feed, params: dict[str, Any]) -> Prepare:
    """What `run_live` calls to get the feed's source: the demo server first with --demo."""
    channels = None
    if feed.channels:
        channels = collect_channels(
            params.pop("channels"),
            params.pop("channel_file"),
            required=not params["demo"],
            command=click.get_current_context().command_path.partition(" ")[2],
        )
    settings = connect_settings(params, channels)
    speed = params.pop("speed", None)
    given = click.get_current_context().get_parameter_source("speed")
    if speed is not None and not params["demo"] and given == click.core.ParameterSource.COMMANDLINE:
        raise UsageError("--speed only applies with --demo (a live feed comes at its own pace)")
    if params["demo"]:
        from wstail.demo import DEMO_CHANNEL, demo_preparer

        # --demo checks the options exactly as --url would, so a typo fails in both
        # (a generic feed's with a stand-in URL: its own comes from the sample)
        checked = settings if channels else connect_settings(params, [DEMO_CHANNEL])
        feed.open(checked, f"{feed.scheme}://127.0.0.1" if feed.generic else None)

        source = click.get_current_context().get_parameter_source("url")
        if params["url"] and source == click.core.ParameterSource.COMMANDLINE:
            named = "the URL" if feed.generic else "--url"
            raise UsageError(f"--demo serves its own bundled sample: drop {named} (or --demo)")
        return demo_preparer(feed, settings, environment().stderr, speed=speed or 1.0)
    live = feed.open(settings)  # option errors surface before connecting

    async def prepare(stack: AsyncExitStack) -> LiveSource:
        return live

    return prepare
