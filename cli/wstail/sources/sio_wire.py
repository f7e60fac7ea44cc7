"""The WebSocket edge both Socket.IO sessions share: dial, handshake steps, close, reasons.

`sio_eio3` (Engine.IO 3) and `sio_eio4` (Engine.IO 4) drive the same `eio3`
codec over one `websockets` connection each; `sio_probe` (`--eio auto`)
starts a handshake here and hands the connection to whichever session the
server turns out to speak. Every failure comes out as one of the
`sio_session` exceptions, with a reason that holds no secret.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from wstail import eio3
from wstail.sources.node import is_loopback
from wstail.sources.sio_session import (
    REFUSED_STATUSES,
    HandshakeFailed,
    Refused,
    SioTarget,
    UpgradeRejected,
    silent_logger,
)

__all__ = [
    "Liveness",
    "abort",
    "await_namespace",
    "closed_reason",
    "dial",
    "emit_channels",
    "error_reason",
    "handshake",
    "read_open",
    "recv",
    "send",
]

log = logging.getLogger(__name__)
# websockets logs every frame at DEBUG, `channel` emits (secrets) included.
_ws_log = silent_logger("wstail.sources.sio_wire.websockets")

CLOSE_TIMEOUT = 2.0
_MIN_WAIT = 0.02  # seconds the reader waits on an empty buffer before a server is judged

T = TypeVar("T")


class Liveness:
    """Deciding a server is gone, off the reader's path: a timer, not a timeout per frame.

    Each session's own rule (EIO3: a ping left unanswered, EIO4: silence)
    runs as a timer callback that calls `give_up`. The reader only notes when
    it starts waiting (`waiting_since`, None while the consumer has the
    frame): a frame costs two clock reads and no timer of its own. Cutting
    the connection makes the reader's recv() return what was received, then
    raise ConnectionClosed; `reason` says why it was cut.
    """

    __slots__ = ("_loop", "_timer", "_ws", "reason", "waiting_since")

    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws
        self._loop = asyncio.get_running_loop()
        self._timer: asyncio.TimerHandle | None = None
        self.waiting_since: float | None = None
        self.reason: str | None = None

    def check_at(self, when: float, check: Callable[[], None]) -> None:
        """Run the session's rule `check` at loop time `when` (replacing any earlier one)."""
        self.stop()
        self._timer = self._loop.call_at(when, check)

    def give_up(self, reason: str, check: Callable[[], None]) -> None:
        """Cut the connection for `reason`, once the reader waited on an empty buffer.

        A slow consumer keeps the reader away: what the server sent may sit
        unread. Then `check` runs again a moment later instead.
        """
        now = self._loop.time()
        since = self.waiting_since
        if since is None or now - since < _MIN_WAIT:
            self.check_at(now + _MIN_WAIT, check)
            return
        self._timer = None
        self.reason = reason
        self._ws.transport.abort()

    def stop(self) -> None:
        """Cancel the pending check (idempotent)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


async def handshake(
    target: SioTarget, eio: int, join: Callable[[ClientConnection], Awaitable[T]]
) -> T:
    """Dial `?EIO=eio` and run `join` on the connection, the whole bounded by connect_timeout.

    The WebSocket is closed when anything fails; `join`'s own exceptions pass
    through. Raises Refused (401/403), UpgradeRejected (another HTTP status)
    or HandshakeFailed (anything else worth a retry, the timeout included).
    """
    ws: ClientConnection | None = None
    try:
        async with asyncio.timeout(target.connect_timeout):
            ws = await dial(target, eio)
            return await join(ws)
    except TimeoutError:
        await abort(ws)
        raise HandshakeFailed(f"handshake timed out after {target.connect_timeout:g} s") from None
    except BaseException:
        await abort(ws)
        raise


async def dial(target: SioTarget, eio: int) -> ClientConnection:
    """The WebSocket upgrade at the Engine.IO URL, with the target's headers and TLS settings."""
    url = target.websocket_url(eio)
    # websockets follows $http_proxy by default; a loopback server is never behind one.
    proxy: dict[str, Any] = {"proxy": None} if is_loopback(urlsplit(url).hostname or "") else {}
    try:
        return await connect(
            url,
            **proxy,
            additional_headers=list(target.headers),
            ssl=target.ssl_context(),
            open_timeout=None,  # the caller bounds the whole handshake
            max_size=None,
            close_timeout=CLOSE_TIMEOUT,
            logger=_ws_log,
        )
    except InvalidStatus as exc:
        status = exc.response.status_code
        if status in REFUSED_STATUSES:
            raise Refused(
                f"{target.display_url}: server refused the WebSocket upgrade: HTTP {status}"
            ) from None
        raise UpgradeRejected(status) from None
    except (OSError, WebSocketException) as exc:
        raise HandshakeFailed(error_reason(exc)) from None


