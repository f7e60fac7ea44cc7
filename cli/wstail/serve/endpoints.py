"""What a served capture is, read from its header (pure): its feed, its path, its namespaces.

    served = served_capture(header.source, header.url, header.extra)
    served.path            # where the server answers: "/ws/socket.io", "/v2", "/socket.io/"
    served.namespaces      # Socket.IO: (Namespace("/prices"),)

The header's `feed.kind` decides the feed of a generic capture (`tail ws`,
`tail sio`); a named feed's is known by its source (`feeds.feed_of_header`).
Everything else is data taken from there:

- a named feed: the endpoint of its registry entry; for Socket.IO, the
  namespaces of every named feed served at that endpoint (Paymium's /public
  and /user), a feed that takes channels replaying only once a client emitted
  `channel` (what our source emits for each channel ID after joining; any
  value: a replay has no secrets to check), as the live server does;
- a `tail ws` capture: the path of its recorded URL;
- a `tail sio` capture: its recorded Socket.IO path and namespace.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from wstail.feeds import FEEDS, GENERIC_SOCKETIO_PATH, Feed, feed_of_header
from wstail.frames import Frame

__all__ = ["CHANNEL_EVENT", "Namespace", "ServedCapture", "served_capture"]

CHANNEL_EVENT = "channel"  # what SocketIOSource emits for each channel ID once joined


@dataclass(frozen=True, slots=True)
class Namespace:
    """A Socket.IO namespace a served capture offers: its own recorded frames, to its clients."""

    name: str  # "/prices", "/" ...
    gate: str | None = None  # an event a client emits before its replay starts (None: on joining)

    def keep(self, frame: Frame) -> bool:
        """Whether a recorded frame is replayed in this namespace: its own Socket.IO frames."""
        return frame.kind == "sio" and frame.channel == self.name


@dataclass(frozen=True, slots=True)
class ServedCapture:
    """How a capture is served: its feed, the path clients connect to, its namespaces."""

    feed: Feed
    source: str  # the header's
    path: str  # the HTTP path the server answers on, as in a URL (Socket.IO: its path)
    namespaces: tuple[Namespace, ...] = ()  # Socket.IO: the namespaces a client may join

    @property
    def shown_path(self) -> str:
        """What follows host:port in the URL `replay --serve` prints.

        A named feed's endpoint (as ever); a `tail ws` capture's path; for a
        `tail sio` capture, its namespace: the URL `wstail tail sio` takes.
        """
        if self.feed.generic and self.feed.protocol == "socketio":
            return self.namespaces[0].name if self.namespaces else "/"
        return self.path

    @property
    def client_path(self) -> str:
        """What follows host:port in the URL a client of our own is given (--demo).

        A Socket.IO client is given the server's root (its path and namespace
        are settings); a WebSocket client, the path itself.
        """
        return self.path if self.feed.protocol == "websocket" else ""


def served_capture(
    source: str, url: str = "", extra: Mapping[str, Any] | None = None
) -> ServedCapture:
    """How a capture of `source` (its header's `url` and other fields) is served.

    ValueError if no server speaks it (an unknown source, no generic `feed`).
    """
    header = dict(extra or {})
    feed, _ = feed_of_header(source, header)
    if feed is None:
        raise ValueError(
            f"cannot serve a capture of source {source!r} "
            "(paymium.*, node, or a capture of `tail ws` or `tail sio`)"
        )
    if not feed.generic:
        namespaces = _named_namespaces(feed) if feed.protocol == "socketio" else ()
        return ServedCapture(feed, source, feed.endpoint, namespaces)
    kept = header["feed"]  # feed_of_header found a generic feed there
    if feed.protocol == "websocket":
        return ServedCapture(feed, source, _url_path(url))
    namespace = _text(kept.get("namespace"), "/")
    path = _text(kept.get("path"), GENERIC_SOCKETIO_PATH)
    return ServedCapture(feed, source, path, (Namespace(namespace),))


def _named_namespaces(feed: Feed) -> tuple[Namespace, ...]:
    """The namespaces of every named Socket.IO feed served at `feed`'s endpoint."""
    return tuple(
        Namespace(other.namespace, CHANNEL_EVENT if other.channels else None)
        for other in FEEDS.values()
        if not other.generic and other.protocol == "socketio" and other.endpoint == feed.endpoint
    )


def _url_path(url: str) -> str:
    """The path of a recorded URL, as written there (`/` when it has none)."""
    try:
        path = urlsplit(url).path
    except ValueError:
        path = ""
    return path if path.startswith("/") else "/" + path


def _text(value: Any, default: str) -> str:
    """A path-like header value: a string starting with `/`, else the default."""
    return value if isinstance(value, str) and value.startswith("/") else default
