"""The capture codec: every frame and header round-trips, every bad line says why."""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wstail.capture import (
    CaptureError,
    CaptureHeader,
    decode_frame,
    decode_header,
    encode_frame,
    is_header,
)
from wstail.envelope import format_us
from wstail.frames import Frame, meta_frame
from wstail.jsonexact import ExactNumber, dumps, loads_exact

SETTINGS = settings(max_examples=200, deadline=None)

MAX_US = 253402300799_999999  # 9999-12-31T23:59:59.999999Z
START = 1_795_428_000_000_000
# Offsets are read back through a double: exact to the microsecond up to
# 10^15 µs (31 years) after the capture's start, far beyond any capture.
offsets = st.integers(min_value=-(10**15), max_value=10**15)
starts = st.integers(min_value=1, max_value=MAX_US - 10**15)


def needs_digits(text: str) -> bool:
    """Whether a double would print this number differently (so it must stay exact)."""
    value = float(text)
    return value in (float("inf"), float("-inf")) or Decimal(repr(value)) != Decimal(text)


# Numbers only an ExactNumber holds: long decimals, huge exponents.
exact_numbers = (
    st.one_of(
        st.from_regex(r"-?[1-9][0-9]{0,20}\.[0-9]{15,30}", fullmatch=True),
        st.from_regex(r"-?[1-9]\.[0-9]{1,20}[eE][-+]?[1-9][0-9]{2,3}", fullmatch=True),
    )
    .filter(needs_digits)
    .map(ExactNumber)
)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    exact_numbers,
    st.text(),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
json_objects = st.dictionaries(st.text(), json_values, max_size=5)


@st.composite
def frames(draw: st.DrawFn, start_us: int) -> Frame:
    """Any frame a source can yield, received at some offset from `start_us`."""
    recv_us = start_us + draw(offsets)
    kind = draw(st.sampled_from(["sio", "text", "binary", "meta"]))
    if kind == "sio":
        # A binary event keeps its attachments' bytes beside its text.
        attachments = draw(st.none() | st.lists(st.binary(), max_size=3))
        data = None if attachments is None else {"attachments": attachments}
        return Frame(recv_us, "sio", draw(st.text()), draw(st.text()), data)
    if kind == "text":
        return Frame(recv_us=recv_us, kind="text", payload=draw(st.text()))
    if kind == "binary":
        return Frame(recv_us=recv_us, kind="binary", payload=draw(st.binary()))
    return Frame(recv_us=recv_us, kind="meta", payload=draw(st.text()), data=draw(json_objects))


def printed(frame: Frame) -> tuple[Any, ...]:
    """A frame with its meta details as the bytes they print as (ExactNumber == float)."""
    if frame.kind == "sio":  # None, or the attachments' bytes
        return (frame.recv_us, frame.kind, frame.channel, frame.payload, frame.data)
    data = None if frame.data is None else dumps(frame.data)
    return (frame.recv_us, frame.kind, frame.channel, frame.payload, data)


@SETTINGS
@given(data=st.data(), start_us=starts)
def test_any_frame_round_trips(data: st.DataObject, start_us: int) -> None:
    """encode_frame then decode_frame gives the same frame back, digits and bytes included."""
    frame = data.draw(frames(start_us))
    line = encode_frame(frame, start_us)
    assert b"\n" not in line
    assert printed(decode_frame(line, start_us)) == printed(frame)
    assert printed(decode_frame(line.decode(), start_us)) == printed(frame)


@SETTINGS
@given(
    source=st.text(min_size=1),
    start_us=st.integers(min_value=1, max_value=MAX_US),
    url=st.text(),
    protocol=st.text(),
    tool=st.text(),
    first_seq=st.integers(min_value=1, max_value=2**63 - 1),
    extra=st.dictionaries(
        st.text().filter(
            lambda k: (
                k
                not in {"wstail_capture", "source", "url", "protocol", "tool", "start", "first_seq"}
            )
        ),
        json_values,
        max_size=4,
    ),
)
def test_any_header_round_trips(
    source: str,
    start_us: int,
    url: str,
    protocol: str,
    tool: str,
    first_seq: int,
    extra: dict[str, Any],
) -> None:
    """CaptureHeader.encode then decode_header gives the same header, unknown keys kept."""
    header = CaptureHeader(source, start_us, url, protocol, tool, first_seq, extra)
    line = header.encode()
    assert b"\n" not in line
    decoded = loads_exact(line)
    assert is_header(decoded)
    back = decode_header(decoded)
    assert (back.source, back.start_us, back.url, back.protocol, back.tool, back.first_seq) == (
        source,
        start_us,
        url,
        protocol,
        tool,
        first_seq,
    )
    assert dumps(back.extra) == dumps(extra)
    assert back.encode() == line