async def read_open(ws: ClientConnection) -> eio3.Open:
    """The Engine.IO open packet, which must come first."""
    first = eio3.decode_packet(await recv(ws))
    if not isinstance(first, eio3.Open):
        raise HandshakeFailed("the server did not open an Engine.IO session")
    return first


async def await_namespace(ws: ClientConnection, namespace: str) -> eio3.Connect:
    """Wait for the server's answer to a namespace connect; the ack comes back.

    Pings are answered on the way (in EIO4 the server may ping before the
    ack). Raises Refused when the server refuses the namespace.
    """
    while True:
        packet = eio3.decode_packet(await recv(ws))
        match packet:
            case eio3.Connect(namespace=ns) if ns == namespace:
                return packet
            case eio3.NamespaceError(namespace=ns, message=message) if ns == namespace:
                raise Refused(f"namespace {namespace} refused: {message}")
            case eio3.Ping(data=data):
                await send(ws, eio3.encode_pong(data))
            case eio3.Close():
                raise HandshakeFailed("the server closed the session during the handshake")
            case eio3.Disconnect(namespace=ns) if ns == namespace:
                raise HandshakeFailed(f"the server disconnected {namespace} at once")


async def emit_channels(ws: ClientConnection, target: SioTarget) -> None:
    """Emit `channel` for each of the target's channels (the /user credentials)."""
    for channel in target.channels:
        await send(ws, eio3.encode_event(target.namespace, "channel", channel))


async def recv(ws: ClientConnection) -> str | bytes:
    """One message during the handshake; a closed connection is a HandshakeFailed."""
    try:
        return await ws.recv()
    except ConnectionClosed as exc:
        raise HandshakeFailed(closed_reason(exc)) from None


async def send(ws: ClientConnection, text: str) -> None:
    """Send one packet during the handshake; a closed connection is a HandshakeFailed."""
    try:
        await ws.send(text)
    except ConnectionClosed as exc:
        raise HandshakeFailed(closed_reason(exc)) from None


async def abort(ws: ClientConnection | None) -> None:
    """Close the WebSocket, waiting at most CLOSE_TIMEOUT for the server (idempotent)."""
    if ws is None:
        return
    try:
        async with asyncio.timeout(CLOSE_TIMEOUT):
            await ws.close()
    except (TimeoutError, OSError, WebSocketException) as exc:
        log.debug("closing the WebSocket: %s", error_reason(exc))


def closed_reason(exc: ConnectionClosed) -> str:
    """Why a connection closed, for meta.disconnected: the server's close code, or none."""
    received = exc.rcvd
    if received is None:
        return "connection lost (no close frame)"
    reason = f"server closed the connection (code {received.code}"
    return reason + (f": {received.reason[:100]})" if received.reason else ")")


def error_reason(exc: BaseException) -> str:
    """An exception as a short reason."""
    if isinstance(exc, socket.gaierror) and exc.strerror:
        return f"cannot resolve the host name: {exc.strerror}"
    text = str(exc) or type(exc).__name__
    return text[:200]
