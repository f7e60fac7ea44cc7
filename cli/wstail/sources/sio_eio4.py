"""Socket.IO v5 over Engine.IO 4 (socket.io 3.x/4.x, python-socketio 5): our own client.

The `eio3` codec driven over `websockets`, WebSocket transport only, built
like `sio_eio3`. Engine.IO 4 turns the heartbeat around: the server pings
`2` every pingInterval and the client answers `3`; the client holds the
server for dead when nothing at all (ping or message) came from it for
pingInterval + pingTimeout. A v5 client joins with `40/public,`, the ack
carries a socket id (`40/public,{"sid":…}`) and a refusal is
`44/public,{"message":…}`.

Why not python-socketio's AsyncClient, which this module used to wrap: it
dispatches every event as a task, decodes and re-encodes every payload, and
under a fast feed python-engineio starved its own heartbeat and dropped the
connection ("transport error"), losing frames. Here a frame is read, its
event array's text kept as received (numbers never re-encoded), and handed on.

Binary events (`45`/`46`, and the binary frames of their attachments) are
not used by Paymium: each packet of one is a `meta.bad_frame`, like any
packet we cannot read, and the stream goes on. So is a text frame that is
not UTF-8 (websockets would fail the connection with 1007).

A server that refuses the WebSocket upgrade with HTTP 400 (one that only
allows HTTP long-polling) gets python-socketio's client instead
(`open_eio4`, `sio_polling`), imported only then.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from wstail import eio3
from wstail.envelope import now_us
from wstail.frames import Frame, meta_frame
from wstail.sources import sio_wire
from wstail.sources.sio_session import (
    Refused,
    SessionDropped,
    SioSession,
    SioTarget,
    UpgradeRejected,
    truncate_frame,
)

log = logging.getLogger(__name__)

_MIN_PATIENCE = 0.05  # seconds; guards against a server announcing tiny heartbeat settings
POLLING_STATUS = 400  # what engine.io and python-engineio answer an upgrade they do not allow


def patience(opened: eio3.Open) -> float:
    """Seconds of silence after which an Engine.IO 4 server counts as dead."""
    return max((opened.ping_interval_ms + opened.ping_timeout_ms) / 1000, _MIN_PATIENCE)


async def open_eio4(target: SioTarget) -> SioSession:
    """An EIO4 session: ours over WebSocket, python-socketio's long-polling if the upgrade gets 400.

    Raises Refused (401/403, namespace refused) or HandshakeFailed.
    """
    try:
        return await Eio4Session.open(target)
    except UpgradeRejected as exc:
        if exc.status != POLLING_STATUS:
            raise
    return await open_polling(target)


async def open_polling(target: SioTarget) -> SioSession:
    """python-socketio's client over HTTP long-polling, for servers that refuse WebSocket."""
    log.info(
        "%s refused the WebSocket upgrade (HTTP %d): falling back to long-polling",
        target.display_url,
        POLLING_STATUS,
    )
    from wstail.sources.sio_polling import PollingSession  # python-socketio: only now

    return await PollingSession.open(target)


