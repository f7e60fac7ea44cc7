"""Socket.IO binary events, sans I/O: placeholders in the text, attachments collected.

The session protocol is fed values (text and binary messages as the drivers
pass them), never a socket: every malformed sequence is a meta.bad_frame.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from helpers.targets import undialled_target
from wstail.frames import Frame
from wstail.jsonexact import dumps, loads_exact
from wstail.normalize import normalize_paymium_frame
from wstail.placeholders import (
    check_placeholders,
    fill_placeholders,
    placeholder_numbers,
    with_bytes,
    without_bytes,
)
from wstail.sources.socketio.protocol import SioProtocol
from wstail.sources.socketio.session import SioTarget

EIO3_OPEN = '0{"sid":"s3","upgrades":[],"pingInterval":25000,"pingTimeout":60000}'
EIO4_OPEN = '0{"sid":"s4","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000}'
NESTED = (
    '["stream",{"file":{"_placeholder":true,"num":1},"parts":[1,{"_placeholder":true,"num":0}],'
    '"price":"77792.10","big":1234567890.123456789012}]'
)
PLAIN = '42/public,["stream",{"ticker":{"price":"1.10"}}]'


def target(max_frame_size: int = 0) -> SioTarget:
    """A target for /public; nothing is ever dialled."""
    return undialled_target(max_frame_size=max_frame_size)


def session(eio: str, max_frame_size: int = 0) -> SioProtocol:
    """An open /public session of the given Engine.IO version."""
    protocol = SioProtocol(target(max_frame_size), eio)
    if eio == "eio3":
        protocol.receive_handshake(EIO3_OPEN)
        protocol.receive_handshake("40/public")
    else:
        protocol.receive_handshake(EIO4_OPEN)
        protocol.receive_handshake('40/public,{"sid":"x"}')
    assert protocol.is_open
    protocol.take_outgoing()
    return protocol


def attachment(eio: str, data: bytes) -> bytes:
    """An attachment as a WebSocket binary frame carries it (EIO3: behind the type byte 4)."""
    return b"\x04" + data if eio == "eio3" else data


def feed(protocol: SioProtocol, eio: str, *messages: str | bytes) -> list[Frame]:
    """Every frame the messages make, in order (text as str, binary as bytes)."""
    frames: list[Frame] = []
    for at, message in enumerate(messages):
        if isinstance(message, str):
            frame = protocol.receive(message, 0.0, at)
        else:
            frame = protocol.receive_binary(attachment(eio, message), 0.0, at)
        if frame is not None:
            frames.append(frame)
        frames.extend(protocol.take_backlog())
    return frames


def reasons(frames: list[Frame]) -> list[str]:
    """The bad-frame reasons among frames ("" for a sio frame)."""
    return [f.data["reason"] if f.kind == "meta" and f.data else "" for f in frames]


EIOS = pytest.mark.parametrize("eio", ["eio3", "eio4"])


@EIOS
def test_binary_event_is_reassembled(eio: str) -> None:
    """`452-` and two attachments make one sio frame: text as received, bytes beside it."""
    protocol = session(eio)
    frames = feed(protocol, eio, "452-/public," + NESTED, b"\x00\xff", b"")
    assert len(frames) == 1
    frame = frames[0]
    assert (frame.kind, frame.channel, frame.payload) == ("sio", "/public", NESTED)
    assert frame.data == {"attachments": [b"\x00\xff", b""]}
    assert frame.recv_us == 2  # complete with its last attachment
    assert protocol.attachments_due == 0


@EIOS
def test_binary_event_envelope_has_base64_in_place(eio: str) -> None:
    """Normalized, each placeholder is {"_binary": base64}; numbers keep their digits."""
    (frame,) = feed(session(eio), eio, "452-/public," + NESTED, b"\x00\xff", b"\xde\xad\xbe\xef")
    items = normalize_paymium_frame(frame, "paymium.public")
    data = [item[3] for item in items]
    assert data[0] == {"file": {"_binary": "3q2+7w=="}}
    assert data[1] == {"parts": [1, {"_binary": "AP8="}]}
    assert dumps(data[3]) == b'{"big":1234567890.123456789012}'


def test_events_go_on_after_a_binary_event() -> None:
    """Plain events before and after a binary event come through in order."""
    eio = "eio3"
    protocol = session(eio)
    frames = feed(
        protocol, eio, PLAIN, '451-/public,["stream",{"_placeholder":true,"num":0}]', b"x", PLAIN
    )
    assert [f.kind for f in frames] == ["sio", "sio", "sio"]
    assert frames[1].data == {"attachments": [b"x"]}
    assert frames[0].data is None and frames[2].data is None


def test_zero_attachments_is_a_plain_event() -> None:
    """`450-` (no Buffer after all) is an event like `42`."""
    frames = feed(session("eio4"), "eio4", '450-/public,["stream",{"a":1}]')
    assert [(f.kind, f.payload, f.data) for f in frames] == [("sio", '["stream",{"a":1}]', None)]


@EIOS
def test_attachment_without_a_binary_event_is_a_bad_frame(eio: str) -> None:
    """A binary message no event waits for (or one too many): a meta.bad_frame each."""
    protocol = session(eio)
    frames = feed(
        protocol, eio, b"stray", '451-/public,["stream",{"_placeholder":true,"num":0}]', b"a", b"b"
    )
    assert reasons(frames) == [
        "binary message with no binary event pending",
        "",
        "binary message with no binary event pending",
    ]


@pytest.mark.parametrize(
    ("message", "reason"),
    [(b"\x03abc", "binary Engine.IO packet of type 3"), (b"", "binary Engine.IO packet of empty")],
)
def test_eio3_binary_packet_not_a_message_is_a_bad_frame(message: bytes, reason: str) -> None:
    """In EIO3 an attachment is a message packet (type byte 4): anything else is reported."""
    protocol = session("eio3")
    protocol.receive('451-/public,["stream",{"_placeholder":true,"num":0}]', 0.0, 1)
    frame = protocol.receive_binary(message, 0.0, 2)
    assert frame is not None and frame.data is not None and frame.data["reason"] == reason
    assert protocol.attachments_due == 1  # the event still waits for its attachment
    done = protocol.receive_binary(b"\x04ok", 0.0, 3)
    assert done is not None and done.data == {"attachments": [b"ok"]}


@EIOS
def test_text_packet_cuts_a_binary_event_short(eio: str) -> None:
    """Too few attachments: the event is a meta.bad_frame, then the text packet's own frame."""
    protocol = session(eio)
    frames = feed(
        protocol, eio, '452-/public,["stream",{"_placeholder":true,"num":1}]', b"one", PLAIN
    )
    assert reasons(frames) == ["binary event cut short: 1 of 2 attachments", ""]
    assert frames[0].data is not None
    assert frames[0].data["frame"] == '["stream",{"_placeholder":true,"num":1}]'
    assert frames[1].payload == '["stream",{"ticker":{"price":"1.10"}}]'
    assert protocol.attachments_due == 0
    assert reasons(feed(protocol, eio, b"late")) == ["binary message with no binary event pending"]


