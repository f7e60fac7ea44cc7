"""The WebSocket edge of the Socket.IO client: dial, send, close, and why a connection ended.

`driver.py` dials here and feeds what it reads to the sans-I/O protocol.
The connection is our `WebSocketClient` (websockets' sans-I/O protocol, whole
data frames cut out in bulk, messages taken a socket read at a time), as for
the node feed. Every failure comes out as one of the `session` exceptions,
with a reason that holds no secret.
"""

from __future__ import annotations

import logging
import ssl
from urllib.parse import urlsplit

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
from wstail.sources.wsclient import WebSocketClient
from wstail.sources.wsconnect import connect

__all__ = ["CLOSE_TIMEOUT", "abort", "closed_reason", "dial", "error_reason"]

log = logging.getLogger(__name__)
# websockets logs every frame at DEBUG, `channel` emits (secrets) included.
_ws_log = silent_logger("wstail.sources.socketio.wire.websockets")

CLOSE_TIMEOUT = 2.0


async def dial(target: SioTarget, eio: int) -> WebSocketClient:
    """The WebSocket upgrade at the Engine.IO URL, with the target's headers and TLS settings.

    Text messages that are not UTF-8 come as `BadText` (the protocol makes a
    meta.bad_frame of them); a message over --max-frame-size as `Oversized`.
    """
    url = target.websocket_url(eio)
    try:
        return await connect(
            url,
            headers=list(target.headers),
            # the environment's proxy, if any; a loopback server is never behind one
            proxy=not is_loopback(urlsplit(url).hostname or ""),
            ssl=target.ssl_context(),
            open_timeout=target.connect_timeout,  # the caller bounds the whole handshake too
            close_timeout=CLOSE_TIMEOUT,
            max_size=target.max_frame_size or None,
            strict_text=False,
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


async def abort(ws: WebSocketClient | None) -> None:
    """Close the WebSocket, waiting at most CLOSE_TIMEOUT for the server (idempotent).

    Reading resumes while closing: the server's close frame may wait behind
    messages nobody reads any more (dropped).
    """
    if ws is None:
        return
    try:
        await ws.close()
    except (OSError, WebSocketException) as exc:
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
    reason = os_reason(exc)
    if reason is not None:
        return reason
    text = str(exc) or type(exc).__name__
    return text[:200]