def test_lines_are_written_as_documented() -> None:
    """The line shapes of docs/capture-format.md: six-decimal offsets, frames as JSON strings."""
    header = CaptureHeader("node", START, "ws://127.0.0.1:4002/ws", "websocket", "wstail 0.1.0")
    assert header.encode() == (
        b'{"wstail_capture":1,"source":"node","url":"ws://127.0.0.1:4002/ws",'
        b'"protocol":"websocket","tool":"wstail 0.1.0","start":"2026-11-23T10:00:00.000000Z",'
        b'"first_seq":1}'
    )
    sio = Frame(recv_us=START + 13402, kind="sio", channel="/public", payload='["stream",{}]')
    assert encode_frame(sio, START) == b'[0.013402,"sio","/public","[\\"stream\\",{}]"]'
    event = '["stream",{"_placeholder":true,"num":0}]'
    binary_event = Frame(
        START + 20_000, "sio", event, "/public", {"attachments": [b"\xde\xad\xbe\xef"]}
    )
    assert encode_frame(binary_event, START) == (
        b'[0.020000,"sio","/public","[\\"stream\\",{\\"_placeholder\\":true,\\"num\\":0}]",'
        b'["3q2+7w=="]]'
    )
    text = Frame(recv_us=START + 200_000, kind="text", payload='{\n  "status": 1}')
    assert encode_frame(text, START) == b'[0.200000,"text","{\\n  \\"status\\": 1}"]'
    binary = Frame(recv_us=START + 300_000, kind="binary", payload=b"\xde\xad\xbe\xef")
    assert encode_frame(binary, START) == b'[0.300000,"binary","3q2+7w=="]'
    meta = meta_frame(START + 1_000_000, "meta.disconnected", reason="closed")
    assert encode_frame(meta, START) == b'[1.000000,"meta","meta.disconnected",{"reason":"closed"}]'
    early = Frame(recv_us=START - 1_500_000, kind="text", payload="x")
    assert encode_frame(early, START) == b'[-1.500000,"text","x"]'


def test_frame_text_is_stored_not_reencoded() -> None:
    """A frame's numbers, spacing and key order survive as received."""
    payload = '["stream", {"b": 1.10, "a": 123456789012345678901234567890, "c": 1e400}]'
    frame = Frame(recv_us=START, kind="sio", channel="/public", payload=payload)
    assert decode_frame(encode_frame(frame, START), START).payload == payload


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"not json", "not JSON"),
        (b"\xff\xfe[1]", "not JSON"),
        (b'{"a":1}', "not a capture frame line"),
        (b"[0.1]", "not a capture frame line"),
        (b'[0.1,"text"]', "not a capture frame line"),
        (b'["0.1","text","x"]', "bad time offset"),
        (b'[true,"text","x"]', "bad time offset"),
        (b'[0.1,"bogus","x"]', "unknown or malformed frame of kind 'bogus'"),
        (b'[0.1,"text",1]', "unknown or malformed frame of kind 'text'"),
        (b'[0.1,"sio","/public"]', "unknown or malformed frame of kind 'sio'"),
        (b'[0.1,"sio","/public",["stream"]]', "unknown or malformed frame of kind 'sio'"),
        (b'[0.1,"sio","/public","[]",["%%%"]]', "binary event attachment is not valid base64"),
        (b'[0.1,"sio","/public","[]","3q2+7w=="]', "attachments are not a list of base64"),
        (b'[0.1,"sio","/public","[]",[1]]', "attachments are not a list of base64"),
        (b'[0.1,"sio","/public","[]",[],1]', "unknown or malformed frame of kind 'sio'"),
        (b'[0.1,"binary","not base64!"]', "binary frame is not valid base64"),
        (b'[0.1,"meta","meta.connected","details"]', "unknown or malformed frame of kind 'meta'"),
        (b'[0.1,7,"x"]', "unknown or malformed frame of kind '7'"),
    ],
)
def test_bad_frame_lines_say_why(line: bytes, reason: str) -> None:
    """Every malformed frame line is a CaptureError naming what is wrong."""
    with pytest.raises(CaptureError, match=reason.replace("(", r"\(")):
        decode_frame(line, START)


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ({"wstail_capture": 2, "source": "node", "start": "2026-11-23T10:00:00Z"}, "version 2"),
        ({"wstail_capture": "1", "source": "node", "start": "2026-11-23T10:00:00Z"}, "version"),
        ({"wstail_capture": 1, "start": "2026-11-23T10:00:00Z"}, "no source"),
        ({"wstail_capture": 1, "source": "", "start": "2026-11-23T10:00:00Z"}, "no source"),
        ({"wstail_capture": 1, "source": "node"}, "bad start time"),
        ({"wstail_capture": 1, "source": "node", "start": "2026-11-23T10:00:00"}, "bad start"),
        (
            {
                "wstail_capture": 1,
                "source": "node",
                "start": "2026-11-23T10:00:00Z",
                "first_seq": 0,
            },
            "bad first_seq",
        ),
        (
            {
                "wstail_capture": 1,
                "source": "node",
                "start": "2026-11-23T10:00:00Z",
                "first_seq": True,
            },
            "bad first_seq",
        ),
        ({"source": "node"}, "not a wstail capture header"),
    ],
)
def test_bad_headers_are_refused(header: dict[str, Any], reason: str) -> None:
    """A header of another version, or missing what replay needs, is a CaptureError."""
    with pytest.raises(CaptureError, match=reason):
        decode_header(header)


def test_header_defaults_and_unknown_keys() -> None:
    """Readers ignore keys they do not know (kept as extra) and default first_seq to 1."""
    header = decode_header(
        orjson.loads(
            b'{"wstail_capture":1,"source":"node","start":"2026-11-23T11:00:00+01:00",'
            b'"future":{"x":1}}'
        )
    )
    assert header.start_us == START
    assert header.first_seq == 1
    assert header.extra == {"future": {"x": 1}}
    assert format_us(header.start_us) == "2026-11-23T10:00:00.000000Z"


def test_binary_frames_hold_any_bytes() -> None:
    """Binary payloads are base64 on disk, bytes in memory."""
    payload = bytes(range(256))
    line = encode_frame(Frame(recv_us=START, kind="binary", payload=payload), START)
    assert orjson.loads(line)[2] == base64.b64encode(payload).decode()
    assert decode_frame(line, START).payload == payload
