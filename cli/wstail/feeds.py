"""The feeds wstail taps, one entry each: how to reach it, normalize it, serve and demo it.

Adding a feed is one `Feed` entry here plus its source and normalizer
modules; commands, replay, record and --demo find everything through it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from wstail.fastpaths import FastPaths
from wstail.normalize import (
    Normalizer,
    normalize_frame,
    normalize_node_frame,
    normalize_paymium_frame,
)

if TYPE_CHECKING:
    from wstail.live import LiveSource


@dataclass(frozen=True, slots=True)
class ConnectSettings:
    """The CONNECT and NODE options of one run, as typed values."""

    url: str | None = None
    eio: str = "auto"
    headers: dict[str, str] = field(default_factory=dict)
    insecure: bool = False
    cacert: str | None = None
    connect_timeout: float = 10.0
    retries: int | None = None
    retry_max_delay: float = 5.0  # seconds: the cap on reconnect delays
    ping_interval: float | None = None
    user: str | None = None
    password_file: str | None = None
    cookie_file: str | None = None
    channels: tuple[str, ...] = ()
    max_frame_size: int = 64 * 1024 * 1024  # bytes; 0: no limit
    fast_paths: FastPaths | None = None  # the run's counts (strict: WSTAIL_STRICT_FAST_PATHS)


@dataclass(frozen=True, slots=True, kw_only=True)
class Feed:
    """One feed: what the commands, the source, replay, --demo and --serve need of it.

    Everything that differs between feeds is a field here, so that no code
    outside this module tests a feed's name.
    """

    name: str  # the command's word: `wstail tail NAME`, `wstail record NAME`
    source: str  # the envelopes' `source`, and a capture header's
    summary: str  # the one line of `wstail tail NAME --help`
    record_summary: str  # the one line of `wstail record NAME --help`
    tail_examples: str  # the epilogs of those two commands
    record_examples: str
    normalize: Normalizer
    protocol: str  # "socketio" or "websocket": how it is reached and served
    default_url: str
    namespace: str = ""  # the Socket.IO namespace joined (socketio feeds)
    endpoint: str  # the path a served capture of this feed listens on
    sample: str  # the bundled capture under wstail/data, for --demo
    private: bool = False  # captures are created 0600; served only to named origins
    private_content: str = ""  # what a private capture holds, for warnings
    channels: bool = False  # takes CHANNEL... IDs (secrets), joined on every connect
    auth: bool = False  # takes the node's --user/--password-file/--cookie-file
    build: Callable[[Feed, ConnectSettings, str], LiveSource]

    @property
    def scheme(self) -> str:
        """The scheme of the URL a served capture of this feed is reached at."""
        return "ws" if self.protocol == "websocket" else "http"

    @property
    def served_url_path(self) -> str:
        """What follows host:port in the URL a client is given for a served capture.

        A Socket.IO client is given the server's root (it adds the endpoint
        as its path); a WebSocket client, the endpoint itself.
        """
        return self.endpoint if self.protocol == "websocket" else ""

    def open(self, settings: ConnectSettings, url: str | None = None) -> LiveSource:
        """The live source for this feed (option errors surface here, before connecting)."""
        return self.build(self, settings, url or settings.url or self.default_url)


def _socketio_source(feed: Feed, settings: ConnectSettings, url: str) -> LiveSource:
    from wstail.live import LiveSource
    from wstail.sources.socketio import SocketIOSource

    sio = SocketIOSource(
        url,
        feed.namespace,
        settings.channels,
        eio=settings.eio,
        ping_interval=settings.ping_interval,
        headers=settings.headers,
        insecure=settings.insecure,
        cacert=settings.cacert,
        connect_timeout=settings.connect_timeout,
        retries=settings.retries,
        retry_max_delay=settings.retry_max_delay,
        max_frame_size=settings.max_frame_size,
        fast_paths=settings.fast_paths,
    )
    return LiveSource(
        sio,
        feed.source,
        feed.normalize,
        sio.display_url,
        sio.protocol or "",  # eio3/eio4; with --eio auto the recorder learns it on connecting
        private=feed.private,
    )


def _node_source(feed: Feed, settings: ConnectSettings, url: str) -> LiveSource:
    import os

    from wstail.live import LiveSource
    from wstail.sources.node import NodeSource
    from wstail.sources.nodeauth import resolve_node_auth

    auth = resolve_node_auth(
        settings.user, settings.password_file, settings.cookie_file, os.environ
    )
    node = NodeSource(
        url,
        auth=auth,
        ping_interval=settings.ping_interval or 20.0,
        headers=settings.headers,
        insecure=settings.insecure,
        cacert=settings.cacert,
        connect_timeout=settings.connect_timeout,
        retries=settings.retries,
        retry_max_delay=settings.retry_max_delay,
        max_frame_size=settings.max_frame_size,
    )
    return LiveSource(
        node, feed.source, feed.normalize, node.display_url, "websocket", private=feed.private
    )


PAYMIUM_URL = "https://paymium.com"
NODE_URL = "ws://127.0.0.1:4002/ws"
SOCKETIO_PATH = "/ws/socket.io"
NODE_PATH = "/ws"

FEEDS: dict[str, Feed] = {
    feed.name: feed
    for feed in (
        Feed(
            name="public",
            source="paymium.public",
            summary="Paymium public feed: trades, ticker, depth, prices, announcements.",
            record_summary="Record the Paymium public feed.",
            tail_examples="""\b
