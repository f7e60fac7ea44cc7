"""Socket.IO binary events (BINARY_EVENT `5`, BINARY_ACK `6`), sans I/O.

A binary event is a text packet, `451-/public,["stream",{"_placeholder":true,"num":0}]`
(`1`: the number of attachments, then `-`), followed by one binary message
per attachment. Over an Engine.IO 3 WebSocket each is a binary frame whose
first byte is the Engine.IO packet type (4, message) followed by the bytes;
over Engine.IO 4 the binary frame is the bare attachment. (EIO3 long-polling
carries them base64 as `b4<base64>`.)

`codec.decode_packet` reads the text packet into a `BinaryPacket`;
`Assembly` collects its attachments for the session protocol.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wstail.placeholders import check_placeholders

__all__ = [
    "MAX_COUNT_DIGITS",
    "Assembly",
    "BinaryPacket",
    "binary_problem",
    "encode_binary_event_text",
    "split_count",
]

MAX_COUNT_DIGITS = 9  # attachments of one packet: fewer than a billion
EIO3_MESSAGE = 4  # the Engine.IO packet type byte in front of an EIO3 attachment


@dataclass(frozen=True, slots=True)
class BinaryPacket:
    """A BINARY_EVENT (or BINARY_ACK, `ack`) text packet, its attachments still to come.

    `payload` is the JSON text of its array as received, placeholders
    included; `problem` says why its placeholders are unusable ("" when they
    are fine): its attachments are still to be taken and dropped.
    """

    namespace: str
    payload: str
    attachments: int
    ack_id: int | None = None
    ack: bool = False
    problem: str = ""


def split_count(rest: str) -> tuple[int, str]:
    """The attachment count in front of a binary packet (`1-/public,[…]`); -1 if invalid."""
    dash = rest.find("-")
    digits = rest[:dash]
    if not 0 < dash <= MAX_COUNT_DIGITS or not (digits.isascii() and digits.isdigit()):
        return -1, rest
    return int(digits), rest[dash + 1 :]


def binary_problem(value: Any, text: str, count: int, *, ack: bool) -> str:
    """Why a decoded binary packet's data is unusable, or ""."""
    if ack:
        return "" if isinstance(value, list) else "ack data is not a JSON array"
    if not isinstance(value, list) or not value or not isinstance(value[0], str):
        return "event data is not a JSON array starting with the event name"
    return check_placeholders(value, text, count) or ""


def encode_binary_event_text(namespace: str, payload: str, count: int) -> str:
    """A binary event's text packet from its recorded text: `451-/public,[…]` (`/`: no nsp)."""
    nsp = "" if namespace in ("", "/") else namespace + ","
    return f"45{count}-{nsp}{payload}"


@dataclass(slots=True)
class Assembly:
    """The attachments of one binary packet, as they arrive.

    `keep`: whether the event is handed on (an event of our namespace with
    usable placeholders); otherwise its attachments are only counted. Once
    the event grows over the size limit its bytes are dropped (`dropped`).
    """

    packet: BinaryPacket
    keep: bool
    size: int
    parts: list[bytes] = field(default_factory=list)
    received: int = 0
    dropped: bool = False

    @property
    def due(self) -> int:
        """Attachments still to come."""
        return self.packet.attachments - self.received

    def add(self, attachment: bytes, limit: int) -> bool:
        """Take one attachment; True when this one took the event over `limit` (0: none)."""
        self.received += 1
        self.size += len(attachment)
        if self.dropped or not self.keep:
            return False
        if limit and self.size > limit:
            self.dropped = True
            self.parts = []
            return True
        self.parts.append(attachment)
        return False
