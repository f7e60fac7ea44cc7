"""Socket.IO over Engine.IO 3 (socket.io 1.x/2.x): the `eio3` codec driven over `websockets`.

WebSocket transport only, no polling. In EIO3 the client keeps the session
alive: it sends ping `2` every pingInterval and the server answers `3`. The
live Paymium server announces a pingTimeout of a day, so a dead connection
is only noticed here: a ping left unanswered for two ping intervals ends the
session.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from wstail import eio3
from wstail.envelope import now_us
from wstail.frames import Frame, meta_frame
from wstail.sources.node import is_loopback
from wstail.sources.sio_session import (
    REFUSED_STATUSES,
    HandshakeFailed,
    Refused,
    SessionDropped,
    SioTarget,
    SpeaksEio4,
    UpgradeRejected,
    silent_logger,
    truncate_frame,
)

log = logging.getLogger(__name__)
# websockets logs every frame at DEBUG, `channel` emits (secrets) included.
_ws_log = silent_logger("wstail.sources.sio_eio3.websockets")

_MIN_PING_INTERVAL = 0.05  # seconds; guards against a server announcing 0
_MISSED_PINGS = 2  # ping intervals a ping may stay unanswered
_CLOSE_TIMEOUT = 2.0
_MIN_WAIT = 0.02  # seconds a read is given before the liveness deadline counts


class Eio3Session:
    """One EIO3 WebSocket connection, joined to the target's namespace."""

    protocol = "eio3"

    def __init__(self, ws: ClientConnection, target: SioTarget, ping_interval: float) -> None:
        self._ws = ws
        self._target = target
        self._ping_interval = ping_interval

    def __repr__(self) -> str:
        return f"<Eio3Session {self._target.display_url} {self._target.namespace}>"

    @classmethod
    async def open(cls, target: SioTarget, *, probe: bool = False) -> Eio3Session:
        """Handshake, join the namespace, emit the channels; bounded by connect_timeout.

        With `probe`, dial `?EIO=4` and find out what the server speaks
        (socket.io 1.x/2.x ignore the parameter and answer in EIO3): an open
        packet with `maxPayload`, or a namespace ack with a socket id, is a
        Socket.IO v5 server and SpeaksEio4 is raised before any channel is
        sent; otherwise the session goes on as an EIO3 one.

        Raises Refused (401/403, namespace refused), SpeaksEio4, UpgradeRejected
        (another HTTP status) or HandshakeFailed (anything else worth a retry).
        """
        ws: ClientConnection | None = None
        try:
            async with asyncio.timeout(target.connect_timeout):
                ws = await _dial(target, 4 if probe else 3)
                session = await cls._join(ws, target, probe)
        except TimeoutError:
            await _abort(ws)
            raise HandshakeFailed(
                f"handshake timed out after {target.connect_timeout:g} s"
            ) from None
        except BaseException:
            await _abort(ws)
            raise
        return session

    @classmethod
    async def _join(cls, ws: ClientConnection, target: SioTarget, probe: bool) -> Eio3Session:
        first = eio3.decode_packet(await _recv(ws))
        if not isinstance(first, eio3.Open):
            raise HandshakeFailed("the server did not open an Engine.IO session")
        if probe and first.max_payload is not None:
            raise SpeaksEio4()  # engine.io 5.2+ and python-engineio; 1.x/2.x never send it
        interval = target.ping_interval or first.ping_interval_ms / 1000
        session = cls(ws, target, max(interval, _MIN_PING_INTERVAL))
        namespace = target.namespace
        if namespace != "/" or probe:  # socket.io 1.x/2.x join "/" by themselves
            await _send(ws, eio3.encode_connect(namespace))
        while True:
            packet = eio3.decode_packet(await _recv(ws))
            match packet:
                case eio3.Connect(namespace=ns) if ns == namespace:
                    if probe and packet.sid is not None:
                        raise SpeaksEio4()
                    break
                case eio3.NamespaceError(namespace=ns, message=message) if ns == namespace:
                    raise Refused(f"namespace {namespace} refused: {message}")
                case eio3.Ping(data=data):
                    await _send(ws, eio3.encode_pong(data))
                case eio3.Close():
                    raise HandshakeFailed("the server closed the session during the handshake")
                case eio3.Disconnect(namespace=ns) if ns == namespace:
                    raise HandshakeFailed(f"the server disconnected {namespace} at once")
        for channel in target.channels:
            await _send(ws, eio3.encode_event(namespace, "channel", channel))
        return session

    async def frames(self) -> AsyncIterator[Frame]:
        """Events of the namespace and bad-frame reports; ends by raising SessionDropped."""
        loop = asyncio.get_running_loop()
        interval = self._ping_interval
        patience = _MISSED_PINGS * interval
        next_ping = loop.time() + interval
        unanswered_since: float | None = None  # when the oldest unanswered ping went out
        namespace = self._target.namespace
        while True:
            now = loop.time()
            if now >= next_ping:
                await self._send(eio3.encode_ping())
                if unanswered_since is None:
                    unanswered_since = now
                next_ping = now + interval
            wake = next_ping
            if unanswered_since is not None:
                wake = min(wake, unanswered_since + patience)
            # After a slow consumer the deadline may be past while the pong sits
            # unread in the buffer: always give the buffer a chance first.
            wake = max(wake, now + _MIN_WAIT)
            try:
                async with asyncio.timeout_at(wake):
                    data = await self._ws.recv()
            except TimeoutError:
                if unanswered_since is not None and loop.time() - unanswered_since >= patience:
                    raise SessionDropped(f"no pong from the server for {patience:g} s") from None
                continue
            except ConnectionClosed as exc:
                raise SessionDropped(_closed_reason(exc)) from None
            recv_us = now_us()
            packet = eio3.decode_packet(data)
            match packet:
                case eio3.Event(namespace=ns, payload=payload) if ns == namespace:
                    yield Frame(recv_us=recv_us, kind="sio", channel=namespace, payload=payload)
                case eio3.Pong(data=""):
                    unanswered_since = None
                case eio3.Ping(data=data):  # not EIO3, but answering does no harm
                    await self._send(eio3.encode_pong(data))
                case eio3.Disconnect(namespace=ns) if ns == namespace:
                    raise SessionDropped(f"the server disconnected {namespace}")
                case eio3.NamespaceError(namespace=ns, message=message) if ns == namespace:
                    raise SessionDropped(f"server error on {namespace}: {message}")
                case eio3.Close():
                    raise SessionDropped("the server closed the Engine.IO session")
                case eio3.BadPacket(reason=reason):
                    yield meta_frame(
                        recv_us, "meta.bad_frame", reason=reason, frame=truncate_frame(data)
                    )
                case eio3.Open():
                    yield meta_frame(
                        recv_us,
                        "meta.bad_frame",
                        reason="unexpected open packet",
                        frame=truncate_frame(data),
                    )
                case _:
                    pass  # probes, noops, other namespaces, acks: nothing to hand on

    async def _send(self, text: str) -> None:
        try:
            await self._ws.send(text)
        except ConnectionClosed as exc:
            raise SessionDropped(_closed_reason(exc)) from None

    async def close(self) -> None:
        """Close the WebSocket (idempotent)."""
        await _abort(self._ws)


