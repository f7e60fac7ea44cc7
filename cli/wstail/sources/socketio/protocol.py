"""One Socket.IO session, sans I/O: Engine.IO 3 and 4, data in, frames and data to send out.

Built like websockets' `protocol.py`: no socket, no asyncio, no clock. The
driver (`driver.py`) feeds every message it reads to `receive`, sends what
`outgoing` holds, and keeps the heartbeat: it passes its clock's `now` in,
asks `next_deadline()` when to come back, and calls `on_deadline(now)` then.

The session goes through two phases:
- the handshake: the Engine.IO open packet first, then the namespace join
  (`40/<ns>`, `40/<ns>,` in Socket.IO v5) and its ack, pings answered on
  the way, then one `channel` event per channel. `dialect` "auto" joins in
  a way both dialects accept and tells them apart (`probe.py`). Failures
  raise `HandshakeFailed` or `Refused`; `is_open` turns true at the end.
- the session: `receive` (text messages) and `receive_binary` (binary
  messages) return the namespace's events as `sio` frames, packets they
  cannot read as `meta.bad_frame` frames, and `receive` raises
  `SessionDropped` when the server ends the session (`ServerEnded` for a
  disconnect of our namespace: the end of the run, no reconnect). A binary event (`45`)
  is held until its attachments came (`attachments_due` counts them), then
  handed on as one frame: its text with placeholders, the attachments'
  bytes in `data["attachments"]`.

The heartbeat differs by version. Engine.IO 3: the client pings `2` every
pingInterval (or `--ping-interval`) and the server answers `3`; a ping left
unanswered for two intervals means the server is gone (the live Paymium
server announces a pingTimeout of a day). Engine.IO 4: the server pings and
the client answers; silence for pingInterval + pingTimeout means it is gone.
`on_deadline` returns that verdict as a reason; the driver cuts the
connection for it.
"""

from __future__ import annotations

import orjson

from wstail.fastpaths import FastPaths
from wstail.frames import Frame, meta_frame, oversized_frame, truncate_frame
from wstail.sources.socketio import codec, probe
from wstail.sources.socketio.binary import EIO3_MESSAGE, Assembly, BinaryPacket
from wstail.sources.socketio.session import (
    HandshakeFailed,
    Refused,
    ServerEnded,
    SessionDropped,
    SioTarget,
)

__all__ = ["DIALECTS", "SioProtocol", "eio3_ping_interval", "patience"]

DIALECTS = ("eio3", "eio4", "auto")
_MIN_PING_INTERVAL = 0.05  # seconds; guards against a server announcing 0
_MIN_PATIENCE = 0.05  # seconds; guards against tiny EIO4 heartbeat settings
_MISSED_PINGS = 2  # EIO3: ping intervals a ping may stay unanswered

_OPENING, _JOINING, _OPEN = "opening", "joining", "open"
# How long `auto` on `/` waits for socket.io 1.x/2.x's own join before asking
# (they send it right after the open packet; v5 servers never do).
ROOT_JOIN_GRACE = 0.5


def patience(opened: codec.Open) -> float:
    """Seconds of silence after which an Engine.IO 4 server counts as dead."""
    return max((opened.ping_interval_ms + opened.ping_timeout_ms) / 1000, _MIN_PATIENCE)


def eio3_ping_interval(opened: codec.Open, override: float | None) -> float:
    """Seconds between the client's EIO3 pings: `--ping-interval`, else the server's."""
    return max(override or opened.ping_interval_ms / 1000, _MIN_PING_INTERVAL)