class Eio4Session:
    """One EIO4 WebSocket connection, joined to the target's namespace."""

    protocol = "eio4"

    def __init__(self, ws: ClientConnection, target: SioTarget, opened: eio3.Open) -> None:
        self._ws = ws
        self._target = target
        self._patience = patience(opened)
        self._loop = asyncio.get_running_loop()
        self._live = sio_wire.Liveness(ws)
        self._last_packet = self._loop.time()

    def __repr__(self) -> str:
        return f"<Eio4Session {self._target.display_url} {self._target.namespace}>"

    @classmethod
    async def open(cls, target: SioTarget) -> Eio4Session:
        """Handshake at `?EIO=4`, join the namespace, emit the channels; bounded by connect_timeout.

        Raises Refused (401/403, namespace refused, a server that is not
        Socket.IO v5), UpgradeRejected (another HTTP status) or HandshakeFailed
        (anything else worth a retry).
        """

        async def join(ws: ClientConnection) -> Eio4Session:
            return await cls.join(ws, target, await sio_wire.read_open(ws))

        return await sio_wire.handshake(target, 4, join)

    @classmethod
    async def join(
        cls,
        ws: ClientConnection,
        target: SioTarget,
        opened: eio3.Open,
        ack: eio3.Connect | None = None,
    ) -> Eio4Session:
        """Join the namespace on an open Engine.IO 4 connection and emit the channels.

        `ack`: the namespace was joined already (by the `--eio auto` probe).
        """
        namespace = target.namespace
        if ack is None:
            await sio_wire.send(ws, eio3.encode_connect(namespace, v5=True))
            ack = await sio_wire.await_namespace(ws, namespace)
        if ack.sid is None and opened.max_payload is None:
            # socket.io 1.x/2.x ignore EIO=4: they would wait for our pings forever
            raise Refused(
                f"{target.display_url} speaks Socket.IO 1.x/2.x (Engine.IO 3): "
                "use --eio 3 or --eio auto"
            )
        await sio_wire.emit_channels(ws, target)
        return cls(ws, target, opened)

    async def frames(self) -> AsyncIterator[Frame]:
        """Events of the namespace and bad-frame reports; ends by raising SessionDropped."""
        loop = self._loop
        ws = self._ws
        live = self._live
        namespace = self._target.namespace
        self._last_packet = loop.time()
        live.check_at(self._last_packet + self._patience, self._check)
        try:
            while True:
                live.waiting_since = loop.time()
                try:
                    raw = await ws.recv(decode=False)
                except ConnectionClosed as exc:
                    raise SessionDropped(live.reason or sio_wire.closed_reason(exc)) from None
                self._last_packet = loop.time()
                live.waiting_since = None
                recv_us = now_us()
                try:
                    data = raw.decode()
                except UnicodeDecodeError:
                    yield _bad_frame(recv_us, "invalid UTF-8", raw)
                    continue
                packet = eio3.decode_packet(data)
                match packet:
                    case eio3.Event(namespace=ns, payload=payload) if ns == namespace:
                        yield Frame(recv_us=recv_us, kind="sio", channel=namespace, payload=payload)
                    case eio3.Ping(data=probe):
                        await self._send(eio3.encode_pong(probe))
                    case eio3.Disconnect(namespace=ns) if ns == namespace:
                        raise SessionDropped(f"the server disconnected {namespace}")
                    case eio3.NamespaceError(namespace=ns, message=message) if ns == namespace:
                        raise SessionDropped(f"server error on {namespace}: {message}")
                    case eio3.Close():
                        raise SessionDropped("the server closed the Engine.IO session")
                    case eio3.BadPacket(reason=reason):
                        yield _bad_frame(recv_us, reason, data)
                    case eio3.Open():
                        yield _bad_frame(recv_us, "unexpected open packet", data)
                    case _:
                        pass  # pongs, noops, other namespaces, acks: nothing to hand on
        finally:
            live.stop()

    def _check(self) -> None:
        """The liveness rule: the server sent nothing for pingInterval + pingTimeout."""
        due = self._last_packet + self._patience
        if self._loop.time() < due:
            self._live.check_at(due, self._check)
        else:
            self._live.give_up(f"no packet from the server for {self._patience:g} s", self._check)

    async def _send(self, text: str) -> None:
        try:
            await self._ws.send(text)
        except ConnectionClosed as exc:
            raise SessionDropped(self._live.reason or sio_wire.closed_reason(exc)) from None

    async def close(self) -> None:
        """Close the WebSocket (idempotent)."""
        self._live.stop()
        await sio_wire.abort(self._ws)


def _bad_frame(recv_us: int, reason: str, data: str | bytes) -> Frame:
    return meta_frame(recv_us, "meta.bad_frame", reason=reason, frame=truncate_frame(data))
