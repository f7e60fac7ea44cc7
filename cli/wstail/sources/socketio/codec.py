"""Engine.IO 3 and 4 + Socket.IO packet codec, sans I/O: text in, packet values out.

This is the wire format of socket.io 1.x and 2.x (Engine.IO protocol 3,
Socket.IO protocol 3/4), which the live Paymium server speaks, and of
socket.io 3.x/4.x and python-socketio 5 (Engine.IO 4, Socket.IO v5). On the
websocket transport one WebSocket text frame holds one Engine.IO packet (no
payload framing):

    0{"sid":"…","upgrades":[],"pingInterval":25000,"pingTimeout":60000}  open
    1  close      2  ping (2probe)      3  pong (3probe)      5  upgrade      6  noop
    4  message, whose text is a Socket.IO packet:
       40 / 40/public / 40/public?q=1,       CONNECT (a v5 ack adds {"sid":…})
       41/public                              DISCONNECT
       42/public,7["stream",{…}]              EVENT (7: optional ack id)
       43/public,7[…]                         ACK
       44/nope,"Invalid namespace"            ERROR (v5: {"message":…})
       451-/public,[…{"_placeholder":true…}]  BINARY_EVENT / BINARY_ACK (46), followed
                                              by one binary message per attachment
                                              (`binary.py`)

What differs between the two versions is behaviour, not packet syntax, and
lives in the session protocol (`protocol.py`): in
EIO3 the client pings `2` and the server answers `3`, in EIO4 the server
pings and the client answers; a v5 client joins with `40/public,`
(`encode_connect(..., v5=True)`), its ack carries a socket id and a refusal
is `44/public,{"message":…}`; EIO4 binary frames carry no `4` prefix.

`decode_packet` never raises: anything it cannot read comes back as a
`BadPacket` with a reason. An `Event` keeps the JSON text of its array
exactly as received: that text is what a source hands on as the frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeGuard

import orjson

from wstail.fastpaths import FastPaths
from wstail.jsonexact import dumps, loads_exact, risky
from wstail.sources.socketio.binary import BinaryPacket, binary_problem, split_count
from wstail.words import counted

__all__ = [
    "Ack",
    "BadPacket",
    "BinaryPacket",
    "Close",
    "Connect",
    "Disconnect",
    "Event",
    "NamespaceError",
    "Noop",
    "Open",
    "Packet",
    "Ping",
    "Pong",
    "Upgrade",
    "decode_packet",
    "encode_close",
    "encode_connect",
    "encode_event",
    "encode_event_text",
    "encode_packet",
    "encode_ping",
    "encode_pong",
]

_MAX_ACK_DIGITS = 18  # an int64 ack id; longer digit runs are garbage
_MAX_MESSAGE = 200
_MAX_MS = 2**53  # heartbeat settings beyond this are garbage (and would overflow)


@dataclass(frozen=True, slots=True)
class Open:
    """The handshake packet: session id and the server's heartbeat settings (ms)."""

    sid: str
    ping_interval_ms: int
    ping_timeout_ms: int
    upgrades: tuple[str, ...] = ()
    max_payload: int | None = None  # only EIO4 servers announce it


@dataclass(frozen=True, slots=True)
class Close:
    """The peer closes the Engine.IO session."""


@dataclass(frozen=True, slots=True)
class Ping:
    """A heartbeat ping (EIO3: sent by the client); `data` is "probe" or ""."""

    data: str = ""


@dataclass(frozen=True, slots=True)
class Pong:
    """A heartbeat answer; `data` is "probe" or ""."""

    data: str = ""


@dataclass(frozen=True, slots=True)
class Upgrade:
    """A transport upgrade packet (only meaningful after polling)."""


@dataclass(frozen=True, slots=True)
class Noop:
    """A no-op packet."""


@dataclass(frozen=True, slots=True)
class Connect:
    """A namespace connect (client request or server ack); `data` is raw JSON or ""."""

    namespace: str = "/"
    query: str = ""
    data: str = ""

    @property
    def sid(self) -> str | None:
        """The socket id a Socket.IO v5 (socket.io 3+) server puts in its ack; None before v5."""
        info = _json(self.data) if self.data else None
        if isinstance(info, dict) and isinstance(info.get("sid"), str):
            return info["sid"]
        return None


@dataclass(frozen=True, slots=True)
class Disconnect:
    """A namespace disconnect."""

    namespace: str = "/"


@dataclass(frozen=True, slots=True)
class Event:
    """A Socket.IO event; `payload` is the event array's JSON text as received."""

    namespace: str
    name: str
    payload: str
    ack_id: int | None = None


@dataclass(frozen=True, slots=True)
class Ack:
    """An acknowledgement; `payload` is the JSON text of its argument array."""

    namespace: str
    ack_id: int | None
    payload: str


@dataclass(frozen=True, slots=True)
class NamespaceError:
    """The server refused a namespace (ERROR / CONNECT_ERROR); `message` is its reason."""

    namespace: str
    message: str


