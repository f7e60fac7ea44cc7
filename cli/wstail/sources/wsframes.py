"""WebSocket frames as a server writes them, cut out of received bytes: pure, no I/O.

The fast half of `wsclient`: whole unmasked uncompressed FIN text and binary
frames become messages here; every other frame is only delimited, for
websockets' sans-I/O parser to judge (and, compressed, to inflate).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = [
    "BadText",
    "Message",
    "Oversized",
    "frame_end",
    "judged_by_websockets",
    "payload_span",
    "split_frames",
]

_FIN_TEXT, _FIN_BINARY = 0x81, 0x82
_U64 = struct.Struct("!Q").unpack_from
NO_LIMIT = 1 << 64


@dataclass(frozen=True, slots=True)
class Oversized:
    """In place of a message over the size limit: its size so far and its first bytes."""

    size: int
    head: bytes


@dataclass(frozen=True, slots=True)
class BadText:
    """In place of a text message that is not UTF-8, for a client that reports it itself."""

    payload: bytes


# A received message: text, binary, or a marker in place of one.
Message = str | bytes | Oversized | BadText


def split_frames(
    data: bytes, start: int, out: list[Message], limit: int = NO_LIMIT
) -> tuple[int, int]:
    """Append the messages of the whole unmasked FIN text/binary frames from `start` on.

    Returns (position of the first frame not taken, bytes that frame needs
    to be judged: 0 when it is whole, or not ours). Stops at the first frame
    of any other kind, a frame over `limit` bytes, or a text frame that is
    not UTF-8, for websockets' parser (or the caller) to judge.
    """
    end = len(data)
    pos = start
    append = out.append
    while end - pos >= 2:
        head = data[pos]
        length = data[pos + 1]
        if length < 126:
            begin = pos + 2
        elif length == 126:
            if end - pos < 4:
                return pos, 4
            length = (data[pos + 2] << 8) | data[pos + 3]
            begin = pos + 4
        elif length == 127:
            if end - pos < 10:
                return pos, 10
            (length,) = _U64(data, pos + 2)
            begin = pos + 10
        else:  # the mask bit: websockets fails the connection
            return pos, 0
        if length > limit:
            return pos, 0
        stop = begin + length
        if stop > end:
            return pos, stop - pos
        if head == _FIN_TEXT:
            try:
                append(data[begin:stop].decode())
            except UnicodeDecodeError:
                return pos, 0
        elif head == _FIN_BINARY:
            append(data[begin:stop])
        else:
            return pos, 0
        pos = stop
    return pos, (2 if pos < end else 0)


def frame_end(data: bytes, pos: int) -> int:
    """Where the frame at `pos` ends; past the data's end while its header is incomplete."""
    end = len(data)
    if end - pos < 2:
        return pos + 2
    length = data[pos + 1] & 0x7F
    masked = 4 if data[pos + 1] & 0x80 else 0
    if length == 126:
        if end - pos < 4:
            return pos + 4
        return pos + 4 + masked + ((data[pos + 2] << 8) | data[pos + 3])
    if length == 127:
        if end - pos < 10:
            return pos + 10
        return pos + 10 + masked + _U64(data, pos + 2)[0]
    return pos + 2 + masked + length


def payload_span(data: bytes, pos: int) -> tuple[int, int] | None:
    """(where the payload starts, its length) of the frame at `pos`; None: header incomplete."""
    end = len(data)
    if end - pos < 2:
        return None
    length = data[pos + 1] & 0x7F
    begin = pos + 2
    if length == 126:
        if end - pos < 4:
            return None
        length = (data[pos + 2] << 8) | data[pos + 3]
        begin = pos + 4
    elif length == 127:
        if end - pos < 10:
            return None
        (length,) = _U64(data, pos + 2)
        begin = pos + 10
    if data[pos + 1] & 0x80:
        begin += 4
    return begin, length


_FIN_DEFLATED = (0xC1, 0xC2)  # FIN, RSV1, text or binary: a whole compressed message


def judged_by_websockets(head: int, inflating: bool = False) -> bool:
    """Frames websockets gets whole, one by one (any other: websockets takes all from there).

    Data and control frames with no RSV bit; with permessage-deflate, also a
    compressed message in one frame (RSV1 and FIN): uncompressed frames do not
    touch the inflater's window (RFC 7692), so only compressed ones must reach it.
    """
    if inflating and head in _FIN_DEFLATED:
        return True
    return head & 0x70 == 0 and head & 0x0F in (0x0, 0x1, 0x2, 0x8, 0x9, 0xA)