Examples:
  wstail tail public -e trade -q data.price
  wstail tail public -e trade -n 1 -q data.price -r     # latest trade price, for cron
  wstail tail public -x depth --meta | tee feed.jsonl
  wstail tail public --demo                             # offline sample
""",
            record_examples="""\b
Examples:
  wstail record -o public.jsonl.gz public
  wstail record -o 'paymium-%Y%m%dT%H.jsonl.zst' --rotate-every 1h public   # from cron
""",
            normalize=normalize_paymium_frame,
            protocol="socketio",
            default_url=PAYMIUM_URL,
            namespace="/public",
            endpoint=SOCKETIO_PATH,
            sample="public.jsonl",
            build=_socketio_source,
        ),
        Feed(
            name="user",
            source="paymium.user",
            summary="Paymium user and payment channels (CHANNEL IDs are secrets: prefer "
            "--channel-file).",
            record_summary="Record Paymium user and payment channels (capture files are "
            "created 0600).",
            tail_examples="""\b
Examples:
  wstail tail user --channel-file ~/.paymium-channel -e balance
  WSTAIL_CHANNELS=$PAYMENT_UUID wstail tail user --until "data.state == 'paid'"
""",
            record_examples="""\b
Examples:
  wstail record -o user.jsonl.gz user --channel-file ~/.paymium-channel
  WSTAIL_CHANNELS=$PAYMENT_UUID wstail record -o pay.jsonl user --until "data.state == 'paid'"
""",
            normalize=normalize_paymium_frame,
            protocol="socketio",
            default_url=PAYMIUM_URL,
            namespace="/user",
            endpoint=SOCKETIO_PATH,
            sample="user.jsonl",
            private=True,
            private_content="balances and orders",
            channels=True,
            build=_socketio_source,
        ),
        Feed(
            name="node",
            source="node",
            summary="OpenBazaar node WebSocket: wallet, notifications, chat, lookups, status.",
            record_summary="Record an OpenBazaar node's WebSocket.",
            tail_examples="""\b
Examples:
  wstail tail node -e 'notification.*'
  wstail tail node --user admin --password-file ~/.ob-pass -e wallet.tx -n 1
  wstail tail node --url ws://127.0.0.1:4002/ws --idle-timeout 60
""",
            record_examples="""\b
Examples:
  wstail record -o node.jsonl.zst node --rotate-size 100M
  wstail record -o - node --user admin --password-file ~/.ob-pass | gzip > node.jsonl.gz
""",
            normalize=normalize_node_frame,
            protocol="websocket",
            default_url=NODE_URL,
            endpoint=NODE_PATH,
            sample="node.jsonl",
            private=True,
            private_content="wallet, notifications and chats",
            auth=True,
            build=_node_source,
        ),
    )
}
"""The named feeds, by command word, in the order commands list them."""


def feed_of_source(source: str) -> Feed | None:
    """The feed whose envelopes carry this source name (a capture header's), if any."""
    for feed in FEEDS.values():
        if feed.source == source:
            return feed
    if source.startswith("paymium."):  # another Paymium namespace: the same protocol
        return FEEDS["public"]
    return None


def normalizer_for(source: str) -> Normalizer:
    """The normalizer for frames of a capture of `source` (any kind, for unknown sources)."""
    feed = feed_of_source(source)
    return feed.normalize if feed is not None else normalize_frame


def sample_path(feed: Feed) -> str:
    """The path of the feed's bundled sample capture."""
    from importlib import resources

    return str(resources.files("wstail") / "data" / feed.sample)


__all__ = [
    "FEEDS",
    "ConnectSettings",
    "Feed",
    "feed_of_source",
    "normalizer_for",
    "sample_path",
]
