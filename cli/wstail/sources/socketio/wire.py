"""The WebSocket edge of the Socket.IO client: dial, close, and why a connection ended.

`driver.py` dials here and feeds what it reads to the sans-I/O protocol.
Every failure comes out as one of the `session` exceptions, with a reason
that holds no secret.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from wstail.sources.node import is_loopback
from wstail.sources.retry import os_reason, untrusted
from wstail.sources.socketio.session import (
    REFUSED_STATUSES,
    HandshakeFailed,
    Refused,
    SioTarget,
    UpgradeRejected,
    silent_logger,
)

__all__ = ["CLOSE_TIMEOUT", "abort", "closed_reason", "dial", "error_reason"]

log = logging.getLogger(__name__)
# websockets logs every frame at DEBUG, `channel` emits (secrets) included.
_ws_log = silent_logger("wstail.sources.socketio.wire.websockets")

CLOSE_TIMEOUT = 2.0


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
            # Control frames (up to 125 bytes) always get through, whatever the limit.
            max_size=max(target.max_frame_size, 125) if target.max_frame_size else None,
            close_timeout=CLOSE_TIMEOUT,
            logger=_ws_log,
        )
    except InvalidStatus as exc:
        status = exc.response.status_code
        if status in REFUSED_STATUSES:
            raise Refused(
                f"{target.display_url}: server refused the WebSocket upgrade: HTTP {status}"
            ) from None
        body = exc.response.body or b""
        if eio == 3 and status == 400 and b"nsupported" in body:  # engine.io's code 5
            raise Refused(
                f"{target.display_url} speaks Socket.IO 3/4 (Engine.IO 4), not Engine.IO 3: "
                "use --eio 4 or --eio auto"
            ) from None
        raise UpgradeRejected(status) from None
    except ssl.SSLCertVerificationError as exc:  # will not fix itself: never retried
        raise Refused(untrusted(target.display_url, exc)) from None
    except (OSError, WebSocketException) as exc:
        raise HandshakeFailed(error_reason(exc)) from None


async def abort(ws: ClientConnection | None) -> None:
    """Close the WebSocket, waiting at most CLOSE_TIMEOUT for the server (idempotent)."""
    if ws is None:
        return
    # Messages nobody reads any more are read and dropped while closing: a
    # server streaming fast has filled websockets' queue, which stops reading
    # the socket, and its close frame waits behind them (-n ended a run in
    # CLOSE_TIMEOUT instead of at once).
    draining = asyncio.ensure_future(_drop_messages(ws))
    try:
        async with asyncio.timeout(CLOSE_TIMEOUT):
            await ws.close()
    except (TimeoutError, OSError, WebSocketException) as exc:
        log.debug("closing the WebSocket: %s", error_reason(exc))
    finally:
        draining.cancel()


async def _drop_messages(ws: ClientConnection) -> None:
    try:
        while True:
            await ws.recv(decode=False)
    except (OSError, WebSocketException):  # closed (the goal), or a recv() still running
        pass


def closed_reason(exc: ConnectionClosed) -> str:
    """Why a connection closed, for meta.disconnected: the server's close code, or none."""
    received = exc.rcvd
    if received is None:
        return "connection lost (no close frame)"
    reason = f"server closed the connection (code {received.code}"
    return reason + (f": {received.reason[:100]})" if received.reason else ")")


def error_reason(exc: BaseException) -> str:
    """An exception as a short reason."""
    reason = os_reason(exc)
    if reason is not None:
        return reason
    text = str(exc) or type(exc).__name__
    return text[:200]
