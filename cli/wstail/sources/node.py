"""The OpenBazaar node source: its plain WebSocket, read-only, reconnecting.

The node echoes whatever a client sends to every connected client, so this
source never sends a data frame: liveness rests on WebSocket control pings.
It drops a client whose 256-message buffer fills, so frames are read off the
socket as they arrive, whatever the pace of the consumer. They are read in
bulk (`wsclient.WebSocketClient`) and handed on in batches: `batches()`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import ssl
from collections.abc import AsyncGenerator, Callable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import websockets
from websockets.exceptions import (
    ConnectionClosed,
    InvalidMessage,
    InvalidStatus,
    InvalidURI,
    WebSocketException,
)
from websockets.uri import parse_uri

from wstail import __version__
from wstail.envelope import now_us
from wstail.exitcodes import ConnectError, UsageError
from wstail.frames import (
    DEFAULT_MAX_FRAME_SIZE,
    Frame,
    frames_of,
    meta_frame,
    oversized_frame,
    too_big_frame,
)
from wstail.redact import redact_url
from wstail.sources.nodeauth import NodeAuth
from wstail.sources.retry import (
    RETRY_MAX_DELAY,
    attempts_left,
    backoff,
    gave_up,
    os_reason,
    tls_context,
    untrusted,
)
from wstail.sources.wsclient import WebSocketClient, end_of_feed
from wstail.sources.wsconnect import connect
from wstail.sources.wsframes import Message, Oversized

DEFAULT_NODE_URL = "ws://127.0.0.1:4002/ws"

# Messages the connection may hold for a consumer that is busy elsewhere.
# Reading pauses (and TCP pushes back on the node) only beyond this many; the
# node itself gives up on a client after 256 unsent messages.
_MAX_QUEUE = (4096, 1024)
# Longest wait for the server's close frame once we decided to close.
_CLOSE_TIMEOUT = 2.0
_REFUSED = {401, 403}
_SECRET_HEADER_WORDS = ("auth", "cookie", "token", "secret", "key", "password")
_USER_AGENT = f"wstail/{__version__} websockets/{websockets.__version__}"
_NODE_CREDENTIALS = "--cookie-file FILE, or --user NAME with --password-file FILE"


def _ws_scheme(url: str) -> str:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    scheme = {"http": "ws", "https": "wss"}.get(scheme, scheme)
    return urlunsplit((scheme, parts.netloc, parts.path, parts.query, ""))


def websocket_url(url: str, given_as: str = "--url ") -> str:
    """The ws:// or wss:// URL to dial: http(s) mapped to ws(s), userinfo removed.

    Raises UsageError (with the URL redacted, after `given_as`) when it is no WebSocket URL.
    """
    try:
        parts = urlsplit(_ws_scheme(url))
        clean = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
        parse_uri(clean)
    except (ValueError, InvalidURI):
        raise UsageError(
            f"{given_as}{redact_url(url)}: not a WebSocket URL (ws://HOST[:PORT]/PATH or wss://...)"
        ) from None
    return clean


def url_credentials(url: str) -> NodeAuth | None:
    """Basic credentials written into the URL (ws://user:password@host/), if any."""
    try:
        user_info = parse_uri(_ws_scheme(url)).user_info
    except (ValueError, InvalidURI):
        return None
    if user_info is None:
        return None
    return NodeAuth(user=user_info[0], password=user_info[1])


def is_loopback(host: str) -> bool:
    """Whether a host name or address is this machine (localhost, 127/8, ::1)."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def handshake_headers(
    auth: NodeAuth | None, headers: Mapping[str, str] | None, host: str
) -> list[tuple[str, str]]:
    """Headers for the upgrade request: credentials, then -H headers (which win on a clash).

    A cookie picked up from the local node's datadir only goes to a loopback
    host: it is this machine's node's secret.
    """
    merged: dict[str, tuple[str, str]] = {}
    if auth is not None and not (auth.from_datadir and not is_loopback(host)):
        for name, value in auth.headers().items():
            merged[name.lower()] = (name, value)
    for name, value in (headers or {}).items():
        merged[name.lower()] = (name, value)
    return list(merged.values())


def describe_open_error(exc: BaseException, timeout: float) -> str:
    """Why a connection attempt failed, in a few words and without secrets."""
    if isinstance(exc, TimeoutError):
        return f"no WebSocket handshake within {timeout:g}s"
    if isinstance(exc, InvalidStatus):
        return f"HTTP {exc.response.status_code} on the WebSocket upgrade"
    if isinstance(exc, InvalidMessage):
        cause = exc.__cause__
        if isinstance(cause, EOFError):
            return "server closed the connection during the handshake"
        return f"invalid handshake response: {exc}"
    return os_reason(exc) or str(exc) or type(exc).__name__


def describe_close(exc: ConnectionClosed, ping_timeout: float | None) -> str:
    """Why an open connection ended, in a few words."""
    if exc.rcvd is not None:
        return f"server closed the connection: {exc.rcvd}"
    if exc.sent is not None:
        if "keepalive ping timeout" in exc.sent.reason and ping_timeout is not None:
            return f"no pong within {ping_timeout:g}s (keepalive ping timeout)"
        return f"closed the connection: {exc.sent}"
    cause = exc.__cause__
    if isinstance(cause, OSError) and cause.strerror:
        return f"connection lost: {cause.strerror}"
    return "connection lost (no close frame)"


class _RedactCredentials(logging.Filter):
    """Keeps credentials out of websockets' debug log of the handshake."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if record.msg == "> %s: %s" and isinstance(args, tuple) and len(args) == 2:
            name = str(args[0]).lower()
            if any(word in name for word in _SECRET_HEADER_WORDS):
                record.args = (args[0], "***")
        elif record.msg == "> GET %s HTTP/1.1" and isinstance(args, tuple) and args:
            record.args = (redact_url(f"//h{args[0]}").removeprefix("//h"),)
        return True


_LOGGER = logging.getLogger("wstail.sources.node")
_LOGGER.addFilter(_RedactCredentials())


class NodeSource:
    """Frames from an OpenBazaar node's WebSocket, reconnecting on every drop.

    Yields text frames as `Frame(kind="text")` exactly as received, binary
    frames as `kind="binary"`, and lifecycle frames `meta.connected`,
    `meta.disconnected` and `meta.reconnecting`. A close with wstail's own
    code (`wsclient.END_OF_FEED`, 4000) ends the run after meta.disconnected,
    any other close reconnects. A frame over
    `max_frame_size` bytes (0: no limit) becomes a `meta.bad_frame`. Raises ConnectError when
    the node refuses the credentials (at once) or retries run out.
    """

    def __init__(
        self,
        url: str = DEFAULT_NODE_URL,
        *,
        auth: NodeAuth | None = None,
        headers: Mapping[str, str] | None = None,
        insecure: bool = False,
        cacert: str | None = None,
        connect_timeout: float = 10.0,
        retries: int | None = None,
        ping_interval: float | None = 20.0,
        retry_max_delay: float = RETRY_MAX_DELAY,
        delays: Callable[[], Iterator[float]] | None = None,
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
        sends: Sequence[str] = (),
        credentials_hint: str = _NODE_CREDENTIALS,
        url_given_as: str = "--url ",
    ) -> None:
        self.url = url
        self.sends = tuple(sends)  # texts sent after every connect, in order (never logged)
        self._credentials_hint = credentials_hint
        self.max_frame_size = max_frame_size
        self._dial_url = websocket_url(url, url_given_as)
        self.display_url = redact_url(self._dial_url)
        self.auth = auth if auth is not None else url_credentials(url)
        self.insecure = insecure
        self.cacert = cacert
        self.connect_timeout = connect_timeout
        self.retries = retries
        self.ping_interval = ping_interval
        self.ping_timeout = None if ping_interval is None else 2 * ping_interval
        self._delays = delays or (lambda: backoff(cap=retry_max_delay))
        host = parse_uri(self._dial_url).host
        self._secure = parse_uri(self._dial_url).secure
        self._loopback = is_loopback(host)
        self._headers = handshake_headers(self.auth, headers, host)
        self._sends_credentials = any(
            name.lower() in ("authorization", "cookie") for name, _ in self._headers
        )

    def __repr__(self) -> str:
        return f"NodeSource({self.display_url!r}, auth={self.auth!r})"

    def __aiter__(self) -> AsyncGenerator[Frame, None]:
        """A fresh run of the source; `aclose()` it to close the connection promptly."""
        return frames_of(self.batches())

    async def batches(self) -> AsyncGenerator[list[Frame], None]:
        """A fresh run, in batches: every frame received since the last one, in order.

        A lifecycle frame comes alone in its batch; the data frames of one
        batch share their receive time (when the batch was taken).
        """
        delays = self._delays()
        attempt = 0
        reached = False
        while True:
            ended: str | None = None  # why the server ended the feed: the run is over
            try:
                connection = await self._open()
            except (OSError, TimeoutError, WebSocketException) as exc:
                self._raise_if_fatal(exc)
                reason = describe_open_error(exc, self.connect_timeout)
                failed_open = True
            else:
                failed_open = False
                reached = True
                attempt, delays = 0, self._delays()
                yield [
                    meta_frame(
                        now_us(), "meta.connected", url=self.display_url, protocol="websocket"
                    )
                ]
                try:
                    self._send_all(connection)
                    while True:
                        try:
                            messages = await connection.recv_batch()
                        except ConnectionClosed as closed:
                            ended = end_of_feed(closed)
                            reason = ended or describe_close(closed, self.ping_timeout)
                            if closed.sent is not None and closed.sent.code == 1009:
                                # websockets parsed (compressed, DEBUG): its limit closed it
                                yield [
                                    too_big_frame(now_us(), closed.sent.reason, self.max_frame_size)
                                ]
                            break
                        yield _data_frames(now_us(), messages)
                finally:
                    await connection.close()
            if not failed_open:  # an attempt that never connected has nothing to disconnect
                yield [meta_frame(now_us(), "meta.disconnected", reason=reason)]
                if ended is not None:
                    return  # the server's own close code: the feed is over
            attempt += 1
            if not attempts_left(attempt, self.retries, reached):
                raise ConnectError(gave_up(self.display_url, self.retries, reason))
            delay = next(delays)
            details: dict[str, Any] = {"attempt": attempt, "delay": round(delay, 3)}
            if failed_open:
                details["reason"] = reason
            yield [meta_frame(now_us(), "meta.reconnecting", **details)]
            await asyncio.sleep(delay)

    def _send_all(self, connection: WebSocketClient) -> None:
        """Send --send's texts, in order: a subscription renewed on every connect.

        A server that closed first stops it; what it sent before its close is
        still read (recv_batch hands every message over before the close).
        """
        try:
            for text in self.sends:
                connection.send_text(text)
        except ConnectionClosed:
            pass  # the close is read, and reported, where every close is

    async def _open(self) -> WebSocketClient:
        return await connect(
            self._dial_url,
            headers=self._headers,
            user_agent=_USER_AGENT,
            ssl=tls_context(self.cacert, self.insecure) if self._secure else None,
            open_timeout=self.connect_timeout,
            ping_interval=self.ping_interval,
            ping_timeout=self.ping_timeout,
            close_timeout=min(_CLOSE_TIMEOUT, self.ping_interval or _CLOSE_TIMEOUT),
            max_queue=_MAX_QUEUE,
            max_size=self.max_frame_size,
            logger=_LOGGER,
            proxy=not self._loopback,
        )

    def _raise_if_fatal(self, exc: BaseException) -> None:
        """Refused credentials and untrusted certificates end the run: retrying cannot help."""
        if isinstance(exc, InvalidStatus) and exc.response.status_code in _REFUSED:
            code = exc.response.status_code
            hint = (
                ""
                if self._sends_credentials
                else f"; no credentials were sent: give {self._credentials_hint}"
            )
            raise ConnectError(
                f"{self.display_url}: credentials refused (HTTP {code}){hint}"
            ) from None
        if isinstance(exc, ssl.SSLCertVerificationError):
            raise ConnectError(untrusted(self.display_url, exc)) from None


def _data_frames(recv_us: int, messages: list[Message]) -> list[Frame]:
    """Frames of received messages: text frames for strings, binary frames for bytes."""
    return [
        Frame(recv_us, "text", message)
        if type(message) is str
        else Frame(recv_us, "binary", message)
        if type(message) is bytes
        else _oversized(recv_us, message)
        for message in messages
    ]


def _oversized(recv_us: int, message: object) -> Frame:
    assert isinstance(message, Oversized)
    return oversized_frame(recv_us, message.size, 0, message.head)


__all__ = [
    "DEFAULT_NODE_URL",
    "NodeAuth",
    "NodeSource",
    "describe_close",
    "describe_open_error",
    "handshake_headers",
    "is_loopback",
    "redact_url",
    "websocket_url",
]
