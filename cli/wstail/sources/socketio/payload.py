"""Engine.IO long-polling payloads, sans I/O: text in, packets out, both dialects.

Engine.IO 4 (socket.io 3+, python-engineio 4+) joins a payload's packets
with the record separator `\\x1e`; a binary packet (an attachment's bytes
alone) is the text `b<base64>`. `Payload4Reader` splits a response as it
arrives. The rest of this module is Engine.IO 3's `len:packet` framing.

A long-poll response (and a POST body) holds packets framed as
`<len>:<packet>` one after the other, `len` counted as JavaScript counts a
string's length: UTF-16 code units, two for a character beyond the BMP (an
emoji). Asked with `b64=1`, the server sends text only: a binary packet
comes as `b<type><base64>` (`b4AQID`), whose bytes are those a WebSocket
binary frame would carry, `bytes([type]) + body`.

engine.io-parser 1.x (socket.io 1.x, the live Paymium server) also
UTF-8-encodes each packet into one character per byte before framing it,
so its lengths count bytes and a response is UTF-8 twice over; 2.x
(socket.io 2.x, and socket.io 4 speaking EIO3) frames the text as it is.
`PacketBytes` tells the two apart from the first packet that is not ASCII:
characters all below U+0100 that, read as bytes, are valid UTF-8 can only be
the 1.x form in practice (the same characters sent by 2.x would be text
that is itself mojibake, such as `Ã©`). Packets out are made ASCII
(`ascii_packet`), which both read alike.

`PayloadReader` takes the response text as it arrives and never holds more
than one packet; one longer than the limit is refused from its length alone.
Nothing here raises anything but `PayloadError` and `OversizedPacket`.
"""

from __future__ import annotations

import base64
import binascii

__all__ = [
    "SEPARATOR",
    "OversizedPacket",
    "PacketBytes",
    "Payload4Reader",
    "PayloadError",
    "PayloadReader",
    "ascii_packet",
    "binary_packet",
    "binary_packet4",
    "decode_payload",
    "decode_payload4",
    "encode_payload",
    "js_length",
]

SEPARATOR = "\x1e"  # Engine.IO 4's packet separator in a payload

_MAX_LENGTH_DIGITS = 15  # 10**15 units: far beyond any limit, and an int a double holds


class PayloadError(ValueError):
    """The framing of a payload is broken; the message says how."""


class OversizedPacket(Exception):
    """A packet announced longer than the reader's limit (`units`, UTF-16 code units)."""

    def __init__(self, units: int) -> None:
        super().__init__(f"packet of {units} characters over the limit")
        self.units = units


