"""Socket.IO over Engine.IO 4 by HTTP long-polling: python-socketio's `AsyncClient`.

The fallback of `--eio 4` for servers that refuse the WebSocket upgrade
(HTTP 400: socket.io or python-socketio configured for polling only). Our own
client (`driver.py`) speaks the WebSocket transport only; python-socketio
speaks polling, and a polling-only server is rare enough that its speed does
not matter. Imported only when that fallback is taken: `tail` against any
WebSocket server never loads socketio, engineio or aiohttp.

python-socketio does the protocol; this module turns its callbacks into a
pull API (an asyncio.Queue) and keeps numbers exact. It reassembles binary
events itself, bytes in place of their placeholders: they become the same
frame the WebSocket client makes (placeholders in the text, the bytes in
`data["attachments"]`). Its own reconnection is
off: the reconnect loop in `source.py` owns the lifecycle for every
transport. In EIO4 the server pings and the client answers; the Engine.IO
client drops a server that stays silent for pingInterval + pingTimeout.

Three details keep the client from touching the rest of the process:
- numbers: a `Packet` subclass with its own `json` (every float keeps its
  text), instead of `json=`, which would rebind `json` on python-socketio's
  and python-engineio's global Packet classes (and so on any in-process server);
- logs: a silent logger, since engineio logs every packet it sends at INFO
  (`channel` emits carry secrets);
- signals: `handle_sigint=False`, SIGINT stays the CLI's.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import engineio.payload
import socketio
import socketio.exceptions
import socketio.packet

from wstail.envelope import now_us
from wstail.frames import Frame, batches_of_one, meta_frame, oversized_frame, truncate_frame
from wstail.jsonexact import ExactNumber, dumps
from wstail.placeholders import without_bytes
from wstail.sources.socketio.session import (
    REFUSED_STATUSES,
    HandshakeFailed,
    Refused,
    SessionDropped,
    SioTarget,
    silent_logger,
)

log = logging.getLogger(__name__)

# python-socketio and python-engineio log packet contents (channel IDs among them).
_silent = silent_logger("wstail.sources.socketio.polling.library")

# A namespace no one joins: a packet that failed to decode is turned into an
# ACK for it, which python-socketio ignores.
_NOWHERE = "/\x00wstail-bad-packet"

# A long-poll response carries every packet queued since the last poll: on a
# busy feed far more than python-engineio's 16 (a limit that guards servers
# against floods of tiny client packets), and it drops the connection then.
# The server's maxPayload (1 MB by default) bounds a response anyway. A class
# setting, so an in-process python-engineio server would share it: no wstail
# command runs one next to this fallback (`replay --serve` is a command of its own).
engineio.payload.Payload.max_decode_packets = max(
    engineio.payload.Payload.max_decode_packets, 1_000_000
)

_DISCONNECT_WAIT = 1.0  # seconds for the close packet to go out


def _exact_int(text: str) -> int | float:
    return ExactNumber(text) if text == "-0" else int(text)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_decoder = json.JSONDecoder(
    parse_float=ExactNumber, parse_int=_exact_int, parse_constant=_reject_constant
)


class ExactJSON:
    """A `json`-module stand-in for python-socketio: every number keeps its digits."""

    @staticmethod
    def loads(text: str | bytes, **_: Any) -> Any:
        """Decode JSON; floats become ExactNumber (their text printed back as received)."""
        if isinstance(text, (bytes, bytearray)):
            text = text.decode("utf-8")
        return _decoder.decode(text)

    @staticmethod
    def dumps(obj: Any, **_: Any) -> str:
        """Compact JSON text, exact numbers printed as their digits."""
        return dumps(obj).decode("utf-8")


def _packet_class(on_bad: Callable[[str, str], None]) -> type[socketio.packet.Packet]:
    """A Packet class with exact JSON that reports undecodable packets instead of failing."""

    class ExactPacket(socketio.packet.Packet):
        json = ExactJSON

        def decode(self, encoded_packet: Any) -> int:
            try:
                attachments = super().decode(encoded_packet)
                reason = _check_packet(self)
            except Exception as exc:  # python-socketio raises ValueError, TypeError, ...
                attachments, reason = 0, f"undecodable Socket.IO packet ({type(exc).__name__})"
            if reason is None:
                return int(attachments or 0)
            # python-engineio took the "4" (message) off: put it back, as on the wire
            on_bad(reason, "4" + encoded_packet if isinstance(encoded_packet, str) else "")
            self.packet_type, self.namespace, self.id, self.data = (
                socketio.packet.ACK,
                _NOWHERE,
                None,
                None,
            )
            return 0

    return ExactPacket


def _check_packet(packet: Any) -> str | None:
    kind = packet.packet_type
    if not isinstance(kind, int) or not 0 <= kind <= 6:
        return "unknown Socket.IO packet type"
    if kind == socketio.packet.EVENT:
        data = packet.data
        if not isinstance(data, list) or not data or not isinstance(data[0], str):
            return "event data is not a JSON array starting with the event name"
    return None


class _Drop:
    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


class PollingSession:
    """One python-socketio long-polling connection, joined to the target's namespace."""

    protocol = "eio4"
    transport = "polling"

    def __init__(self, target: SioTarget) -> None:
        self._target = target
        self._queue: asyncio.Queue[Frame | _Drop] = asyncio.Queue()
        self._refusal: str | None = None
        self._http: aiohttp.ClientSession | None = None
        self._client = socketio.AsyncClient(
            reconnection=False,
            logger=_silent,
            engineio_logger=_silent,
            handle_sigint=False,
            serializer=_packet_class(self._bad_packet),
            http_session=self._new_http,
            ssl_verify=not target.insecure,
            request_timeout=target.connect_timeout,
        )
        namespace = target.namespace
        self._client.on("*", self._on_event, namespace=namespace)
        self._client.on("disconnect", self._on_disconnect, namespace=namespace)
        self._client.on("connect_error", self._on_connect_error, namespace=namespace)

    def __repr__(self) -> str:
        return f"<PollingSession {self._target.display_url} {self._target.namespace}>"

    def _new_http(self) -> aiohttp.ClientSession:
        # Ours, so that it is closed even when the handshake fails (python-engineio
        # leaves its own session open then).
        # Its connector carries --cacert's authorities (python-engineio's own
        # `ssl_verify` knows only on/off: --insecure).
        self._http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=self._target.ssl_context() or True)
        )
        return self._http

    @classmethod
    async def open(cls, target: SioTarget) -> PollingSession:
        """Handshake, join the namespace, emit the channels; bounded by connect_timeout.

        Raises Refused (401/403, namespace refused) or HandshakeFailed.
        """
        session = cls(target)
        try:
            async with asyncio.timeout(target.connect_timeout):
                await session._connect()
        except TimeoutError:
            await session.close()
            raise HandshakeFailed(
                f"handshake timed out after {target.connect_timeout:g} s"
            ) from None
        except BaseException:
            await session.close()
            raise
        return session

    async def _connect(self) -> None:
        target = self._target
        try:
            await self._client.connect(
                target.base_url(),
                headers=dict(target.headers),  # a copy: engineio takes the cookie out
                transports=["polling"],
                namespaces=[target.namespace],
                socketio_path=target.path,
                wait_timeout=target.connect_timeout,
            )
        except socketio.exceptions.ConnectionError as exc:
            # A refused handshake reaches the connect_error handler too (with the
            # server's error body): the HTTP status goes first.
            status = _handshake_status(exc)
            if status is None and self._refusal is not None:
                raise Refused(f"namespace {target.namespace} refused: {self._refusal}") from None
            if status in REFUSED_STATUSES:
                raise Refused(
                    f"{target.display_url}: server refused the polling handshake: HTTP {status}"
                ) from None
            if status is not None:
                raise HandshakeFailed(
                    f"server rejected the polling handshake: HTTP {status}"
                ) from None
            raise HandshakeFailed(_connection_reason(exc)) from None
        try:
            for channel in target.channels:
                await self._client.emit("channel", channel, namespace=target.namespace)
        except socketio.exceptions.SocketIOError:
            raise HandshakeFailed("the connection closed while joining the channels") from None

    def batches(self) -> AsyncIterator[list[Frame]]:
        """Events of the namespace and bad-frame reports, one at a time; ends by raising
        SessionDropped."""
        return batches_of_one(self._frames())

    async def _frames(self) -> AsyncIterator[Frame]:
        while True:
            item = await self._queue.get()
            if isinstance(item, _Drop):
                # Message handlers run as tasks: let the ones already started finish,
                # so that nothing received before the drop is lost.
                await asyncio.sleep(0)
                while not self._queue.empty():
                    late = self._queue.get_nowait()
                    if isinstance(late, Frame):
                        yield late
                raise SessionDropped(item.reason)
            yield item

    async def close(self) -> None:
        """Disconnect and release the HTTP session (idempotent).

        python-engineio posts the close packet at once, then waits for its
        pending long-poll, which a python-engineio server holds until its next
        ping (25 s): the wait is cut short, and closing the HTTP session ends
        that request.
        """
        try:
            async with asyncio.timeout(_DISCONNECT_WAIT):
                await self._client.disconnect()
        except Exception as exc:  # a client half-way through a failed handshake, a dead server
            log.debug("disconnecting: %s", type(exc).__name__)
        http, self._http = self._http, None
        if http is not None and not http.closed:
            await http.close()

    def _on_event(self, event: str, *args: Any) -> None:
        recv_us = now_us()
        # python-socketio put a binary event's bytes in place of its placeholders:
        # back to placeholders, the bytes beside them, as the WebSocket client has it.
        attachments: list[bytes] = []
        value = without_bytes([event, *args], attachments)
        limit = self._target.max_frame_size
        payload = dumps(value).decode("utf-8")
        if limit and attachments and len(payload) + sum(map(len, attachments)) > limit:
            size = len(payload) + sum(map(len, attachments))
            self._queue.put_nowait(oversized_frame(recv_us, size, limit, payload.encode()))
            return
        data = {"attachments": attachments} if attachments else None
        frame = Frame(recv_us, "sio", payload, self._target.namespace, data)
        self._queue.put_nowait(frame)

    def _on_disconnect(self, reason: Any = "") -> None:
        text = str(reason) if reason else "disconnected"
        self._queue.put_nowait(_Drop(f"{text} ({self._target.namespace})"))

    def _on_connect_error(self, data: Any = None, *_: Any) -> None:
        # Namespace refusals arrive as a CONNECT_ERROR packet: {"message": ...}
        # (socket.io 3+) or a string; failed Engine.IO handshakes come here too,
        # as the string "Connection error", but only after no packet at all.
        if isinstance(data, dict) and isinstance(data.get("message"), str):
            self._refusal = data["message"][:200]
        elif isinstance(data, str) and self._client.eio.state == "connected":
            self._refusal = data[:200]

    def _bad_packet(self, reason: str, raw: str) -> None:
        self._queue.put_nowait(
            meta_frame(now_us(), "meta.bad_frame", reason=reason, frame=truncate_frame(raw))
        )


def _handshake_status(exc: BaseException) -> int | None:
    """The HTTP status of a refused handshake, from the chain python-socketio raises.

    python-engineio says it only in its message: "Unexpected status code 403
    in server response".
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, aiohttp.WSServerHandshakeError):
            return current.status
        found = _STATUS.search(str(current))
        if found:
            return int(found.group(1))
        current = current.__cause__ or current.__context__
    return None


_STATUS = re.compile(r"Unexpected status code (\d{3}) ")


def _connection_reason(exc: socketio.exceptions.ConnectionError) -> str:
    cause: BaseException | None = exc.__cause__
    while cause is not None and cause.__context__ is not None:
        cause = cause.__context__
    detail = str(exc) or "connection error"
    if cause is not None and cause is not exc.__cause__:
        detail += f": {str(cause) or type(cause).__name__}"
    return detail[:200]