class SioProtocol:
    """The state of one Socket.IO connection joined to one namespace; no I/O.

    `dialect` is "eio3" (dialled at `?EIO=3`), "eio4" or "auto" (both dialled
    at `?EIO=4`). `protocol` says which one the server speaks, once known.
    """

    __slots__ = (
        "_assembly",
        "_dialect",
        "_event_head",
        "_interval",
        "_next_ping",
        "_opened",
        "_paths",
        "_patience",
        "_state",
        "_target",
        "_unanswered_since",
        "attachments_due",
        "backlog",
        "join_grace",
        "last_packet",
        "namespace",
        "outgoing",
        "protocol",
    )

    def __init__(self, target: SioTarget, dialect: str) -> None:
        if dialect not in DIALECTS:
            raise ValueError(f"unknown Socket.IO dialect {dialect!r}")
        self._target = target
        self._dialect = dialect
        self._state = _OPENING
        self._interval = 0.0  # EIO3: seconds between pings
        self._patience = 0.0  # EIO3: for a pong; EIO4: for any packet
        self._next_ping = 0.0
        self._unanswered_since: float | None = None  # when the oldest unanswered ping went out
        self._opened: codec.Open | None = None
        self.namespace = target.namespace
        self.protocol: str | None = None if dialect == "auto" else dialect
        self.outgoing: list[str] = []  # packets for the driver to send, in order
        self.last_packet = 0.0  # EIO4: when the server last sent anything (driver's clock)
        self._assembly: Assembly | None = None  # the binary packet whose attachments come
        self.attachments_due = 0  # binary messages the driver should expect next
        self.backlog: list[Frame] = []  # a second frame made by one message (rare)
        # auto on `/`: seconds to wait for an unasked `40` before asking (`join_now`)
        self.join_grace: float | None = None
        # An event of our namespace with no ack id starts so (what nearly every message is).
        ns = self.namespace
        self._event_head = "42" if ns == "/" else f"42{ns},"
        self._paths = target.fast_paths if target.fast_paths is not None else FastPaths()

    def __repr__(self) -> str:
        return f"<SioProtocol {self._target.display_url} {self.namespace} {self._state}>"

    @property
    def is_open(self) -> bool:
        """Whether the handshake is done: the namespace is joined and the channels are sent."""
        return self._state == _OPEN

    def take_outgoing(self) -> list[str]:
        """The packets to send now, in order (the list is emptied)."""
        out, self.outgoing = self.outgoing, []
        return out

    # The handshake

    def receive_handshake(self, data: str | bytes) -> None:
        """Take one message of the handshake; raises HandshakeFailed or Refused."""
        packet = codec.decode_packet(data)
        if self._state == _OPENING:
            if not isinstance(packet, codec.Open):
                raise HandshakeFailed("the server did not open an Engine.IO session")
            self._on_open(packet)
            return
        if self._state != _JOINING:
            raise RuntimeError("the handshake is over")
        match packet:
            case codec.Connect(namespace=ns) if ns == self.namespace:
                self._on_ack(packet)
            case codec.NamespaceError(namespace=ns, message=message) if ns == self.namespace:
                raise Refused(f"namespace {self.namespace} refused: {message}")
            case codec.Ping(data=probe_data):  # in EIO4 the server may ping before the ack
                self.outgoing.append(codec.encode_pong(probe_data))
            case codec.Close():
                raise HandshakeFailed("the server closed the session during the handshake")
            case codec.Disconnect(namespace=ns) if ns == self.namespace:
                raise HandshakeFailed(f"the server disconnected {self.namespace} at once")

    def _on_open(self, opened: codec.Open) -> None:
        self._opened = opened
        namespace = self.namespace
        if self._dialect == "auto" and probe.open_says_eio4(opened):
            self._dialect = self.protocol = "eio4"
        if self._dialect == "eio3":
            self._start_eio3(opened)
            if namespace == "/":  # socket.io 1.x/2.x join "/" by themselves
                self._join()
                return
            self.outgoing.append(codec.encode_connect(namespace))
        elif self._dialect == "eio4":
            self._patience = patience(opened)
            self.outgoing.append(codec.encode_connect(namespace, v5=True))
        elif namespace == "/":
            # socket.io 1.x/2.x join `/` by themselves (an unasked `40`); asked again,
            # they open a second socket on it and every event comes twice. A Socket.IO
            # v5 server without maxPayload (3.0-4.1) waits for us: ask after a grace.
            self.join_grace = ROOT_JOIN_GRACE
        else:  # a join both dialects accept; the ack tells them apart
            self.outgoing.append(codec.encode_connect(namespace))
        self._state = _JOINING

    def join_now(self) -> None:
        """The grace for an unasked join of `/` is over: ask for it (the driver calls this)."""
        if self.join_grace is not None and self._state == _JOINING:
            self.join_grace = None
            self.outgoing.append(codec.encode_connect(self.namespace))

    def _on_ack(self, ack: codec.Connect) -> None:
        self.join_grace = None
        opened = self._opened
        assert opened is not None  # the open packet came first
        if self._dialect == "auto":
            self._dialect = self.protocol = probe.ack_dialect(ack)
            if self._dialect == "eio3":
                self._start_eio3(opened)
            else:
                self._patience = patience(opened)
        elif self._dialect == "eio4" and not probe.is_socketio_v5(opened, ack):
            # socket.io 1.x/2.x ignore EIO=4: they would wait for our pings forever
            raise Refused(
                f"{self._target.display_url} speaks Socket.IO 1.x/2.x (Engine.IO 3): "
                "use --eio 3 or --eio auto"
            )
        self._join()

    def _start_eio3(self, opened: codec.Open) -> None:
        self._interval = eio3_ping_interval(opened, self._target.ping_interval)
        self._patience = _MISSED_PINGS * self._interval

    def _join(self) -> None:
        namespace = self.namespace
        for channel in self._target.channels:
            self.outgoing.append(codec.encode_event(namespace, "channel", channel))
        for payload in self._target.emits:  # --emit: written as given, no number re-encoded
            self.outgoing.append(codec.encode_event_text(namespace, payload))
        self._state = _OPEN

    # The session

    def receive(self, raw: str | bytes, now: float, recv_us: int) -> Frame | None:
        """Take one text message of the open session: the frame it makes, if any.

        `raw` is the message as received (bytes when the driver did not
        decode it); `now` is the driver's clock (for the heartbeat),
        `recv_us` the receive timestamp of the frame. Raises SessionDropped
        when the server ends the session. A text message that cuts a binary
        event short makes two frames: the event's meta.bad_frame is returned,
        the message's own frame (if any) waits in `backlog` (`take_backlog`).
        """
        self.last_packet = now
        paths = self._paths
        paths.lines += 1
        if isinstance(raw, str):
            data = raw
        else:
            try:
                data = raw.decode()
            except UnicodeDecodeError:  # websockets would have failed the connection with 1007
                paths.general += 1
                bad = _bad_frame(recv_us, "invalid UTF-8", raw)
                if self.attachments_due:
                    return self._both(self._give_up_binary(recv_us), bad)
                return bad
        if data.startswith(self._event_head) and not self.attachments_due:
            # The commonest packet read straight, as decode_packet would read it.
            body = data[len(self._event_head) :]
            if body[:1] == "[":
                try:
                    value = orjson.loads(body)
                except orjson.JSONDecodeError:  # big numbers, deep nesting: the codec's way
                    value = None
                if type(value) is list and value and type(value[0]) is str:
                    # (recv_us, kind, payload, channel): positional, half the cost of keywords
                    return Frame(recv_us, "sio", body, self.namespace)
        paths.general += 1
        packet = codec.decode_packet(data, paths)
        if self.attachments_due:
            cut = self._give_up_binary(recv_us)
            return self._both(cut, self._on_packet(packet, data, recv_us))
        if type(packet) is codec.Event and packet.namespace == self.namespace:
            if packet.ack_id is None and data.startswith(self._event_head):
                if _orjson_reads(packet.payload):  # the fast read above should have taken it
                    paths.miss("Socket.IO event read", data)
            return Frame(
                recv_us=recv_us, kind="sio", channel=self.namespace, payload=packet.payload
            )
        return self._on_packet(packet, data, recv_us)

    def take_backlog(self) -> list[Frame]:
        """The frames waiting in `backlog`, in order (the list is emptied)."""
        out, self.backlog = self.backlog, []
        return out

    def _on_packet(self, packet: codec.Packet, data: str, recv_us: int) -> Frame | None:
        namespace = self.namespace
        match packet:
            case codec.Event(namespace=ns) if ns == namespace:
                return Frame(recv_us=recv_us, kind="sio", channel=namespace, payload=packet.payload)
            case codec.Pong(data="") if self.protocol == "eio3":
                self._unanswered_since = None
            case codec.Ping(data=probe_data):  # EIO4's heartbeat; in EIO3 harmless
                self.outgoing.append(codec.encode_pong(probe_data))
            case codec.Disconnect(namespace=ns) if ns == namespace:
                raise ServerEnded(f"the server ended the namespace {namespace}")
            case codec.NamespaceError(namespace=ns, message=message) if ns == namespace:
                raise SessionDropped(f"server error on {namespace}: {message}")
            case codec.Close():
                raise SessionDropped("the server closed the Engine.IO session")
            case BinaryPacket():
                return self._start_binary(packet, data, recv_us)
            case codec.BadPacket(reason=reason):
                return _bad_frame(recv_us, reason, data)
            case codec.Open():
                return _bad_frame(recv_us, "unexpected open packet", data)
            case _:
                pass  # pongs, probes, noops, other namespaces, acks: nothing to hand on
        return None

    # Binary events

    def receive_binary(self, message: bytes, now: float, recv_us: int) -> Frame | None:
        """Take one binary message of the open session: an attachment; the frame it makes.

        `message` is the Engine.IO binary message as a WebSocket binary frame
        carries it: in EIO3 the packet type byte (4) then the bytes, in EIO4
        the bare attachment. The last attachment of a binary event makes its
        frame; a message no binary event waits for is a meta.bad_frame.
        """
        self.last_packet = now
        if self.protocol == "eio3":
            if not message or message[0] != EIO3_MESSAGE:
                kind = f"type {message[0]}" if message else "empty"
                return _bad_frame(recv_us, f"binary Engine.IO packet of {kind}", message)
            attachment = message[1:]
        else:
            attachment = message
        assembly = self._assembly
        if assembly is None:
            return _bad_frame(recv_us, "binary message with no binary event pending", message)
        limit = self._target.max_frame_size
        if assembly.add(attachment, limit):
            head = assembly.packet.payload.encode()
            frame: Frame | None = oversized_frame(recv_us, None, limit, head)
        else:
            frame = None
        self.attachments_due = due = assembly.due
        if due == 0:
            self._assembly = None
            if assembly.keep and not assembly.dropped:
                return _binary_event(assembly, self.namespace, recv_us)
        return frame

    def _start_binary(self, packet: BinaryPacket, data: str, recv_us: int) -> Frame | None:
        """A binary packet's text: wait for its attachments (kept if it is ours and usable)."""
        ours = not packet.ack and packet.namespace == self.namespace
        assembly = Assembly(packet, keep=ours and not packet.problem, size=len(data))
        limit = self._target.max_frame_size
        report = None
        if ours and packet.problem:
            report = _bad_frame(recv_us, packet.problem, data)
        elif assembly.keep and limit and assembly.size > limit:
            assembly.dropped = True
            report = oversized_frame(recv_us, None, limit, data.encode())
        if packet.attachments == 0:
            if assembly.keep and not assembly.dropped:
                return _binary_event(assembly, self.namespace, recv_us)
            return report
        self._assembly = assembly
        self.attachments_due = packet.attachments
        return report

    def _give_up_binary(self, recv_us: int) -> Frame | None:
        """A text message came while attachments were due: the binary event's bad frame."""
        assembly, self._assembly = self._assembly, None
        self.attachments_due = 0
        if assembly is None or not assembly.keep or assembly.dropped:
            return None
        packet = assembly.packet
        reason = f"binary event cut short: {assembly.received} of {packet.attachments} attachments"
        return _bad_frame(recv_us, reason, packet.payload)

    def _both(self, first: Frame | None, second: Frame | None) -> Frame | None:
        """Return one frame, the other (if both) waits in `backlog`."""
        if first is None:
            return second
        if second is not None:
            self.backlog.append(second)
        return first

    # The heartbeat

    def start_heartbeat(self, now: float) -> None:
        """Start the liveness rules at `now`, when the driver starts reading the session."""
        self.last_packet = now
        self._next_ping = now + self._interval

    def next_deadline(self) -> float:
        """When the driver should call `on_deadline` next (its clock)."""
        if self.protocol == "eio4":
            return self.last_packet + self._patience
        unanswered = self._unanswered_since
        if unanswered is None:
            return self._next_ping
        return min(self._next_ping, unanswered + self._patience)

    def on_deadline(self, now: float) -> str | None:
        """Apply the heartbeat rules at `now`: the reason to give the server up, or None.

        In EIO3 a ping due goes to `outgoing`.
        """
        if self.protocol == "eio4":
            if now < self.last_packet + self._patience:
                return None
            return f"no packet from the server for {self._patience:g} s"
        unanswered = self._unanswered_since
        if unanswered is not None and now - unanswered >= self._patience:
            return f"no pong from the server for {self._patience:g} s"
        if now >= self._next_ping:
            self.outgoing.append(codec.encode_ping())
            if unanswered is None:
                self._unanswered_since = now
            self._next_ping = now + self._interval
        return None


def _binary_event(assembly: Assembly, namespace: str, recv_us: int) -> Frame:
    """The frame of a whole binary event: its text as received, its attachments beside it."""
    payload = assembly.packet.payload
    attachments = {"attachments": assembly.parts} if assembly.parts else None  # none: an event
    return Frame(recv_us=recv_us, kind="sio", channel=namespace, payload=payload, data=attachments)


def _orjson_reads(body: str) -> bool:
    """Whether orjson reads the text as the fast event read wants it (general-way events only)."""
    if body[:1] != "[":
        return False
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    return True


def _bad_frame(recv_us: int, reason: str, data: str | bytes) -> Frame:
    return meta_frame(recv_us, "meta.bad_frame", reason=reason, frame=truncate_frame(data))
