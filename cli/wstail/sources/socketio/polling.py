"""Socket.IO over Engine.IO long-polling, 3 and 4: our own client, the WebSocket driver's protocol.

For servers that refuse the WebSocket upgrade with HTTP 400 (socket.io or
python-socketio with `transports: ['polling']`, or a proxy that drops the
Upgrade header). The session is the one `driver.py` runs over WebSocket,
`protocol.SioProtocol`, fed from HTTP instead (`pollwire.py`): heartbeat,
liveness, bad frames, namespace join, channels, binary events,
--max-frame-size and exact numbers are the same code, and an event's text
is handed on as the server sent it.

- A GET (`?EIO=3&transport=polling&b64=1`, or `?EIO=4&transport=polling`)
  opens the session; later GETs (with `sid`) wait for what the server has
  queued, a payload of packets (`payload.py`: `len:packet` in Engine.IO 3,
  packets joined by `\\x1e` in 4); a POST carries our packets, one POST at
  a time, as engine.io refuses overlapping ones.
- The heartbeat is the WebSocket driver's (`heartbeat.py`): it posts the
  pings (EIO3: the client pings) or pongs (EIO4: the server pings) the
  protocol queues and, when the protocol gives the server up, cancels the
  pending GET. A server is judged only while a GET waits for it: a slow
  consumer never makes a live server look dead.
- `auto` asks the first GET at `?EIO=4`: socket.io 1.x/2.x ignore it and
  answer with the EIO3 framing (`86:0{…}`), an Engine.IO 4 server answers
  `0{…}`; the session goes on in the dialect of the answer. `--eio 4`
  answered in EIO3 framing is refused with a hint, as over WebSocket.
- Upgrade: when the open packet offers "websocket", the Engine.IO upgrade
  (`2probe`, `3probe`, `5` on a WebSocket with the sid) is tried, once per
  source: we came here because a WebSocket was refused, so it usually fails
  the same way, and the caller stops asking after one failure. Success goes
  on over WebSocket with the same protocol (`driver.WebSocketSession`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from urllib.parse import quote

from websockets.exceptions import ConnectionClosed

from wstail.envelope import now_us
from wstail.frames import Frame, batches_of_one, meta_frame, oversized_frame, truncate_frame
from wstail.sources.socketio import codec, wire
from wstail.sources.socketio.driver import WebSocketSession
from wstail.sources.socketio.heartbeat import Heartbeat
from wstail.sources.socketio.payload import (
    OversizedPacket,
    PacketBytes,
    Payload4Reader,
    PayloadError,
    PayloadReader,
    binary_packet,
    binary_packet4,
)
from wstail.sources.socketio.pollwire import PollWire
from wstail.sources.socketio.protocol import SioProtocol
from wstail.sources.socketio.session import (
    HandshakeFailed,
    Refused,
    ServerEnded,
    SessionDropped,
    SioSession,
    SioTarget,
)
from wstail.sources.wsclient import WebSocketClient
from wstail.sources.wsframes import Message
from wstail.words import counted

__all__ = ["PollingSession", "open_polling"]

log = logging.getLogger(__name__)

_CLOSE_WAIT = 1.0  # seconds for the close packet to go out
BAD_HEAD = 800  # characters of a payload (bytes of a packet) kept for a bad-frame report
_SPEAKS_EIO3 = "speaks Socket.IO 1.x/2.x (Engine.IO 3): use --eio 3 or --eio auto"


async def open_polling(
    target: SioTarget, dialect: str, *, upgrade: bool = True
) -> tuple[SioSession, bool]:
    """Handshake, join, channels over long-polling; then the upgrade, if offered and `upgrade`.

    `dialect`: "eio3", "eio4", or "auto" (the first GET asks `?EIO=4` and
    the answer decides). Returns the session and whether an upgrade is still
    worth trying on later connections. Raises Refused or HandshakeFailed.
    """
    wire_ = PollWire(target, 3 if dialect == "eio3" else 4)
    session = PollingSession(wire_, dialect)
    try:
        async with asyncio.timeout(target.connect_timeout):
            opened = await session.handshake()
    except TimeoutError:
        await wire_.close()
        raise HandshakeFailed(f"handshake timed out after {target.connect_timeout:g} s") from None
    except BaseException:
        await wire_.close()
        raise
    if not upgrade or "websocket" not in opened.upgrades:
        return session, upgrade
    try:
        upgraded = await _upgrade(target, opened.sid, wire_.eio)
    except BaseException:
        await wire_.close()
        raise
    if upgraded is None:
        return session, False
    await wire_.close()  # the server moved the session to the WebSocket
    ws, first = upgraded
    websocket = WebSocketSession(ws, session.sio, target.max_frame_size, first)
    return _UpgradedSession(session, websocket), True


async def _upgrade(
    target: SioTarget, sid: str, eio: int
) -> tuple[WebSocketClient, list[Message]] | None:
    """The Engine.IO upgrade of session `sid`: the WebSocket (and any message read after
    the probe's answer), or None if it failed."""
    sid_param = f"sid={quote(sid, safe='')}"
    query = f"{target.query}&{sid_param}" if target.query else sid_param
    ws: WebSocketClient | None = None
    try:
        async with asyncio.timeout(target.connect_timeout):
            ws = await wire.dial(replace(target, query=query), eio)
            ws.send_text(codec.encode_ping(probe=True))
            answer, *rest = await ws.recv_batch()
            if answer != codec.encode_pong("probe"):
                raise HandshakeFailed("the server did not answer the probe")
            ws.send_text(codec.encode_packet(codec.Upgrade()))
            return ws, rest
    except (HandshakeFailed, Refused, TimeoutError, ConnectionClosed, OSError) as exc:
        log.debug("upgrade to WebSocket failed, staying on long-polling: %s", exc)
        await wire.abort(ws)
        return None


def _bad_frame(recv_us: int, reason: str, text: str) -> Frame:
    return meta_frame(recv_us, "meta.bad_frame", reason=reason, frame=truncate_frame(text))


def _utf8(packet: str) -> bytes:
    """An Engine.IO 4 packet's bytes: its text is UTF-8 (bytes that were not stay escaped)."""
    return packet.encode("utf-8", "surrogateescape")


class PollingSession:
    """One open long-polling session, joined to its namespace (`protocol`: eio3 or eio4)."""

    transport = "polling"

    def __init__(self, http: PollWire, dialect: str) -> None:
        self._http = http
        self._dialect = dialect
        self._limit = http.target.max_frame_size
        # Whether the answers' framing is known: from the start, or (auto, eio4) from the first.
        self._framed = dialect == "eio3"
        self._pending: list[str] = []  # packets that came with the namespace ack
        self._loop = asyncio.get_running_loop()
        self._polling: asyncio.Task[list[str]] | None = None
        self._sending: asyncio.Task[None] | None = None
        self._outbox: list[str] = []
        self._waiting_since: float | None = None
        self._reason: str | None = None  # why the heartbeat or a POST ended the session
        self._problem: tuple[str, str] | None = None  # a broken payload: (reason, its head)
        self._speak(http.eio)

    def _speak(self, eio: int) -> None:
        """Speak Engine.IO `eio` (3 or 4): its requests, protocol, packet bytes and heartbeat."""
        self._http.eio = eio
        self.protocol = f"eio{eio}"
        self.sio = SioProtocol(self._http.target, self.protocol)
        self._as_bytes: Callable[[str], bytes] = PacketBytes() if eio == 3 else _utf8
        self._heartbeat = Heartbeat(self.sio, self._post, self._end, self._judging_since)

    def __repr__(self) -> str:
        return f"<PollingSession {self.sio!r}>"

    async def handshake(self) -> codec.Open:
        """Open the session, join the namespace, post the channels; the open packet."""
        http = self._http
        packets = await self._get(handshake=True)
        sio = self.sio
        if not packets:
            raise HandshakeFailed("the server did not open an Engine.IO session")
        opened = codec.decode_packet(self._as_bytes(packets[0]).decode("utf-8", "replace"))
        if isinstance(opened, codec.Open):
            http.sid = opened.sid
        while True:
            for index, packet in enumerate(packets):
                sio.receive_handshake(self._as_bytes(packet).decode("utf-8", "replace"))
                if sio.is_open:
                    self._pending = packets[index + 1 :]
                    break
            if sio.outgoing:
                await http.post(sio.take_outgoing())
            if sio.is_open:
                break
            if self._problem is not None:
                raise HandshakeFailed(f"bad long-polling payload: {self._problem[0]}")
            packets = await self._get()
        assert isinstance(opened, codec.Open)  # receive_handshake checked it
        return opened

    async def _get(self, *, handshake: bool = False) -> list[str]:
        """One GET: its packets. A broken payload ends it early and is kept in `_problem`."""
        reader = self._reader() if self._framed else None
        packets: list[str] = []
        head: list[str] = []  # the start of the text, for a bad-frame report
        held = ""  # the first characters of the first answer, until they tell its framing

        def feed(text: str) -> None:
            nonlocal reader, held
            if sum(map(len, head)) < BAD_HEAD:
                head.append(text[:BAD_HEAD])
            if reader is None:
                held += text
                if len(held) < 2:
                    return
                reader, text, held = self._framed_by(held), held, ""
            packets.extend(reader.feed(text))

        try:
            await self._http.get(feed, handshake=handshake)
            if reader is None and held:  # an answer of one character
                reader = self._framed_by(held)
                packets.extend(reader.feed(held))
            if reader is not None:
                packets.extend(reader.close())
        except PayloadError as exc:
            self._problem = (str(exc), "".join(head))
        except OversizedPacket as exc:
            self._problem = (
                f"frame over the limit of {counted(self._limit, 'byte')}",
                str(exc.units),
            )
        return packets

    def _reader(self) -> PayloadReader | Payload4Reader:
        eio3 = self._http.eio == 3
        return PayloadReader(self._limit) if eio3 else Payload4Reader(self._limit)

    def _framed_by(self, start: str) -> PayloadReader | Payload4Reader:
        """The first answer at `?EIO=4` begins with `start`: its framing decides the dialect.

        `0{` is an Engine.IO 4 open packet; anything else is read as the
        Engine.IO 3 framing of socket.io 1.x/2.x, which ignore `EIO=4`:
        `auto` goes on in Engine.IO 3, `--eio 4` is refused with a hint.
        """
        if not start.startswith("0{"):
            if self._dialect == "eio4":
                raise Refused(f"{self._http.target.display_url} {_SPEAKS_EIO3}")
            self._speak(3)
        self._framed = True
        return self._reader()

    def batches(self) -> AsyncIterator[list[Frame]]:
        """Events of the namespace and bad-frame reports, one at a time; ends by raising
        SessionDropped."""
        return batches_of_one(self._frames())

    def deliver(self, packets: list[str]) -> Iterator[Frame]:
        """Hand polled packets to the protocol as the driver hands WebSocket messages."""
        sio, as_bytes, limit = self.sio, self._as_bytes, self._limit
        as_binary = binary_packet if self._http.eio == 3 else binary_packet4
        for packet in packets:
            now, recv_us = self._loop.time(), now_us()
            binary = as_binary(packet) if packet[0] == "b" else None
            data = binary if binary is not None else as_bytes(packet)
            if limit and len(data) > limit:  # the WebSocket driver closes with 1009 here
                yield oversized_frame(recv_us, len(data), limit, data[:BAD_HEAD])
                raise SessionDropped(f"frame over the limit of {counted(limit, 'byte')}")
            if binary is not None:
                frame = sio.receive_binary(binary, now, recv_us)
            elif packet[0] == "b":
                frame = _bad_frame(recv_us, "binary packet with invalid base64", packet)
            else:
                frame = sio.receive(data, now, recv_us)
            if frame is not None:
                yield frame
                if sio.backlog:  # a packet that cut a binary event short: its own frame
                    yield from sio.take_backlog()

    async def _frames(self) -> AsyncIterator[Frame]:
        loop, sio = self._loop, self.sio
        self._heartbeat.start()
        packets, self._pending = self._pending, []
        try:
            while True:
                for frame in self.deliver(packets):
                    yield frame
                if sio.outgoing:
                    self._post(sio.take_outgoing())
                if self._problem is not None:
                    for frame in self._report_problem():
                        yield frame
                if self._reason is not None:
                    raise SessionDropped(self._reason)
                self._waiting_since = loop.time()
                self._polling = task = loop.create_task(self._poll())
                await asyncio.wait([task])
                self._waiting_since = self._polling = None
                if task.cancelled():
                    raise SessionDropped(self._reason or "the long-poll was cancelled")
                packets = task.result()
        except ServerEnded:
            raise  # the namespace ended, the session did not: close() says goodbye
        except SessionDropped as exc:
            self._reason = self._reason or str(exc)  # no goodbye for a session that ended
            raise
        finally:
            self._heartbeat.stop()  # a pending GET stays for close(): cut, it ends the session

    async def _poll(self) -> list[str]:
        try:
            return await self._get()
        except HandshakeFailed as exc:  # HTTP errors, connection lost, ...
            raise SessionDropped(self._reason or str(exc)) from None
        except Refused as exc:
            raise SessionDropped(str(exc)) from None

    def _report_problem(self) -> Iterator[Frame]:
        assert self._problem is not None
        reason, head = self._problem
        self._problem = None
        if reason.startswith("frame over the limit"):
            yield oversized_frame(now_us(), None, self._limit)
            raise SessionDropped(reason)
        yield _bad_frame(now_us(), f"bad long-polling payload: {reason}", head)

    # Sending: one POST at a time

    def _post(self, packets: list[str]) -> None:
        self._outbox.extend(packets)
        if self._sending is None or self._sending.done():
            self._sending = self._loop.create_task(self._send_all())

    async def _send_all(self) -> None:
        while self._outbox:
            batch, self._outbox = self._outbox, []
            try:
                await self._http.post(batch)
            except (HandshakeFailed, Refused) as exc:
                self._end(str(exc))
                return

    def _end(self, reason: str) -> None:
        """End the session for `reason`: the pending GET is cancelled, frames() raises."""
        if self._reason is None:
            self._reason = reason
        if self._polling is not None:
            self._polling.cancel()

    def _judging_since(self) -> float | None:
        """Since when a GET waits on the server (None: none does, the consumer has the frames)."""
        polling = self._polling
        return None if polling is None or polling.done() else self._waiting_since

    async def close(self) -> None:
        """Say goodbye (close packet) if the session is alive, release the HTTP connections."""
        self._heartbeat.stop()
        if self._reason is None and self._http.sid is not None:
            self._reason = "closed"
            try:
                async with asyncio.timeout(_CLOSE_WAIT):
                    await self._http.post([codec.encode_close()])
            except (TimeoutError, HandshakeFailed, Refused) as exc:
                log.debug("closing the polling session: %s", exc)
        for task in (self._polling, self._sending):
            if task is not None:
                task.cancel()
        await self._http.close()


class _UpgradedSession:
    """A session opened over long-polling and upgraded: the ack's packets, then the WebSocket."""

    transport = "websocket"

    def __init__(self, polled: PollingSession, ws: WebSocketSession) -> None:
        self._polled = polled
        self._ws = ws
        self.protocol = polled.protocol

    async def batches(self) -> AsyncIterator[list[Frame]]:
        """What came with the namespace ack over polling, then the WebSocket's frames."""
        session = self._polled
        polled, session._pending = session._pending, []
        frames: list[Frame] = []
        try:
            frames.extend(session.deliver(polled))
        except SessionDropped:
            if frames:
                yield frames
            raise
        if frames:
            yield frames
        async for batch in self._ws.batches():
            yield batch

    async def close(self) -> None:
        """Close the WebSocket (idempotent)."""
        await self._ws.close()
