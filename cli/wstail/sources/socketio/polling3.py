"""Socket.IO over Engine.IO 3 long-polling: our own client, the WebSocket driver's protocol.

For socket.io 1.x/2.x servers that refuse the WebSocket upgrade with HTTP
400 (`transports: ['polling']`, or a proxy that drops the Upgrade header).
The session is the one `driver.py` runs over WebSocket, `protocol.SioProtocol`
in the "eio3" dialect, fed from HTTP instead (`pollwire.py`): heartbeat,
liveness, bad frames, namespace join, channels, --max-frame-size and exact
numbers are the same code.

- A GET at `?EIO=3&transport=polling&b64=1` opens the session; later GETs
  (with `sid`) wait for what the server has queued, a payload of packets
  (`payload.py`); a POST carries our packets, one POST at a time, as
  engine.io refuses overlapping ones.
- The heartbeat is the WebSocket driver's (`heartbeat.py`): it posts the
  pings the protocol queues (EIO3: the client pings) and, when the protocol
  gives the server up, cancels the pending GET. A server is judged only
  while a GET waits for it: a slow consumer never makes a live server look
  dead.
- `--eio auto` asks the first GET at `?EIO=4`: socket.io 1.x/2.x ignore it
  and answer with the EIO3 framing (`86:0{…}`), and this session goes on;
  an Engine.IO 4 server answers `0{…}`: that probe session is closed (a
  POST of `1`) and SpeaksEio4 raised; the caller takes python-socketio's
  client.
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
    PayloadError,
    PayloadReader,
    binary_packet,
)
from wstail.sources.socketio.pollwire import PollWire
from wstail.sources.socketio.protocol import SioProtocol
from wstail.sources.socketio.session import (
    HandshakeFailed,
    Refused,
    SessionDropped,
    SioSession,
    SioTarget,
)
from wstail.sources.wsclient import WebSocketClient
from wstail.sources.wsframes import Message

__all__ = ["Eio3PollingSession", "SpeaksEio4", "open_eio3_polling"]

log = logging.getLogger(__name__)

_CLOSE_WAIT = 1.0  # seconds for the close packet to go out
_OPEN_MAX = 4096  # characters of an Engine.IO 4 open packet read to close its session
BAD_HEAD = 800  # characters of a payload (bytes of a packet) kept for a bad-frame report


class SpeaksEio4(HandshakeFailed):
    """`--eio auto`: the server answered the first GET in Engine.IO 4."""

    def __init__(self) -> None:
        super().__init__("the server speaks Engine.IO 4")


async def open_eio3_polling(
    target: SioTarget, *, probe: bool = False, upgrade: bool = True
) -> tuple[SioSession, bool]:
    """Handshake, join, channels over long-polling; then the upgrade, if offered and `upgrade`.

    `probe`: the first GET asks `?EIO=4` (`--eio auto`). Returns the session
    and whether an upgrade is still worth trying on later connections.
    Raises Refused, SpeaksEio4 or HandshakeFailed.
    """
    wire_ = PollWire(target)
    session = Eio3PollingSession(wire_, SioProtocol(target, "eio3"))
    try:
        async with asyncio.timeout(target.connect_timeout):
            opened = await session.handshake(probe)
    except TimeoutError:
        await wire_.close()
        raise HandshakeFailed(f"handshake timed out after {target.connect_timeout:g} s") from None
    except BaseException:
        await wire_.close()
        raise
    if not upgrade or "websocket" not in opened.upgrades:
        return session, upgrade
    try:
        upgraded = await _upgrade(target, opened.sid)
    except BaseException:
        await wire_.close()
        raise
    if upgraded is None:
        return session, False
    await wire_.close()  # the server moved the session to the WebSocket
    ws, first = upgraded
    websocket = WebSocketSession(ws, session.sio, target.max_frame_size, first)
    return _UpgradedSession(session, websocket), True


async def _upgrade(target: SioTarget, sid: str) -> tuple[WebSocketClient, list[Message]] | None:
    """The Engine.IO 3 upgrade of session `sid`: the WebSocket (and any message read after
    the probe's answer), or None if it failed."""
    sid_param = f"sid={quote(sid, safe='')}"
    query = f"{target.query}&{sid_param}" if target.query else sid_param
    ws: WebSocketClient | None = None
    try:
        async with asyncio.timeout(target.connect_timeout):
            ws = await wire.dial(replace(target, query=query), 3)
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


def _deliver(
    sio: SioProtocol, as_bytes: Callable[[str], bytes], packets: list[str], limit: int
) -> Iterator[Frame]:
    """Hand polled packets to the protocol as the driver hands WebSocket messages."""
    for packet in packets:
        now, recv_us = asyncio.get_running_loop().time(), now_us()
        binary = binary_packet(packet) if packet[0] == "b" else None
        data = binary if binary is not None else as_bytes(packet)
        if limit and len(data) > limit:  # the WebSocket driver closes with 1009 here
            yield oversized_frame(recv_us, len(data), limit, data[:BAD_HEAD])
            raise SessionDropped(f"frame over the limit of {limit} bytes")
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


def _bad_frame(recv_us: int, reason: str, text: str) -> Frame:
    return meta_frame(recv_us, "meta.bad_frame", reason=reason, frame=truncate_frame(text))


class Eio3PollingSession:
    """One open Engine.IO 3 long-polling session, joined to its namespace."""

    protocol = "eio3"
    transport = "polling"

    def __init__(self, http: PollWire, sio: SioProtocol) -> None:
        self._http = http
        self.sio = sio
        self._limit = http.target.max_frame_size
        self._as_bytes = PacketBytes()
        self._pending: list[str] = []  # packets that came with the namespace ack
        self._loop = asyncio.get_running_loop()
        self._polling: asyncio.Task[list[str]] | None = None
        self._sending: asyncio.Task[None] | None = None
        self._outbox: list[str] = []
        self._waiting_since: float | None = None
        self._reason: str | None = None  # why the heartbeat or a POST ended the session
        self._problem: tuple[str, str] | None = None  # a broken payload: (reason, its head)
        self._heartbeat = Heartbeat(sio, self._post, self._end, self._judging_since)

    def __repr__(self) -> str:
        return f"<Eio3PollingSession {self.sio!r}>"

    async def handshake(self, probe: bool) -> codec.Open:
        """Open the session, join the namespace, post the channels; the open packet."""
        sio, http = self.sio, self._http
        packets = await self._get(handshake=True, probe=probe)
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

    async def _get(self, *, handshake: bool = False, probe: bool = False) -> list[str]:
        """One GET: its packets. A broken payload ends it early and is kept in `_problem`."""
        reader = PayloadReader(self._limit)
        packets: list[str] = []
        head: list[str] = []  # the start of the text, for a bad-frame report
        start = ""
        eio4_open: list[str] = []  # an Engine.IO 4 open packet, read whole to close it

        def feed(text: str) -> None:
            nonlocal start
            if eio4_open:
                eio4_open.append(text)
                if sum(map(len, eio4_open)) > _OPEN_MAX:  # no open packet is that long
                    raise SpeaksEio4()
                return
            if probe and len(start) < 2:
                start += text[: 2 - len(start)]
                if start == "0{":  # an Engine.IO 4 open packet: no length prefix
                    eio4_open.append(text)
                    return
            if sum(map(len, head)) < BAD_HEAD:
                head.append(text[:BAD_HEAD])
            packets.extend(reader.feed(text))

        try:
            await self._http.get(feed, handshake=handshake, eio=4 if probe else 3)
            if eio4_open:
                await self._close_eio4("".join(eio4_open))
                raise SpeaksEio4()
            reader.close()
        except PayloadError as exc:
            self._problem = (str(exc), "".join(head))
        except OversizedPacket as exc:
            self._problem = (f"frame over the limit of {self._limit} bytes", str(exc.units))
        return packets

    async def _close_eio4(self, text: str) -> None:
        """Say goodbye to the Engine.IO 4 session an `auto` probe opened, rather than
        leave it to expire on the server (python-socketio's client opens its own)."""
        opened = codec.decode_packet(text.split("\x1e", 1)[0])
        if isinstance(opened, codec.Open) and opened.sid:
            await self._http.close_eio4(opened.sid)

    def batches(self) -> AsyncIterator[list[Frame]]:
        """Events of the namespace and bad-frame reports, one at a time; ends by raising
        SessionDropped."""
        return batches_of_one(self._frames())

    async def _frames(self) -> AsyncIterator[Frame]:
        loop, sio, limit = self._loop, self.sio, self._limit
        self._heartbeat.start()
        packets, self._pending = self._pending, []
        try:
            while True:
                for frame in _deliver(sio, self._as_bytes, packets, limit):
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

    protocol = "eio3"
    transport = "websocket"

    def __init__(self, polled: Eio3PollingSession, ws: WebSocketSession) -> None:
        self._polled = polled
        self._ws = ws

    async def batches(self) -> AsyncIterator[list[Frame]]:
        """What came with the namespace ack over polling, then the WebSocket's frames."""
        polled, self._polled._pending = self._polled._pending, []
        sio = self._polled.sio
        frames: list[Frame] = []
        try:
            frames.extend(_deliver(sio, self._polled._as_bytes, polled, self._polled._limit))
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
