"""The Engine.IO 3 / Socket.IO packet codec: tables of real packets and properties."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wstail.jsonexact import dumps
from wstail.sources.socketio import codec as eio3
from wstail.sources.socketio.codec import (
    Ack,
    BadPacket,
    BinaryPacket,
    Close,
    Connect,
    Disconnect,
    Event,
    NamespaceError,
    Noop,
    Open,
    Ping,
    Pong,
    Upgrade,
    decode_packet,
)

# Packets as captured from the live server and the reference peers.
DECODED: list[tuple[str | bytes, eio3.Packet]] = [
    (
        '0{"sid":"a1","upgrades":[],"pingInterval":10000,"pingTimeout":86400000}',
        Open("a1", 10000, 86400000),
    ),
    (
        '0{"sid":"b","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,'
        '"maxPayload":1000000}',
        Open("b", 25000, 20000, ("websocket",), 1000000),
    ),
    ("1", Close()),
    ("2", Ping()),
    ("2probe", Ping("probe")),
    ("3", Pong()),
    ("3probe", Pong("probe")),
    ("5", Upgrade()),
    ("6", Noop()),
    ("40", Connect("/")),
    ("40/public", Connect("/public")),
    ("40/public,", Connect("/public")),
    ("40/public?token=x,", Connect("/public", "token=x")),
    ('40/public,{"sid":"Zx1"}', Connect("/public", "", '{"sid":"Zx1"}')),
    ('40{"sid":"Zx1"}', Connect("/", "", '{"sid":"Zx1"}')),
    ("41/public", Disconnect("/public")),
    ("41/public,", Disconnect("/public")),
    ("41", Disconnect("/")),
    (
        '42/public,["stream",{"asks":[{"amount":"0.05245168","price":"76360.74"}]}]',
        Event(
            "/public", "stream", '["stream",{"asks":[{"amount":"0.05245168","price":"76360.74"}]}]'
        ),
    ),
    (
        '42/public,["stream",{"price":1234567890.123456789}]',
        Event("/public", "stream", '["stream",{"price":1234567890.123456789}]'),
    ),
    ('42/public,17["stream",{}]', Event("/public", "stream", '["stream",{}]', 17)),
    ('42["announcement",[]]', Event("/", "announcement", '["announcement",[]]')),
    ('423["x"]', Event("/", "x", '["x"]', 3)),
    ('42/public, ["spaced" , 1] ', Event("/public", "spaced", ' ["spaced" , 1] ')),
    ('43/user,5["ok"]', Ack("/user", 5, '["ok"]')),
    ('44/nope,"Invalid namespace"', NamespaceError("/nope", "Invalid namespace")),
    ('44/user,{"message":"Not authorized"}', NamespaceError("/user", "Not authorized")),
    ('44/user,{"message":"x","data":{"a":1}}', NamespaceError("/user", "x")),
    ("44/user,not json", NamespaceError("/user", "not json")),
    (
        '451-["x",{"_placeholder":true,"num":0}]',
        BinaryPacket("/", '["x",{"_placeholder":true,"num":0}]', 1),
    ),
    (
        '452-/public,7["stream",{"a":[{"num":1,"_placeholder":true}],"b":{"_placeholder":true,"num":0}}]',
        BinaryPacket(
            "/public",
            '["stream",{"a":[{"num":1,"_placeholder":true}],"b":{"_placeholder":true,"num":0}}]',
            2,
            7,
        ),
    ),
    (
        '451-/public,["stream", { "_placeholder" : true , "num" : 0 } ]',
        BinaryPacket("/public", '["stream", { "_placeholder" : true , "num" : 0 } ]', 1),
    ),
    (  # python-socketio's and socket.io's spelling of a zero-attachment event
        '450-/public,["stream",{"a":1}]',
        BinaryPacket("/public", '["stream",{"a":1}]', 0),
    ),
    (
        '461-/user,5[{"_placeholder":true,"num":0}]',
        BinaryPacket("/user", '[{"_placeholder":true,"num":0}]', 1, 5, ack=True),
    ),
]

# Binary events whose placeholders are unusable: the packet says why (its
# attachments are still to come and to be dropped).
BAD_PLACEHOLDERS = [
    ('451-["x",{"_placeholder":true,"num":1}]', "attachment placeholder 1 out of range"),
    ('451-["x",{"_placeholder":true,"num":-1}]', "attachment placeholder -1 out of range"),
    ('451-["x",{"_placeholder":true,"num":"0"}]', "attachment placeholder '0' out of range"),
    ('451-["x",{"_placeholder":true,"num":0.0}]', "attachment placeholder 0.0 out of range"),
    ('451-["x",{"_placeholder":true}]', "bad attachment placeholder"),
    ('451-["x",{"_placeholder":false,"num":0}]', "bad attachment placeholder"),
    ('451-["x",{"_placeholder":true,"num":0,"more":1}]', "bad attachment placeholder"),
    ('451-["x",{"\\u005fplaceholder":true,"num":0}]', "written in an unusual way"),
    ('450-["x",{"_placeholder":true,"num":0}]', "attachment placeholder 0 out of range"),
    ('451-[{"_placeholder":true,"num":0}]', "event data is not a JSON array starting"),
    ('451-/public,{"a":1}', "event data is not a JSON array starting"),
    ('461-/user,5{"a":1}', "ack data is not a JSON array"),
]

BAD: list[str | bytes] = [
    "",
    "9",
    "x",
    "4",
    "47",
    "4x",
    "0",
    "0{broken",
    "0[]",
    '0{"sid":1,"pingInterval":1,"pingTimeout":1}',
    '0{"sid":"a","pingInterval":0,"pingTimeout":1}',
    '0{"sid":"a","pingInterval":true,"pingTimeout":1}',
    '0{"sid":"a","pingInterval":1}',
    '0{"sid":"a","pingInterval":1,"pingTimeout":1,"upgrades":"websocket"}',
    "42/public,[garbage",
    "42/public,",
    '42/public,{"a":1}',
    "42/public,[]",
    "42/public,[1]",
    "42/public,[NaN]",
    '42/public,["x",Infinity]',
    '42/public,123456789012345678901["x"]',
    '43/user,5{"a":1}',
    "45",
    '45-["x"]',
    '451["x"]',
    '45x-["x"]',
    '451234567890-["x"]',
    "451-/public,[garbage",
    "b4AAEC",
    b"\x04\x00\x01",
    b"",
    "42/public," + "[" * 100_000,
]


@pytest.mark.parametrize(("text", "packet"), DECODED)
def test_decode_known_packets(text: str | bytes, packet: eio3.Packet) -> None:
    """Every captured packet decodes to its value."""
    assert decode_packet(text) == packet


@pytest.mark.parametrize("text", BAD, ids=lambda t: repr(t)[:40])
def test_decode_garbage_is_a_bad_packet(text: str | bytes) -> None:
    """Garbage gives a BadPacket with a reason, never an exception."""
    packet = decode_packet(text)
    assert isinstance(packet, BadPacket)
    assert packet.reason


@pytest.mark.parametrize(("text", "reason"), BAD_PLACEHOLDERS)
def test_binary_events_with_bad_placeholders_say_why(text: str, reason: str) -> None:
    """A binary event whose placeholders cannot be filled is a BinaryPacket with a problem."""
    packet = decode_packet(text)
    assert isinstance(packet, BinaryPacket)
    assert reason in packet.problem


def test_binary_frames_out_of_a_session_are_bad_packets() -> None:
    """A binary frame or base64 packet given to the text codec is reported, never raised."""
    for data in (b"\x04abc", "b4AAEC"):
        packet = decode_packet(data)
        assert isinstance(packet, BadPacket) and "unexpected" in packet.reason


def test_event_payload_is_the_text_as_received() -> None:
    """An event's payload is the wire text itself, not a re-serialization."""
    wire = '42/public,["stream",{"price": 77792.10, "b":1e400,"c":"\\u00e9"}]'
    packet = decode_packet(wire)
    assert isinstance(packet, Event)
    assert packet.payload == '["stream",{"price": 77792.10, "b":1e400,"c":"\\u00e9"}]'


