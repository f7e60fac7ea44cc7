"""The feeds wstail taps, one entry each: how to reach it, normalize it, serve and demo it.

Adding a feed is one `Feed` entry here plus its source and normalizer
modules; commands, replay, record and --demo find everything through it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from wstail.exitcodes import UsageError
from wstail.fastpaths import FastPaths
from wstail.normalize import (
    Normalizer,
    Reading,
    normalize_frame,
    normalize_node_frame,
    normalize_paymium_frame,
)
from wstail.normalize.generic import Rules
from wstail.normalize.node import normalize_node_text
from wstail.normalize.paymium import normalize_paymium_event

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
    # Generic feeds (`tail ws URL`, `tail sio URL`): what is sent, where, and how it is read.
    sends: tuple[str, ...] = ()  # --send: WebSocket texts sent after every connect
    emits: tuple[tuple[str, str], ...] = ()  # --emit: (event, its argument's JSON text)
    namespace: str | None = None  # --namespace (Socket.IO)
    path: str | None = None  # --path: the Socket.IO path
    name: str | None = None  # --name: the envelopes' source
    rules: Rules = field(default_factory=Rules)  # --each, --event-name, --event-time


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
    normalize: Normalizer  # a named feed's; a generic feed's is built by its rules
    protocol: str  # "socketio" or "websocket": how it is reached and served
    default_url: str
    namespace: str = ""  # the Socket.IO namespace joined (socketio feeds)
    endpoint: str  # the path a served capture of this feed listens on
    sample: str  # the bundled capture under wstail/data, for --demo
    private: bool = False  # captures are created 0600; served only to named origins
    private_content: str = ""  # what a private capture holds, for warnings
    channels: bool = False  # takes CHANNEL... IDs (secrets), joined on every connect
    auth: bool = False  # takes the node's --user/--password-file/--cookie-file
    # A generic feed: any server of its protocol, its URL an argument, its messages
    # read by the user's rules (--each, --event-name, --event-time) and named by --name;
    # its captures keep those settings in their header (`feed`).
    generic: bool = False
    build: Callable[[Feed, ConnectSettings, str], LiveSource]

    @property
    def scheme(self) -> str:
        """The scheme of the URL a served capture of this feed is reached at."""
        return "ws" if self.protocol == "websocket" else "http"

    def open(self, settings: ConnectSettings, url: str | None = None) -> LiveSource:
        """The live source for this feed (option errors surface here, before connecting)."""
        target = url or settings.url or self.default_url
        if not target:
            raise UsageError(f"{self.name} needs the server's URL: wstail tail {self.name} URL")
        return self.build(self, settings, target)

    def reading(self, source: str, rules: Rules | None = None) -> Reading:
        """How frames of this feed are normalized: a named feed's own way, a generic one's rules."""
        if self.generic:
            from wstail.normalize.generic import GenericNormalizer

            generic = GenericNormalizer(rules or Rules(), source)
            return Reading(generic.frame, generic.event, generic.text)
        return Reading(self.normalize, *_NAMED_SHORT_WAYS)


def _connection(settings: ConnectSettings) -> dict[str, Any]:
    """The keywords every source takes alike: headers, TLS, timeouts, retries, the frame limit."""
    return {
        "headers": settings.headers,
        "insecure": settings.insecure,
        "cacert": settings.cacert,
        "connect_timeout": settings.connect_timeout,
        "retries": settings.retries,
        "retry_max_delay": settings.retry_max_delay,
        "max_frame_size": settings.max_frame_size,
    }


def _socketio_source(feed: Feed, settings: ConnectSettings, url: str) -> LiveSource:
    from wstail.live import LiveSource
    from wstail.sources.socketio import SocketIOSource

    sio = SocketIOSource(
        url,
        feed.namespace,
        settings.channels,
        eio=settings.eio,
        ping_interval=settings.ping_interval,
        fast_paths=settings.fast_paths,
        **_connection(settings),
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
        url, auth=auth, ping_interval=settings.ping_interval or 20.0, **_connection(settings)
    )
    return LiveSource(
        node, feed.source, feed.normalize, node.display_url, "websocket", private=feed.private
    )


def _websocket_source(feed: Feed, settings: ConnectSettings, url: str) -> LiveSource:
    """Any WebSocket server: --send after every connect, messages read by the rules."""
    from wstail.live import LiveSource
    from wstail.sources.node import NodeSource

    socket = NodeSource(
        url,
        ping_interval=settings.ping_interval or 20.0,
        sends=settings.sends,
        **_connection(settings),
        credentials_hint="-H 'Authorization: ...' or user:password@ in the URL",
        url_given_as="",
    )
    source = settings.name or source_name(url)
    header = generic_header(feed, settings)
    return LiveSource(
        socket,
        source,
        feed.reading(source, settings.rules).frame,
        socket.display_url,
        "websocket",
        private=feed.private,
        header=header,
    )


def _generic_socketio_source(feed: Feed, settings: ConnectSettings, url: str) -> LiveSource:
    """Any Socket.IO server: its namespace joined, --emit after every join, events by the rules."""
    from wstail.live import LiveSource
    from wstail.sources.socketio import SocketIOSource

    namespace = socketio_namespace(url, settings.namespace)
    sio = SocketIOSource(
        _without_path(url),
        namespace,
        eio=settings.eio,
        ping_interval=settings.ping_interval,
        path=settings.path or GENERIC_SOCKETIO_PATH,
        fast_paths=settings.fast_paths,
        emits=settings.emits,
        **_connection(settings),
        url_given_as="",
    )
    source = settings.name or source_name(url, namespace)
    return LiveSource(
        sio,
        source,
        feed.reading(source, settings.rules).frame,
        sio.display_url,
        sio.protocol or "",
        private=feed.private,
        header=generic_header(feed, settings, namespace),
    )


def socketio_namespace(url: str, namespace: str | None) -> str:
    """The namespace of `tail sio URL`: --namespace, else the URL's path (as socket.io-client's
    `io(URL)` reads it), else `/`; a URL path and a different --namespace is a usage error."""
    from urllib.parse import urlsplit

    from wstail.redact import redact_url

    try:
        own = urlsplit(url).path.rstrip("/")
    except ValueError:
        own = ""
    if namespace is not None:
        namespace = "/" + namespace.strip("/") if namespace.strip("/") else "/"
        if own and own != namespace:
            raise UsageError(
                f"{redact_url(url)}: the URL's path {own} is the namespace, "
                f"but --namespace says {namespace}: give it once"
            )
        return namespace
    return own or "/"


def _without_path(url: str) -> str:
    """The URL with its path dropped: for `tail sio` it named the namespace, not the path."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return url  # SocketIOSource says what is wrong with it
    return urlunsplit(parts._replace(path=""))