@dataclass(frozen=True, slots=True)
class BadPacket:
    """A packet that could not be read, and why."""

    reason: str


Packet = (
    Open
    | Close
    | Ping
    | Pong
    | Upgrade
    | Noop
    | Connect
    | Disconnect
    | Event
    | Ack
    | NamespaceError
    | BinaryPacket
    | BadPacket
)


def decode_packet(data: str | bytes, paths: FastPaths | None = None) -> Packet:
    """Read one Engine.IO packet from a WebSocket frame; never raises (but strict `paths`).

    `paths` (the run's) counts a packet whose JSON orjson should have read
    but the exact decoder did, and raises FastPathMissed for it in strict mode.
    """
    if isinstance(data, (bytes, bytearray, memoryview)):
        return BadPacket(f"unexpected binary frame of {counted(len(data), 'byte')}")
    if not data:
        return BadPacket("empty packet")
    kind, body = data[0], data[1:]
    if kind == "4":
        return _decode_socketio(body, paths)
    if kind == "0":
        return _decode_open(body, paths)
    if kind == "2":
        return Ping(body)
    if kind == "3":
        return Pong(body)
    if kind == "1":
        return Close()
    if kind == "6":
        return Noop()
    if kind == "5":
        return Upgrade()
    if kind == "b":
        return BadPacket("unexpected base64 binary packet")
    return BadPacket(f"unknown Engine.IO packet type {kind!r}")


def _decode_open(body: str, paths: FastPaths | None) -> Packet:
    info = _json(body, paths)
    if not isinstance(info, dict):
        return BadPacket("open packet is not a JSON object")
    sid = info.get("sid")
    interval = info.get("pingInterval")
    timeout = info.get("pingTimeout")
    upgrades = info.get("upgrades", [])
    max_payload = info.get("maxPayload")
    if not isinstance(sid, str):
        return BadPacket("open packet without a session id")
    if not _is_number(interval) or not 0 < interval < _MAX_MS:
        return BadPacket("open packet without a valid pingInterval")
    if not _is_number(timeout) or not 0 <= timeout < _MAX_MS:
        return BadPacket("open packet without a valid pingTimeout")
    if not isinstance(upgrades, list) or not all(isinstance(u, str) for u in upgrades):
        return BadPacket("open packet with invalid upgrades")
    if max_payload is not None and (not _is_number(max_payload) or max_payload < 0):
        return BadPacket("open packet with an invalid maxPayload")
    size = None if max_payload is None else int(max_payload)
    return Open(sid, int(interval), int(timeout), tuple(upgrades), size)


def _is_number(value: Any) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _decode_socketio(text: str, paths: FastPaths | None) -> Packet:
    if not text:
        return BadPacket("empty Socket.IO packet")
    kind, rest = text[0], text[1:]
    count = -1  # attachments of a binary packet
    if kind in "56":
        count, rest = split_count(rest)
        if count < 0:
            return BadPacket("binary Socket.IO packet without a valid attachment count")
    elif kind not in "01234":
        return BadPacket(f"unknown Socket.IO packet type {kind!r}")
    namespace, query = "/", ""
    if rest.startswith("/"):
        comma = rest.find(",")
        nsp, rest = (rest, "") if comma < 0 else (rest[:comma], rest[comma + 1 :])
        namespace, _, query = nsp.partition("?")
    digits = 0
    while digits < len(rest) and "0" <= rest[digits] <= "9":
        digits += 1
    if digits > _MAX_ACK_DIGITS:
        return BadPacket("Socket.IO ack id too long")
    ack_id = int(rest[:digits]) if digits else None
    body = rest[digits:]
    if kind == "0":
        return Connect(namespace, query, body)
    if kind == "1":
        return Disconnect(namespace)
    if kind == "4":
        return NamespaceError(namespace, _error_message(body))
    value = _json(body, paths)
    if value is _INVALID:
        return BadPacket("Socket.IO packet data is not valid JSON")
    if value is _TOO_DEEP:
        return BadPacket("JSON nested too deeply")
    if count >= 0:
        ack = kind == "6"
        problem = binary_problem(value, body, count, ack=ack)
        return BinaryPacket(namespace, body, count, ack_id, ack, problem)
    if kind == "3":
        if not isinstance(value, list):
            return BadPacket("ack data is not a JSON array")
        return Ack(namespace, ack_id, body)
    if not isinstance(value, list) or not value or not isinstance(value[0], str):
        return BadPacket("event data is not a JSON array starting with the event name")
    return Event(namespace, value[0], body, ack_id)


def _error_message(body: str) -> str:
    value = _json(body)
    if isinstance(value, dict) and isinstance(value.get("message"), str):
        message = value["message"]
    elif isinstance(value, str):
        message = value
    else:
        message = body  # not JSON, or an unexpected shape: show it as received
    return message[:_MAX_MESSAGE]