def test_connect_ack_socket_id() -> None:
    """A v5 ack carries a socket id; a socket.io 1.x/2.x ack carries none."""
    assert Connect("/public", "", '{"sid":"abc"}').sid == "abc"
    assert Connect("/public").sid is None
    assert Connect("/public", "", "[1]").sid is None


ENCODED: list[tuple[str, str]] = [
    (eio3.encode_ping(), "2"),
    (eio3.encode_ping(probe=True), "2probe"),
    (eio3.encode_pong(), "3"),
    (eio3.encode_pong("probe"), "3probe"),
    (eio3.encode_close(), "1"),
    (eio3.encode_connect("/public"), "40/public"),
    (eio3.encode_connect("/user"), "40/user"),
    (eio3.encode_connect("/"), "40"),
    (eio3.encode_connect("/public", "a=1"), "40/public?a=1"),
    (eio3.encode_connect("/public", v5=True), "40/public,"),
    (eio3.encode_connect("/", v5=True), "40"),
    (eio3.encode_event("/user", "channel", "c0ffee"), '42/user,["channel","c0ffee"]'),
    (eio3.encode_event("/", "x", 1, None, ack_id=4), '424["x",1,null]'),
    (eio3.encode_packet(Disconnect("/public")), "41/public"),
    (
        eio3.encode_packet(NamespaceError("/nope", "Invalid namespace")),
        '44/nope,"Invalid namespace"',
    ),
]


