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
    ping_interval: float | None = None
    user: str | None = None
    password_file: str | None = None
    cookie_file: str | None = None
    channels: tuple[str, ...] = ()
    max_frame_size: int = 64 * 1024 * 1024  # bytes; 0: no limit
    fast_paths: FastPaths | None = None  # the run's counts (strict: WSTAIL_STRICT_FAST_PATHS)


@dataclass(frozen=True, slots=True)
class Feed:
    """One feed: its envelope source name, normalizer, endpoint, sample and source builder."""

    name: str  # the command's word: `wstail tail NAME`
    source: str  # the envelopes' `source`, and a capture header's
    normalize: Normalizer
    default_url: str
    scheme: str  # of the URL a served capture of this feed is reached at
    endpoint: str  # the path a served capture of this feed listens on
    sample: str  # the bundled capture under wstail/data, for --demo
    private: bool  # captures are created 0600
    build: Callable[[Feed, ConnectSettings, str], LiveSource]

    def open(self, settings: ConnectSettings, url: str | None = None) -> LiveSource:
        """The live source for this feed (option errors surface here, before connecting)."""
        return self.build(self, settings, url or settings.url or self.default_url)


def _socketio_source(feed: Feed, settings: ConnectSettings, url: str) -> LiveSource:
    from wstail.live import LiveSource
    from wstail.sources.socketio import SocketIOSource

    namespace = "/user" if feed.name == "user" else "/public"
    sio = SocketIOSource(
        url,
        namespace,
        settings.channels,
        eio=settings.eio,
        ping_interval=settings.ping_interval,
        headers=settings.headers,
        insecure=settings.insecure,
        cacert=settings.cacert,
        connect_timeout=settings.connect_timeout,
        retries=settings.retries,
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
    "public": Feed(
        "public",
        "paymium.public",
        normalize_paymium_frame,
        PAYMIUM_URL,
        "http",
        SOCKETIO_PATH,
        "public.jsonl",
        False,
        _socketio_source,
    ),
    "user": Feed(
        "user",
        "paymium.user",
        normalize_paymium_frame,
        PAYMIUM_URL,
        "http",
        SOCKETIO_PATH,
        "user.jsonl",
        True,
        _socketio_source,
    ),
    "node": Feed(
        "node",
        "node",
        normalize_node_frame,
        NODE_URL,
        "ws",
        NODE_PATH,
        "node.jsonl",
        True,
        _node_source,
    ),
}


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