def js_length(text: str) -> int:
    """The length JavaScript gives `text`: UTF-16 code units, two per astral character."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def encode_payload(packets: list[str]) -> str:
    """The EIO3 text payload of `packets`: `len:packet` each."""
    return "".join(f"{js_length(packet)}:{packet}" for packet in packets)


def decode_payload(payload: str) -> list[str]:
    """The packets of a whole EIO3 text payload; PayloadError if the framing is broken."""
    reader = PayloadReader()
    packets = reader.feed(payload)
    reader.close()
    return packets


def decode_payload4(payload: str) -> list[str]:
    """The packets of a whole EIO4 payload (ValueError for an empty one)."""
    if not payload:
        raise ValueError("empty payload")
    return payload.split(SEPARATOR)


def ascii_packet(packet: str) -> str:
    """A packet to send, its non-ASCII characters written as JSON escapes (`\\u00e9`).

    Both parser generations read ASCII alike. Only JSON strings (channel IDs)
    can hold non-ASCII in what a client sends: the escapes mean the same there.
    """
    if packet.isascii():
        return packet
    out = []
    for char in packet:
        code = ord(char)
        if code < 0x80:
            out.append(char)
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            code -= 0x10000
            out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
    return "".join(out)


def binary_packet(packet: str) -> bytes | None:
    """The bytes of a `b<type><base64>` packet, as a WebSocket binary frame carries them.

    None if the packet is not one (or its type or base64 is broken).
    """
    if len(packet) < 2 or packet[0] != "b" or not "0" <= packet[1] <= "9":
        return None
    try:
        body = base64.b64decode(packet[2:], validate=True)
    except (binascii.Error, ValueError):
        return None
    return bytes([ord(packet[1]) - ord("0")]) + body


def binary_packet4(packet: str) -> bytes | None:
    """The bytes of an EIO4 `b<base64>` packet (an attachment, as a WebSocket binary frame
    carries it); None if the packet is not one or its base64 is broken."""
    if not packet or packet[0] != "b":
        return None
    try:
        return base64.b64decode(packet[1:], validate=True)
    except (binascii.Error, ValueError):
        return None


class PacketBytes:
    """A packet's text as the bytes a WebSocket text frame would carry, per session.

    Undecided until the first packet that is not ASCII; then the session is
    either engine.io-parser 1.x (characters are bytes) or plain text.
    """

    __slots__ = ("chars_are_bytes",)

    def __init__(self) -> None:
        self.chars_are_bytes: bool | None = None

    def __call__(self, packet: str) -> bytes:
        """The wire bytes of one packet (invalid UTF-8 stays invalid: the protocol reports it)."""
        if packet.isascii():
            return packet.encode("ascii")
        if self.chars_are_bytes is None:
            self.chars_are_bytes = _is_utf8_as_chars(packet)
        if self.chars_are_bytes:
            try:
                return packet.encode("latin-1")
            except UnicodeEncodeError:
                pass  # a character above U+00FF: this one is text
        # surrogateescape: bytes that were not UTF-8 in the response go back as they came
        return packet.encode("utf-8", "surrogateescape")


def _is_utf8_as_chars(packet: str) -> bool:
    try:
        packet.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return False
    return True


class PayloadReader:
    """Packets out of a payload fed as text chunks; `feed` what arrives, `close` at the end.

    `limit` (UTF-16 code units, 0: none) refuses a longer packet from its
    length prefix, before any of it is held. Empty packets are skipped.
    """

    __slots__ = ("_head", "_limit", "_pieces", "_units", "_want")

    def __init__(self, limit: int = 0) -> None:
        self._limit = limit
        self._head = ""  # length digits read so far
        self._want: int | None = None  # units of the packet being read
        self._pieces: list[str] = []
        self._units = 0

    def feed(self, text: str) -> list[str]:
        """The packets completed by `text`; raises PayloadError or OversizedPacket."""
        packets: list[str] = []
        at, size = 0, len(text)
        while at < size:
            if self._want is None:
                colon = text.find(":", at, at + _MAX_LENGTH_DIGITS + 1)
                if colon < 0:
                    self._head += text[at:]
                    self._check_head(self._head, final=False)
                    return packets
                digits, self._head = self._head + text[at:colon], ""
                self._check_head(digits, final=True)
                at = colon + 1
                want = int(digits)
                if self._limit and want > self._limit:
                    raise OversizedPacket(want)
                if want:
                    self._want = want
                continue
            end, units = _take(text, at, self._want - self._units)
            if end == at:
                raise PayloadError("a packet length splits a character")
            self._pieces.append(text[at:end])
            self._units += units
            at = end
            if self._units == self._want:
                packets.append("".join(self._pieces))
                self._want, self._pieces, self._units = None, [], 0
        return packets

    def close(self) -> list[str]:
        """The payload ended: no packet is left (PayloadError if it ended inside one)."""
        if self._want is not None:
            raise PayloadError("payload shorter than its packet length")
        if self._head:
            raise PayloadError("payload ends in a packet length")
        return []

    @staticmethod
    def _check_head(digits: str, *, final: bool) -> None:
        if len(digits) > _MAX_LENGTH_DIGITS or (digits and not _is_digits(digits)):
            raise PayloadError("bad packet length")
        if final and not digits:
            raise PayloadError("missing packet length")


def _is_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _take(text: str, at: int, need: int) -> tuple[int, int]:
    """(end, units): the longest run of `text` from `at` holding at most `need` units."""
    end = min(len(text), at + need)
    piece = text[at:end]
    if piece.isascii():
        return end, end - at
    units = js_length(piece)
    while units > need:  # each character is one or two units: drop about half the excess
        drop = (units - need + 1) // 2
        units -= js_length(text[end - drop : end])
        end -= drop
    while end < len(text) and units < need:  # the drop may have gone one unit too far
        step = 2 if text[end] > "\uffff" else 1
        if units + step > need:
            break  # the next character straddles the packet's end
        units += step
        end += 1
    if units < need and end < len(text):
        return at, 0  # the length ends inside a character
    return end, units


class Payload4Reader:
    """Packets out of an EIO4 payload fed as text chunks; `feed` what arrives, `close` at the end.

    The last packet has no separator after it: `close` returns it. `limit`
    (characters, 0: none) refuses a longer packet as soon as that much of
    it is held. Empty packets are skipped, as the EIO3 reader skips them.
    """

    __slots__ = ("_limit", "_pieces", "_size")

    def __init__(self, limit: int = 0) -> None:
        self._limit = limit
        self._pieces: list[str] = []  # the packet being read, so far
        self._size = 0

    def feed(self, text: str) -> list[str]:
        """The packets completed by `text`; raises OversizedPacket."""
        parts = text.split(SEPARATOR)
        last = parts.pop()
        packets: list[str] = []
        if parts:
            first = parts[0]
            if self._pieces:
                first = "".join(self._pieces) + first
                self._pieces, self._size = [], 0
            parts[0] = first
            for packet in parts:
                if packet:
                    self._check(len(packet))
                    packets.append(packet)
        if last:
            self._size += len(last)
            self._check(self._size)
            self._pieces.append(last)
        return packets

    def close(self) -> list[str]:
        """The payload ended: its last packet, if any."""
        packet = "".join(self._pieces)
        self._pieces, self._size = [], 0
        return [packet] if packet else []

    def _check(self, size: int) -> None:
        if self._limit and size > self._limit:
            raise OversizedPacket(size)