def source_name(url: str, namespace: str = "/") -> str:
    """The envelopes' `source` of a generic feed without --name: the URL's host, with its port
    when the URL gives one, and the Socket.IO namespace when not `/` (`127.0.0.1:3000/chat`)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return "feed"
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    name = f"{host}:{port}" if port is not None else host
    if namespace != "/":
        name += namespace
    return name or "feed"


def generic_header(feed: Feed, settings: ConnectSettings, namespace: str = "") -> dict[str, Any]:
    """What a generic feed's capture header keeps of its settings (`feed`), secrets left out."""
    from wstail.redact import redact_sent

    kept: dict[str, Any] = {"kind": feed.name}
    if feed.protocol == "socketio":
        kept["namespace"] = namespace
        kept["path"] = settings.path or GENERIC_SOCKETIO_PATH
        if settings.emits:
            kept["emit"] = [[event, redact_sent(argument)] for event, argument in settings.emits]
    elif settings.sends:
        kept["send"] = [redact_sent(text) for text in settings.sends]
    kept.update(settings.rules.as_header())
    return {"feed": kept}


PAYMIUM_URL = "https://paymium.com"
NODE_URL = "ws://127.0.0.1:4002/ws"
SOCKETIO_PATH = "/ws/socket.io"
NODE_PATH = "/ws"
GENERIC_SOCKETIO_PATH = "/socket.io/"  # socket.io's default path

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
        Feed(
            name="ws",
            source="",  # --name, or the URL's host (source_name)
            summary="Any WebSocket feed: JSON messages (or text, or binary) as envelopes.",
            record_summary="Record any WebSocket feed.",
            tail_examples="""\b
Examples:
  wstail tail ws wss://ws.kraken.com/v2 --name kraken \\
    --send '{"method":"subscribe","params":{"channel":"trade","symbol":["BTC/USD"]}}' \\
    --each data --event-name channel --event-time timestamp
  wstail tail ws wss://stream.binance.com:9443/ws/btcusdt@trade \\
    --event-name e --event-time T -q data.p
  wstail tail ws wss://ws-feed.exchange.coinbase.com \\
    --send '{"type":"subscribe","product_ids":["BTC-USD"],"channels":["matches"]}' \\
    --event-name type --event-time time -e match
  wstail tail ws --feed kraken.toml -n 10             # the settings written once
  wstail tail ws --demo                               # offline sample
""",
            record_examples="""\b
Examples:
  wstail record -o kraken.jsonl.zst ws wss://ws.kraken.com/v2 \\
    --send '{"method":"subscribe","params":{"channel":"trade","symbol":["BTC/USD"]}}' \\
    --each data --event-name channel --event-time timestamp
  wstail record -o 'feed-%Y%m%dT%H.jsonl.gz' --rotate-every 1h ws --feed feed.toml
""",
            normalize=normalize_frame,
            protocol="websocket",
            default_url="",
            endpoint="/",
            sample="ws.jsonl",
            generic=True,
            build=_websocket_source,
        ),
        Feed(
            name="sio",
            source="",  # --name, or the URL's host and namespace (source_name)
            summary="Any Socket.IO 1.x-4.x feed: one namespace's events as envelopes.",
            record_summary="Record any Socket.IO feed.",
            tail_examples="""\b
Examples:
  wstail tail sio http://127.0.0.1:3000 --namespace /chat -e message
  wstail tail sio https://example.com/prices --emit subscribe '{"pair":"BTC-EUR"}'
  wstail tail sio https://example.com --path /ws/socket.io --event-time ts -q data
  wstail tail sio --demo                              # offline sample
""",
            record_examples="""\b
Examples:
  wstail record -o app.jsonl.gz sio http://127.0.0.1:3000 --namespace /chat
  wstail record -o prices.jsonl.zst sio https://example.com/prices \\
    --emit subscribe '{"pair":"BTC-EUR"}'
""",
            normalize=normalize_frame,
            protocol="socketio",
            default_url="",
            endpoint=GENERIC_SOCKETIO_PATH,
            sample="sio.jsonl",
            generic=True,
            build=_generic_socketio_source,
        ),
    )
}
"""The feeds, by command word, in the order commands list them: named, then generic."""