def test_binary_event_cut_short_by_another_binary_event() -> None:
    """A second `45` while attachments are due: the first is reported, the second collected."""
    eio = "eio4"
    protocol = session(eio)
    frames = feed(
        protocol,
        eio,
        '451-/public,["stream",{"_placeholder":true,"num":0}]',
        '451-/public,["second",{"_placeholder":true,"num":0}]',
        b"2",
    )
    assert reasons(frames) == ["binary event cut short: 0 of 1 attachments", ""]
    assert frames[1].payload.startswith('["second"') and frames[1].data == {"attachments": [b"2"]}


def test_invalid_utf8_text_cuts_a_binary_event_short() -> None:
    """An undecodable text message while attachments are due: two bad frames, in order."""
    protocol = session("eio3")
    protocol.receive('451-/public,["stream",{"_placeholder":true,"num":0}]', 0.0, 1)
    first = protocol.receive(b"42/public,\xff", 0.0, 2)
    assert reasons([first, *protocol.take_backlog()]) == [  # type: ignore[list-item]
        "binary event cut short: 0 of 1 attachments",
        "invalid UTF-8",
    ]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('451-/public,["stream",{"_placeholder":true,"num":5}]', "out of range (1 attachments)"),
        ('452-/public,["stream",{"_placeholder":"yes","num":0}]', "bad attachment placeholder"),
        ('451-/public,{"not":"an event"}', "event data is not a JSON array"),
    ],
)
def test_bad_placeholder_is_one_bad_frame_and_its_attachments_are_dropped(
    text: str, reason: str
) -> None:
    """A binary event that cannot be filled: one meta.bad_frame; its attachments are swallowed."""
    eio = "eio3"
    protocol = session(eio)
    count = int(text[2])
    frames = feed(protocol, eio, text, *[b"x"] * count, PLAIN)
    assert len(frames) == 2
    assert reason in reasons(frames)[0]
    assert frames[1].kind == "sio" and frames[1].data is None


def test_bad_attachment_count_is_a_bad_frame() -> None:
    """`45x-…` cannot say how many attachments come: a bad frame, nothing waits."""
    protocol = session("eio4")
    frames = feed(protocol, "eio4", '45x-/public,["stream"]')
    assert reasons(frames) == ["binary Socket.IO packet without a valid attachment count"]
    assert protocol.attachments_due == 0


def test_other_namespaces_and_binary_acks_are_swallowed_whole() -> None:
    """A binary event of another namespace, a binary ack: no frame, attachments taken."""
    eio = "eio3"
    protocol = session(eio)
    frames = feed(
        protocol,
        eio,
        '451-/user,["stream",{"_placeholder":true,"num":0}]',
        b"secret",
        '461-/public,3[{"_placeholder":true,"num":0}]',
        b"ack",
        PLAIN,
    )
    assert [f.kind for f in frames] == ["sio"]
    assert frames[0].data is None


