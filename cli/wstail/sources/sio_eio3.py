"""Socket.IO over Engine.IO 3 (socket.io 1.x/2.x): the `eio3` codec driven over `websockets`.

WebSocket transport only, no polling. In EIO3 the client keeps the session
alive: it sends ping `2` every pingInterval and the server answers `3`. The
live Paymium server announces a pingTimeout of a day, so a dead connection
is only noticed here: a ping left unanswered for two ping intervals ends the
session. Pings and that check run on a timer (`sio_wire.Liveness`), not as a
timeout around every read. A text frame that is not UTF-8 is a
`meta.bad_frame`, and the session goes on (websockets would fail the
connection with 1007).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from wstail import eio3
from wstail.envelope import now_us
from wstail.frames import Frame, meta_frame
from wstail.sources import sio_wire
from wstail.sources.sio_session import SessionDropped, SioTarget, truncate_frame

_MIN_PING_INTERVAL = 0.05  # seconds; guards against a server announcing 0
_MISSED_PINGS = 2  # ping intervals a ping may stay unanswered


class Eio3Session:
    """One EIO3 WebSocket connection, joined to the target's namespace."""

    protocol = "eio3"

    def __init__(self, ws: ClientConnection, target: SioTarget, ping_interval: float) -> None:
        self._ws = ws
        self._target = target
        self._ping_interval = ping_interval
        self._patience = _MISSED_PINGS * ping_interval
        self._loop = asyncio.get_running_loop()
        self._live = sio_wire.Liveness(ws)
        self._next_ping = 0.0
        self._unanswered_since: float | None = None  # when the oldest unanswered ping went out
        self._pinging: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"<Eio3Session {self._target.display_url} {self._target.namespace}>"

    @classmethod
    async def open(cls, target: SioTarget) -> Eio3Session:
        """Handshake at `?EIO=3`, join the namespace, emit the channels; bounded by connect_timeout.

        Raises Refused (401/403, namespace refused), UpgradeRejected (another
        HTTP status) or HandshakeFailed (anything else worth a retry).
        """

        async def join(ws: ClientConnection) -> Eio3Session:
            return await cls.join(ws, target, await sio_wire.read_open(ws))

        return await sio_wire.handshake(target, 3, join)

    @classmethod
    async def join(
        cls,
        ws: ClientConnection,
        target: SioTarget,
        opened: eio3.Open,
        ack: eio3.Connect | None = None,
    ) -> Eio3Session:
        """Join the namespace on an open Engine.IO 3 connection and emit the channels.

        `ack`: the namespace was joined already (by the `--eio auto` probe).
        """
        interval = target.ping_interval or opened.ping_interval_ms / 1000
        session = cls(ws, target, max(interval, _MIN_PING_INTERVAL))
        namespace = target.namespace
        if ack is None:
            if namespace != "/":  # socket.io 1.x/2.x join "/" by themselves
                await sio_wire.send(ws, eio3.encode_connect(namespace))
                await sio_wire.await_namespace(ws, namespace)
        await sio_wire.emit_channels(ws, target)
        return session

    async def frames(self) -> AsyncIterator[Frame]:
        """Events of the namespace and bad-frame reports; ends by raising SessionDropped."""
        loop = self._loop
        ws = self._ws
        live = self._live
        namespace = self._target.namespace
        self._next_ping = loop.time() + self._ping_interval
        live.check_at(self._next_ping, self._beat)
        try:
            while True:
                live.waiting_since = loop.time()
                try:
                    raw = await ws.recv(decode=False)
                except ConnectionClosed as exc:
                    raise SessionDropped(live.reason or sio_wire.closed_reason(exc)) from None
                live.waiting_since = None
                recv_us = now_us()
                data = _frame_data(raw)
                if data is None:
                    yield meta_frame(
                        recv_us,
                        "meta.bad_frame",
                        reason="invalid UTF-8",
                        frame=truncate_frame(raw),
                    )
                    continue
                packet = eio3.decode_packet(data)
                match packet:
                    case eio3.Event(namespace=ns, payload=payload) if ns == namespace:
                        yield Frame(recv_us=recv_us, kind="sio", channel=namespace, payload=payload)
                    case eio3.Pong(data=""):
                        self._unanswered_since = None
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
        finally:
            self._stop()

    def _beat(self) -> None:
        """The heartbeat timer: ping every interval; give up on a ping unanswered too long."""
        now = self._loop.time()
        unanswered = self._unanswered_since
        if unanswered is not None and now - unanswered >= self._patience:
            self._live.give_up(f"no pong from the server for {self._patience:g} s", self._beat)
            return
        if now >= self._next_ping:
            if self._pinging is None or self._pinging.done():
                self._pinging = self._loop.create_task(self._ping())
            if unanswered is None:
                self._unanswered_since = unanswered = now
            self._next_ping = now + self._ping_interval
        wake = self._next_ping
        if unanswered is not None:
            wake = min(wake, unanswered + self._patience)
        self._live.check_at(wake, self._beat)

    async def _ping(self) -> None:
        try:
            await self._ws.send(eio3.encode_ping())
        except ConnectionClosed:
            pass  # the reader finds the connection closed

    async def _send(self, text: str) -> None:
        try:
            await self._ws.send(text)
        except ConnectionClosed as exc:
            raise SessionDropped(self._live.reason or sio_wire.closed_reason(exc)) from None

    def _stop(self) -> None:
        self._live.stop()
        if self._pinging is not None:
            self._pinging.cancel()

    async def close(self) -> None:
        """Close the WebSocket (idempotent)."""
        self._stop()
        await sio_wire.abort(self._ws)


def _frame_data(raw: bytes) -> str | None:
    """A frame's text; None when it is not UTF-8 (websockets would fail the connection)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
