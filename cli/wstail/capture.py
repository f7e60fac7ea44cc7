"""The capture format, version 1: a header line, then one line per frame.

Pure code: lines in, values out (and back). See docs/capture-format.md.

    {"wstail_capture":1,"source":"paymium.public","url":"https://paymium.com/ws/socket.io",
     "protocol":"eio3","tool":"wstail 0.1.0","start":"2026-11-23T15:30:00.123456Z","first_seq":1}
    [0.013402,"sio","/public","[\"stream\",{\"asks\":[...]}]"]
    [0.020000,"sio","/public","[\"stream\",{\"_placeholder\":true,\"num\":0}]",["3q2+7w=="]]
    [0.200000,"text","{\n  \"status\": \"publishing\"\n}"]
    [0.300000,"binary","3q2+7w=="]
    [1.000000,"meta","meta.disconnected",{"reason":"server closed the connection"}]

The first element is the receive time in seconds after `start`, with
microseconds. Frames are stored as JSON strings holding the exact text
received, so no number or byte is ever re-encoded. A Socket.IO binary event
adds a fifth element: its attachments, base64 (the text keeps its
placeholders).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

import orjson

from wstail.envelope import format_us, iso_to_us
from wstail.frames import Frame
from wstail.jsonexact import dumps, loads_exact
from wstail.placeholders import attachments_of

FORMAT_KEY = "wstail_capture"
FORMAT_VERSION = 1
INDEX_KEY = "wstail_index"  # the first key of a capture's index file (docs/index.md)
INDEX_SUFFIX = ".idx"  # a capture's index is the capture's name and this, beside it


class CaptureError(ValueError):
    """A capture line that cannot be read; the message says why."""


@dataclass(slots=True)
class CaptureHeader:
    """What a capture says about itself on its first line."""

    source: str
    start_us: int
    url: str = ""
    protocol: str = ""
    tool: str = ""
    first_seq: int = 1
    extra: dict[str, Any] = field(default_factory=dict)

    def encode(self) -> bytes:
        """The header line, without newline."""
        head: dict[str, Any] = {
            FORMAT_KEY: FORMAT_VERSION,
            "source": self.source,
            "url": self.url,
            "protocol": self.protocol,
            "tool": self.tool,
            "start": format_us(self.start_us),
            "first_seq": self.first_seq,
        }
        head.update(self.extra)
        return dumps(head)


def is_header(obj: Any) -> bool:
    """Whether a decoded first line is a capture header."""
    return isinstance(obj, dict) and FORMAT_KEY in obj


def decode_header(obj: Any) -> CaptureHeader:
    """Read a decoded header line; CaptureError if it is not a usable v1 header."""
    if not is_header(obj):
        raise CaptureError("not a wstail capture header")
    version = obj[FORMAT_KEY]
    if version != FORMAT_VERSION:
        raise CaptureError(f"capture format version {version!r} is not supported (this reads 1)")
    source = obj.get("source")
    if not isinstance(source, str) or not source:
        raise CaptureError("capture header has no source")
    start = obj.get("start")
    start_us = iso_to_us(start) if isinstance(start, str) else None
    if start_us is None:
        raise CaptureError(f"capture header has a bad start time: {start!r}")
    first_seq = obj.get("first_seq", 1)
    if not isinstance(first_seq, int) or isinstance(first_seq, bool) or first_seq < 1:
        raise CaptureError(f"capture header has a bad first_seq: {first_seq!r}")
    known = {FORMAT_KEY, "source", "url", "protocol", "tool", "start", "first_seq"}
    return CaptureHeader(
        source=source,
        start_us=start_us,
        url=str(obj.get("url", "")),
        protocol=str(obj.get("protocol", "")),
        tool=str(obj.get("tool", "")),
        first_seq=first_seq,
        extra={k: v for k, v in obj.items() if k not in known},
    )


def _offset_text(offset_us: int) -> str:
    sign = "-" if offset_us < 0 else ""
    seconds, micro = divmod(abs(offset_us), 1_000_000)
    return f"{sign}{seconds}.{micro:06d}"


def encode_frame(frame: Frame, start_us: int) -> bytes:
    """One capture line (no newline) for a frame received at `frame.recv_us`."""
    offset = _offset_text(frame.recv_us - start_us)
    kind = frame.kind
    payload = frame.payload
    if kind == "sio":
        attachments = attachments_of(frame.data)
        if attachments is None:
            body = dumps([kind, frame.channel, payload])
        else:
            encoded = [base64.b64encode(part).decode("ascii") for part in attachments]
            body = dumps([kind, frame.channel, payload, encoded])
    elif kind == "text":
        body = dumps([kind, payload])
    elif kind == "binary":
        raw = payload if isinstance(payload, bytes) else payload.encode()
        body = dumps([kind, base64.b64encode(raw).decode("ascii")])
    else:
        body = dumps([kind, payload, frame.data or {}])
    return b"[" + offset.encode() + b"," + body[1:]


def decode_frame(line: bytes | str, start_us: int) -> Frame:
    """The frame of one capture line; CaptureError says what is wrong with it."""
    try:
        row = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        try:  # orjson refuses numbers like 1e400 that the exact decoder reads
            row = loads_exact(line)
        except ValueError:
            raise CaptureError(f"not JSON ({exc.args[0].split(':')[0]})") from None
    # The two common shapes first, by exact types: a Socket.IO event, a text frame.
    if type(row) is list:
        size = len(row)
        offset = row[0] if size else None
        if type(offset) is float or type(offset) is int:
            if size == 4 and row[1] == "sio" and type(row[2]) is str and type(row[3]) is str:
                return Frame(_recv_us(start_us, offset), "sio", row[3], row[2])
            if size == 3 and row[1] == "text" and type(row[2]) is str:
                return Frame(_recv_us(start_us, offset), "text", row[2])
    if type(row) is list and len(row) == 4 and row[1] == "meta":
        # Lifecycle details are JSON values, not text: keep every digit (rare lines).
        row = loads_exact(line)
    if not isinstance(row, list) or len(row) < 3:
        raise CaptureError("not a capture frame line (expected [time, kind, ...])")
    offset, kind = row[0], row[1]
    if isinstance(offset, bool) or not isinstance(offset, (int, float)):
        raise CaptureError(f"bad time offset {offset!r}")
    recv_us = _recv_us(start_us, offset)
    if kind == "sio" and len(row) == 4 and isinstance(row[2], str) and isinstance(row[3], str):
        return Frame(recv_us=recv_us, kind="sio", channel=row[2], payload=row[3])
    if kind == "sio" and len(row) == 5 and isinstance(row[2], str) and isinstance(row[3], str):
        attachments = _attachments(row[4])
        return Frame(recv_us, "sio", row[3], row[2], {"attachments": attachments})
    if kind == "text" and len(row) == 3 and isinstance(row[2], str):
        return Frame(recv_us=recv_us, kind="text", payload=row[2])
    if kind == "binary" and len(row) == 3 and isinstance(row[2], str):
        try:
            raw = base64.b64decode(row[2], validate=True)
        except binascii.Error:
            raise CaptureError("binary frame is not valid base64") from None
        return Frame(recv_us=recv_us, kind="binary", payload=raw)
    if kind == "meta" and len(row) == 4 and isinstance(row[2], str) and isinstance(row[3], dict):
        return Frame(recv_us=recv_us, kind="meta", payload=row[2], data=row[3])
    raise CaptureError(f"unknown or malformed frame of kind {str(kind)[:20]!r}")


def _recv_us(start_us: int, offset: float) -> int:
    """The receive time of a frame `offset` seconds after the start; CaptureError if none."""
    try:
        return start_us + round(offset * 1_000_000)
    except OverflowError:  # 1e400 (read exactly: infinity), 1e308 (infinity once in µs)
        raise CaptureError(f"bad time offset {offset!r}") from None


def _attachments(encoded: Any) -> list[bytes]:
    """The bytes of a binary event's attachments, from their base64 list."""
    if not isinstance(encoded, list) or not all(isinstance(part, str) for part in encoded):
        raise CaptureError("binary event attachments are not a list of base64 strings")
    try:
        return [base64.b64decode(part, validate=True) for part in encoded]
    except binascii.Error:
        raise CaptureError("binary event attachment is not valid base64") from None