@pytest.mark.parametrize(("encoded", "expected"), ENCODED)
def test_encode_client_packets(encoded: str, expected: str) -> None:
    """The encoders write what socket.io 1.x servers (and, v5, socket.io 3+ servers) read."""
    assert encoded == expected


def test_bad_packet_cannot_be_encoded() -> None:
    """Encoding a BadPacket is a programming error."""
    with pytest.raises(ValueError):
        eio3.encode_packet(BadPacket("nope"))


# --- properties -----------------------------------------------------------------

_text = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=30)
_namespaces = st.from_regex(r"/[a-z0-9_\-]{0,12}", fullmatch=True)
_queries = st.from_regex(r"[a-z0-9=&]{0,10}", fullmatch=True)
_json: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=12,
)
_ack_ids = st.none() | st.integers(min_value=0, max_value=10**15)


@given(st.text())
def test_decode_never_raises_on_text(text: str) -> None:
    """Arbitrary text decodes to some packet value."""
    assert decode_packet(text) is not None


@given(
    st.sampled_from(["0", "2", "3", "4", "40", "42", "42/public,", "44/x,", "43/u,1"]), st.text()
)
def test_decode_never_raises_on_near_misses(prefix: str, text: str) -> None:
    """Text behind real packet prefixes decodes to some packet value."""
    assert decode_packet(prefix + text) is not None


@given(st.binary())
def test_decode_never_raises_on_bytes(data: bytes) -> None:
    """Binary frames are bad packets, never exceptions."""
    assert isinstance(decode_packet(data), BadPacket)


@given(_namespaces, _text, st.lists(_json, max_size=4), _ack_ids)
def test_event_round_trip(namespace: str, name: str, args: list[Any], ack_id: int | None) -> None:
    """encode_event then decode gives the same namespace, name, ack id and JSON text."""
    wire = eio3.encode_event(namespace, name, *args, ack_id=ack_id)
    packet = decode_packet(wire)
    assert packet == Event(namespace, name, dumps([name, *args]).decode(), ack_id)


_packets: st.SearchStrategy[eio3.Packet] = st.one_of(
    st.builds(
        Open,
        _text,
        st.integers(1, 2**40),
        st.integers(0, 2**40),
        st.lists(st.sampled_from(["websocket", "polling"]), max_size=2).map(tuple),
        st.none() | st.integers(0, 2**40),
    ),
    st.just(Close()),
    st.just(Upgrade()),
    st.just(Noop()),
    st.builds(Ping, st.sampled_from(["", "probe"])),
    st.builds(Pong, st.sampled_from(["", "probe"])),
    st.builds(
        Connect,
        _namespaces,
        _queries,
        st.sampled_from(["", '{"sid":"a"}', "{}"]),
    ),
    st.builds(Disconnect, _namespaces),
    st.builds(
        lambda ns, name, args, ack: Event(ns, name, dumps([name, *args]).decode(), ack),
        _namespaces,
        _text,
        st.lists(_json, max_size=3),
        _ack_ids,
    ),
    st.builds(
        lambda ns, ack, args: Ack(ns, ack, dumps(args).decode()),
        _namespaces,
        _ack_ids,
        st.lists(_json, max_size=3),
    ),
    st.builds(NamespaceError, _namespaces, _text),
    st.builds(
        lambda ns, ack, count, ack_id: BinaryPacket(
            ns,
            dumps(["stream", *({"_placeholder": True, "num": n} for n in range(count))]).decode(),
            count,
            ack_id,
            ack,
        ),
        _namespaces,
        st.booleans(),
        st.integers(0, 5),
        _ack_ids,
    ),
)


@given(_packets)
def test_packet_round_trip(packet: eio3.Packet) -> None:
    """decode_packet(encode_packet(p)) == p for every packet kind."""
    assert decode_packet(eio3.encode_packet(packet)) == packet