_NAMED_SHORT_WAYS = (normalize_paymium_event, normalize_node_text)


def feed_of_source(source: str) -> Feed | None:
    """The named feed whose envelopes carry this source name (a capture header's), if any."""
    for feed in FEEDS.values():
        if feed.source == source and not feed.generic:
            return feed
    if source.startswith("paymium."):  # another Paymium namespace: the same protocol
        return FEEDS["public"]
    return None


def feed_of_header(source: str, extra: dict[str, Any]) -> tuple[Feed | None, Rules | None]:
    """The feed of a capture (its header's source and other fields), with a generic feed's rules.

    A generic feed's capture says its kind in `feed`; a named feed's is known by its source.
    """
    kept = extra.get("feed")
    if isinstance(kept, dict):
        feed = FEEDS.get(str(kept.get("kind")))
        if feed is not None and feed.generic:
            return feed, Rules.of_header(kept)
    return feed_of_source(source), None


def reading_for(source: str, extra: dict[str, Any], rules: Rules | None = None) -> Reading:
    """How frames of a capture are read: its feed's way; `rules` (replay's --each...) override.

    A capture of an unknown source is read as any frame is (normalize_frame).
    """
    feed, kept = feed_of_header(source, extra)
    if feed is not None and feed.generic:
        given = kept or Rules()
        return feed.reading(source, given.replaced(rules) if rules is not None else given)
    if rules is not None and rules != Rules():
        raise UsageError(
            f"--each, --event-name and --event-time re-read captures of `tail ws` and "
            f"`tail sio` feeds; this one is of {source}, which wstail reads its own way"
        )
    if feed is None:
        return Reading(normalize_frame, *_NAMED_SHORT_WAYS)
    return feed.reading(source)


def sample_path(feed: Feed) -> str:
    """The path of the feed's bundled sample capture."""
    from importlib import resources

    return str(resources.files("wstail") / "data" / feed.sample)


__all__ = [
    "FEEDS",
    "ConnectSettings",
    "Feed",
    "feed_of_header",
    "feed_of_source",
    "reading_for",
    "sample_path",
]