_INVALID: Any = object()
_TOO_DEEP: Any = object()  # valid JSON, nested deeper than the decoders go


def _json(text: str, paths: FastPaths | None = None) -> Any:
    """Decode JSON to check it and steer the codec; `_INVALID` if it is not JSON.

    No number read here is ever printed (an event keeps its text), so
    orjson's doubles do (it reads integers beyond 64 bits as doubles); only
    what orjson refuses (1e400, lone surrogate escapes) takes the exact
    decoder. This runs once per frame: the fast path counts, and `paths`
    (when given) says so when the exact decoder read what orjson should.
    """
    if not text:
        return _INVALID
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # not JSON, or numbers orjson refuses: the exact decoder says
        pass
    try:
        value = loads_exact(text)
    except ValueError as error:  # what loads_exact raises for anything it cannot read
        # ...except valid JSON nested beyond the decoders' limits: say so.
        message = str(error)
        deep = "depth limit" in message or "nested too deeply" in message
        return _TOO_DEEP if deep else _INVALID
    if paths is not None and not risky(text):  # loads_exact reads no more than orjson, but these
        paths.miss("Socket.IO codec", text)
    return value


def encode_ping(probe: bool = False) -> str:
    """A heartbeat ping (`2`, or `2probe`)."""
    return "2probe" if probe else "2"


def encode_pong(data: str = "") -> str:
    """A heartbeat answer (`3`, or `3probe` for a probe)."""
    return "3" + data


def encode_close() -> str:
    """The Engine.IO close packet."""
    return "1"


def encode_connect(namespace: str, query: str = "", *, v5: bool = False) -> str:
    """A namespace connect request: `40/public` (socket.io 1.x style, no data).

    With `v5`, the Socket.IO v5 form socket.io 3+ clients send: `40/public,`
    (`40` for "/"); v5 has no query in the namespace, so `query` is ignored.
    """
    if v5:
        return "40" + _nsp_prefix(namespace)
    return "40" + _nsp(namespace, query)


def encode_event(namespace: str, name: str, *args: Any, ack_id: int | None = None) -> str:
    """An event emit: `42/user,["channel","<id>"]`."""
    payload = dumps([name, *args]).decode("utf-8")
    return "42" + _nsp_prefix(namespace) + ("" if ack_id is None else str(ack_id)) + payload


def encode_event_text(namespace: str, payload: str, ack_id: int | None = None) -> str:
    """An event from its array's JSON text, written verbatim: `42/public,["stream",{…}]`.

    The server side of a replay: the text is what was recorded, so no number
    is re-encoded. The caller vouches that it is a JSON array.
    """
    return "42" + _nsp_prefix(namespace) + ("" if ack_id is None else str(ack_id)) + payload


def encode_packet(packet: Packet) -> str:
    """The wire text of any packet value (the inverse of `decode_packet`)."""
    match packet:
        case Open():
            info: dict[str, Any] = {
                "sid": packet.sid,
                "upgrades": list(packet.upgrades),
                "pingInterval": packet.ping_interval_ms,
                "pingTimeout": packet.ping_timeout_ms,
            }
            if packet.max_payload is not None:
                info["maxPayload"] = packet.max_payload
            return "0" + dumps(info).decode("utf-8")
        case Close():
            return encode_close()
        case Ping():
            return "2" + packet.data
        case Pong():
            return encode_pong(packet.data)
        case Upgrade():
            return "5"
        case Noop():
            return "6"
        case Connect():
            if packet.data:
                return "40" + _nsp_prefix(packet.namespace, packet.query) + packet.data
            return encode_connect(packet.namespace, packet.query)
        case Disconnect():
            return "41" + _nsp(packet.namespace)
        case Event():
            ack = "" if packet.ack_id is None else str(packet.ack_id)
            return "42" + _nsp_prefix(packet.namespace) + ack + packet.payload
        case Ack():
            ack = "" if packet.ack_id is None else str(packet.ack_id)
            return "43" + _nsp_prefix(packet.namespace) + ack + packet.payload
        case NamespaceError():
            return "44" + _nsp_prefix(packet.namespace) + dumps(packet.message).decode("utf-8")
        case BinaryPacket():
            ack = "" if packet.ack_id is None else str(packet.ack_id)
            head = ("46" if packet.ack else "45") + f"{packet.attachments}-"
            return head + _nsp_prefix(packet.namespace) + ack + packet.payload
        case BadPacket():
            raise ValueError(f"cannot encode a bad packet: {packet.reason}")


def _nsp(namespace: str, query: str = "") -> str:
    """The namespace part when nothing follows it: `/public` or `/public?q`."""
    if namespace in ("", "/") and not query:
        return ""
    return (namespace or "/") + (f"?{query}" if query else "")


def _nsp_prefix(namespace: str, query: str = "") -> str:
    """The namespace part when data follows: `/public,` (nothing for `/`)."""
    nsp = _nsp(namespace, query)
    return nsp + "," if nsp else ""