@EIOS
def test_binary_event_over_the_size_limit_is_never_held(eio: str) -> None:
    """Text plus attachments over --max-frame-size: one bad frame; the rest are dropped."""
    header = '453-/public,["stream",{"a":{"_placeholder":true,"num":0}}]'
    limit = len(header) + 15
    protocol = session(eio, max_frame_size=limit)
    frames = feed(protocol, eio, header, b"x" * 10, b"y" * 10, b"z" * 10, PLAIN)
    assert reasons(frames) == [f"frame over the limit of {limit} bytes", ""]
    assert protocol.attachments_due == 0
    exact = session(eio, max_frame_size=len(header) + 30)
    (frame,) = feed(exact, eio, header, b"x" * 10, b"y" * 10, b"z" * 10)
    assert frame.data == {"attachments": [b"x" * 10, b"y" * 10, b"z" * 10]}


def test_binary_event_text_alone_over_the_limit() -> None:
    """A binary event's text over the limit is reported at once; its attachments dropped."""
    header = '451-/public,["stream",{"pad":"' + "p" * 100 + '","a":{"_placeholder":true,"num":0}}]'
    protocol = session("eio4", max_frame_size=50)
    frames = feed(protocol, "eio4", header, b"bytes", PLAIN)
    assert reasons(frames) == ["frame over the limit of 50 bytes", ""]


_messages = st.lists(
    st.one_of(
        st.sampled_from(
            [
                PLAIN,
                '451-/public,["stream",{"_placeholder":true,"num":0}]',
                '452-/public,["stream",[{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]]',
                '451-/user,["stream",{"_placeholder":true,"num":0}]',
                '461-/public,1[{"_placeholder":true,"num":0}]',
                '451-/public,["stream",{"_placeholder":true,"num":9}]',
                "45-/public,[]",
                "2",
                "3",
                "6",
                "42/public,[garbage",
            ]
        ),
        st.binary(max_size=20),
    ),
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(eio=st.sampled_from(["eio3", "eio4"]), limit=st.sampled_from([0, 80]), messages=_messages)
def test_any_sequence_of_messages_never_raises(eio: str, limit: int, messages: list[Any]) -> None:
    """Text and binary messages in any order: frames and bad frames, never an exception."""
    protocol = session(eio, max_frame_size=limit)
    for frame in feed(protocol, eio, *messages):
        assert frame.kind in ("sio", "meta")
        if frame.kind == "sio" and frame.data is not None:
            assert len(frame.data["attachments"]) in (1, 2)
    assert protocol.attachments_due >= 0


# --- placeholders (pure) ------------------------------------------------------------


def test_fill_keeps_every_other_byte() -> None:
    """Only the placeholders change: spacing, escapes and digits stay as received."""
    text = (
        '["stream", {"p": 77792.10, "s": "{\\"_placeholder\\":true,\\"num\\":0}",'
        ' "b": { "num" : 0 , "_placeholder" : true }, "e": "\\u00e9"}]'
    )
    filled = fill_placeholders(text, [b"\x01\x02"])
    assert filled == (
        '["stream", {"p": 77792.10, "s": "{\\"_placeholder\\":true,\\"num\\":0}",'
        ' "b": {"_binary":"AQI="}, "e": "\\u00e9"}]'
    )
    assert placeholder_numbers(text) == [0]


def test_fill_leaves_a_placeholder_without_attachment() -> None:
    """A placeholder past the attachments stays as it is (lossless)."""
    text = '[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]'
    assert fill_placeholders(text, [b"a"]) == '[{"_binary":"YQ=="},{"_placeholder":true,"num":1}]'
    assert fill_placeholders("[1]", []) == "[1]"


def test_check_placeholders_in_deep_values_never_recurses() -> None:
    """A deeply nested event is walked without Python's recursion limit."""
    depth = 5000
    value: Any = {"_placeholder": True, "num": 0}
    for _ in range(depth):
        value = [value]
    text = "[" * depth + '{"_placeholder":true,"num":0}' + "]" * depth
    assert check_placeholders(value, text, 1) is None


json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
    st.binary(max_size=16),
)
json_with_bytes = st.recursive(
    json_leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


def _as_base64(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"_binary": base64.b64encode(value).decode()}
    if isinstance(value, list):
        return [_as_base64(item) for item in value]
    if isinstance(value, dict):
        return {key: _as_base64(item) for key, item in value.items()}
    return value


@settings(max_examples=300, deadline=None)
@example(args=[-(2**63) - 1, 2**64, [b"\x00"]])
@given(args=st.lists(json_with_bytes, max_size=4))
def test_placeholders_round_trip(args: list[Any]) -> None:
    """Bytes out (placeholders) and back in (bytes, or base64 in the text) give the same value."""
    event = ["stream", *args]
    attachments: list[bytes] = []
    text = dumps(without_bytes(event, attachments)).decode()
    decoded = loads_exact(text)
    assert check_placeholders(decoded, text, len(attachments)) is None
    # compared as text: an integer beyond 64 bits decodes to an ExactNumber,
    # which prints every digit but is not == to the int
    expected = dumps(_as_base64(event))
    assert dumps(_as_base64(with_bytes(decoded, attachments))) == expected
    assert dumps(loads_exact(fill_placeholders(text, attachments))) == expected
