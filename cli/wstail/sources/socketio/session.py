"""What the Socket.IO transports share: the target, the session shape, the failures.

A transport (`driver.py` over WebSocket, `polling.py`) opens a `SioSession`:
the handshake and the namespace connect are done, `channel` was emitted for
every channel. Its `frames()` yields what arrives and ends by raising
`SessionDropped` (`ServerEnded` when the server disconnected the namespace:
the end of the run). The reconnect loop in `source.py` only sees these types.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from wstail.exitcodes import UsageError
from wstail.fastpaths import FastPaths
from wstail.frames import DEFAULT_MAX_FRAME_SIZE, Frame
from wstail.redact import redact_url

DEFAULT_PATH = "/ws/socket.io"
REFUSED_STATUSES = frozenset({401, 403})


def silent_logger(name: str) -> logging.Logger:
    """A logger that lets nothing out, for libraries that log frame contents.

    websockets (DEBUG) logs every frame it sends, `channel` emits included:
    channel IDs are secrets.
    """
    logger = logging.getLogger(name)
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
    logger.propagate = False
    logger.setLevel(logging.CRITICAL + 1)
    return logger


class HandshakeFailed(Exception):
    """A connection attempt failed in a way worth retrying; the message is the reason."""


class UpgradeRejected(HandshakeFailed):
    """The server answered the WebSocket upgrade with an HTTP status instead of 101."""

    def __init__(self, status: int) -> None:
        super().__init__(f"server rejected the WebSocket upgrade: HTTP {status}")
        self.status = status


class Refused(Exception):
    """The server refused us for good (HTTP 401/403, namespace error): never retried."""


class SessionDropped(Exception):
    """An open session ended; the message is the reason."""


class ServerEnded(SessionDropped):
    """The server disconnected our namespace (its Socket.IO disconnect packet): the run is over.

    socket.io-client does not reconnect after it ("io server disconnect"), so
    neither do we; any other end of a session is a drop worth a reconnect.
    """


@dataclass(frozen=True, slots=True)
class SioTarget:
    """Where and how to connect. Channels and headers stay out of the repr (secrets)."""

    scheme: str  # "http" or "https"
    netloc: str  # host[:port], userinfo included when the URL had one
    query: str  # the URL's own query, passed on to the server
    path: str  # the Socket.IO path, "/ws/socket.io"
    namespace: str
    display_url: str  # redacted, for messages and meta frames
    channels: tuple[str, ...] = field(default=(), repr=False)
    # Events emitted after every join, after the channels: each event array's JSON text.
    emits: tuple[str, ...] = field(default=(), repr=False)
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    insecure: bool = False
    cacert: str | None = None
    connect_timeout: float = 10.0
    ping_interval: float | None = None
    max_frame_size: int = DEFAULT_MAX_FRAME_SIZE  # bytes; 0: no limit
    # The run's fast path counts (strict in the test suite); None: a session's own.
    fast_paths: FastPaths | None = field(default=None, repr=False, compare=False)

    def websocket_url(self, eio: int) -> str:
        """The Engine.IO WebSocket URL: ws(s)://host/path/?EIO=n&transport=websocket."""
        scheme = "wss" if self.scheme == "https" else "ws"
        query = f"{self.query}&" if self.query else ""
        query += f"EIO={eio}&transport=websocket"
        return urlunsplit((scheme, self.netloc, self.path.rstrip("/") + "/", query, ""))

    def ssl_context(self) -> ssl.SSLContext | None:
        """TLS settings: None for plain http, --cacert's authorities, none with --insecure."""
        if self.scheme != "https":
            return None
        from wstail.sources.retry import tls_context

        return tls_context(self.cacert, self.insecure)


class SioSession(Protocol):
    """An open Socket.IO connection joined to one namespace."""

    protocol: str  # "eio3" | "eio4"
    transport: str  # "websocket" | "polling"

    def batches(self) -> AsyncIterator[list[Frame]]:
        """Frames as they arrive, those that came together in one list; ends by raising
        SessionDropped."""
        ...

    async def close(self) -> None:
        """Close the connection (idempotent)."""
        ...


_SCHEMES = {"http": "http", "https": "https", "ws": "http", "wss": "https"}


def parse_target_url(url: str, path: str, given_as: str = "--url ") -> tuple[str, str, str, str]:
    """(scheme, netloc, query, socket.io path) of a --url; its own path wins over `path`.

    Raises UsageError (with the URL redacted) for anything but http(s)/ws(s) URLs.
    """
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError on a bad port
    except ValueError:
        parts, port = None, None
    if parts is None or parts.scheme.lower() not in _SCHEMES or not parts.hostname:
        raise UsageError(
            f"{given_as}{redact_url(url)}: not a Socket.IO server URL (https://HOST[:PORT][/PATH])"
        )
    del port
    own_path = parts.path.rstrip("/")
    socketio_path = own_path if own_path else "/" + path.strip("/")
    return _SCHEMES[parts.scheme.lower()], parts.netloc, parts.query, socketio_path