async def _dial(target: SioTarget, eio: int) -> ClientConnection:
    headers = list(target.headers)
    url = target.websocket_url(eio)
    # websockets follows $http_proxy by default; a loopback server is never behind one.
    proxy: dict[str, Any] = {"proxy": None} if is_loopback(urlsplit(url).hostname or "") else {}
    try:
        return await connect(
            url,
            **proxy,
            additional_headers=headers,
            ssl=target.ssl_context(),
            open_timeout=None,  # the caller bounds the whole handshake
            max_size=None,
            close_timeout=_CLOSE_TIMEOUT,
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
        raise HandshakeFailed(_error_reason(exc)) from None


async def _recv(ws: ClientConnection) -> str | bytes:
    try:
        return await ws.recv()
    except ConnectionClosed as exc:
        raise HandshakeFailed(_closed_reason(exc)) from None


async def _send(ws: ClientConnection, text: str) -> None:
    try:
        await ws.send(text)
    except ConnectionClosed as exc:
        raise HandshakeFailed(_closed_reason(exc)) from None


async def _abort(ws: ClientConnection | None) -> None:
    if ws is None:
        return
    try:
        async with asyncio.timeout(_CLOSE_TIMEOUT):
            await ws.close()
    except (TimeoutError, OSError, WebSocketException) as exc:
        log.debug("closing the WebSocket: %s", _error_reason(exc))


def _closed_reason(exc: ConnectionClosed) -> str:
    received = exc.rcvd
    if received is None:
        return "connection lost (no close frame)"
    reason = f"server closed the connection (code {received.code}"
    return reason + (f": {received.reason[:100]})" if received.reason else ")")


def _error_reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text[:200]
