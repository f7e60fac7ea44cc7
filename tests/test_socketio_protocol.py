"""The sans-I/O Socket.IO session protocol, fed values: no socket, no event loop, no clock."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.targets import undialled_target
from wstail.frames import Frame
from wstail.sources.socketio.codec import Event, Open, decode_packet
from wstail.sources.socketio.protocol import SioProtocol, eio3_ping_interval, patience
from wstail.sources.socketio.session import (
    HandshakeFailed,
    Refused,
    SessionDropped,
    SioTarget,
)

EIO3_OPEN = '0{"sid":"s3","upgrades":[],"pingInterval":25000,"pingTimeout":60000}'
EIO4_OPEN = '0{"sid":"s4","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000}'
EIO4_OPEN_OLD = '0{"sid":"s4","upgrades":[],"pingInterval":300,"pingTimeout":200}'
EVENT = '42/public,["stream",{"price":1.50}]'


def target(namespace: str = "/public", *channels: str, ping: float | None = None) -> SioTarget:
    """A target for `namespace` with `channels`; nothing is ever dialled."""
    return undialled_target(namespace, channels=channels, ping_interval=ping)


def opened(dialect: str, *handshake: str) -> SioProtocol:
    """A protocol for /public that took the `handshake` messages and is open (sent all)."""
    protocol = SioProtocol(target("/public"), dialect)
    for message in handshake:
        protocol.receive_handshake(message)
    assert protocol.is_open
    protocol.take_outgoing()
    return protocol


def test_eio3_handshake_joins_and_emits_channels() -> None:
    """EIO3: the open packet, `40/ns`, its bare ack, then one `channel` event per channel."""
    protocol = SioProtocol(target("/user", "c1", "c2"), "eio3")
    protocol.receive_handshake(EIO3_OPEN)
    assert protocol.take_outgoing() == ["40/user"]
    assert not protocol.is_open
    protocol.receive_handshake("40")  # the root namespace's ack: not ours
    protocol.receive_handshake("40/user")
    assert protocol.is_open and protocol.protocol == "eio3"
    assert protocol.take_outgoing() == ['42/user,["channel","c1"]', '42/user,["channel","c2"]']


def test_eio3_root_namespace_needs_no_join() -> None:
    """socket.io 1.x/2.x join "/" by themselves: open right after the open packet."""
    protocol = SioProtocol(target("/"), "eio3")
    protocol.receive_handshake(EIO3_OPEN)
    assert protocol.is_open
    assert protocol.take_outgoing() == []


def test_eio4_handshake_joins_as_v5_and_answers_pings() -> None:
    """EIO4: `40/ns,`, a ping before the ack is answered, the ack carries a sid."""
    protocol = SioProtocol(target("/public"), "eio4")
    protocol.receive_handshake(EIO4_OPEN)
    assert protocol.take_outgoing() == ["40/public,"]
    protocol.receive_handshake("2")
    assert protocol.take_outgoing() == ["3"]
    protocol.receive_handshake('40/public,{"sid":"x"}')
    assert protocol.is_open and protocol.protocol == "eio4"


def test_eio4_refuses_a_socketio_2_server() -> None:
    """`--eio 4` against socket.io 1.x/2.x (no maxPayload, bare ack) is refused for good."""
    protocol = SioProtocol(target("/public"), "eio4")
    protocol.receive_handshake(EIO4_OPEN_OLD)
    with pytest.raises(Refused, match=r"speaks Socket\.IO 1\.x/2\.x"):
        protocol.receive_handshake("40/public")


@pytest.mark.parametrize(
    ("open_packet", "join", "ack", "dialect"),
    [
        (EIO4_OPEN, "40/public,", '40/public,{"sid":"x"}', "eio4"),
        (EIO4_OPEN_OLD, "40/public", '40/public,{"sid":"x"}', "eio4"),
        (EIO4_OPEN_OLD, "40/public", "40/public", "eio3"),
    ],
    ids=["maxPayload", "v5-ack", "bare-ack"],
)
def test_auto_tells_the_dialect(open_packet: str, join: str, ack: str, dialect: str) -> None:
    """`auto`: maxPayload or an ack with a sid is EIO4, a bare ack EIO3; channels only after."""
    protocol = SioProtocol(target("/public", "c"), "auto")
    assert protocol.protocol is None
    protocol.receive_handshake(open_packet)
    assert protocol.take_outgoing() == [join]
    protocol.receive_handshake(ack)
    assert protocol.protocol == dialect
    assert protocol.take_outgoing() == ['42/public,["channel","c"]']


def test_auto_on_the_root_namespace_takes_socketio_2s_own_join() -> None:
    """`auto` on `/`: socket.io 1.x/2.x's unasked `40` is the join (asking would open a second
    socket on `/` there, and every event would come twice)."""
    protocol = SioProtocol(target("/", "c"), "auto")
    protocol.receive_handshake(EIO4_OPEN_OLD)
    assert protocol.take_outgoing() == []
    assert protocol.join_grace is not None
    protocol.receive_handshake("40")
    assert protocol.is_open and protocol.protocol == "eio3"
    assert protocol.join_grace is None
    assert protocol.take_outgoing() == ['42["channel","c"]']


def test_auto_on_the_root_namespace_asks_a_v5_server_after_the_grace() -> None:
    """A v5 server without maxPayload never joins unasked: once the grace is over, `40`."""
    protocol = SioProtocol(target("/"), "auto")
    protocol.receive_handshake(EIO4_OPEN_OLD)
    protocol.join_now()
    assert protocol.take_outgoing() == ["40"]
    protocol.receive_handshake('40{"sid":"x"}')
    assert protocol.is_open and protocol.protocol == "eio4"
    protocol.join_now()  # too late: nothing more is asked
    assert protocol.take_outgoing() == []


def test_auto_with_max_payload_on_the_root_namespace_asks_at_once() -> None:
    """An open packet with maxPayload is Engine.IO 4: `/` is asked for at once, no grace."""
    protocol = SioProtocol(target("/"), "auto")
    protocol.receive_handshake(EIO4_OPEN)
    assert protocol.take_outgoing() == ["40"]
    assert protocol.join_grace is None


@pytest.mark.parametrize(
    ("message", "error", "reason"),
    [
        ('44/public,"Invalid namespace"', Refused, "namespace /public refused: Invalid namespace"),
        ("1", HandshakeFailed, "the server closed the session during the handshake"),
        ("41/public", HandshakeFailed, "the server disconnected /public at once"),
    ],
)
def test_join_failures(message: str, error: type[Exception], reason: str) -> None:
    """A refused namespace is Refused; a close or disconnect during the join is worth a retry."""
    protocol = SioProtocol(target("/public"), "eio3")
    protocol.receive_handshake(EIO3_OPEN)
    with pytest.raises(error) as caught:
        protocol.receive_handshake(message)
    assert str(caught.value) == reason


@pytest.mark.parametrize("first", ["40", "2", b"\x00binary", "0{}"])
def test_open_packet_must_come_first(first: str | bytes) -> None:
    """Anything but a valid open packet first fails the handshake."""
    protocol = SioProtocol(target(), "auto")
    with pytest.raises(HandshakeFailed, match="did not open an Engine.IO session"):
        protocol.receive_handshake(first)


def test_events_of_the_namespace_become_frames() -> None:
    """An event of our namespace is a `sio` frame with its array's text as received."""
    protocol = opened("eio3", EIO3_OPEN, "40/public")
    frame = protocol.receive(EVENT.encode(), 1.0, 123)
    assert isinstance(frame, Frame)
    assert (frame.kind, frame.channel, frame.payload, frame.recv_us) == (
        "sio",
        "/public",
        '["stream",{"price":1.50}]',
        123,
    )
    assert protocol.receive(b'42/user,["x"]', 1.0, 1) is None  # another namespace
    assert protocol.receive(b"6", 1.0, 1) is None
    assert protocol.outgoing == []


_HEADS = ["42/public,", "42/public,7", "42/user,", "42", "43/public,", "42/public?x=1,", "4"]
_BODIES = st.one_of(
    st.sampled_from(
        [
            '["stream",{"price":1.50}]',
            '["stream",{"n":123456789012345678901234567890}]',
            '["x"]',
            "[1]",
            "[]",
            "{}",
            "[oops",
            "[" * 2000 + "]" * 2000,
            '["stream",' + "[" * 1100 + "]" * 1100 + "]",
            '["caf\u00e9","\ud800"]',
            '["stream"] trailing',
        ]
    ),
    st.from_regex(r"\[\"[a-z]{0,3}\"(,[0-9\[\]{}\":a-z]{0,12})?\]", fullmatch=True),
    st.text(max_size=12),
)


@settings(max_examples=300, deadline=None)
@given(head=st.sampled_from(_HEADS), body=_BODIES, dialect=st.sampled_from(["eio3", "eio4"]))
def test_an_event_is_read_as_the_codec_reads_it(head: str, body: str, dialect: str) -> None:
    """The protocol's short way for `42/public,[...]` gives what the codec's packet says."""
    handshake = (
        (EIO3_OPEN, "40/public") if dialect == "eio3" else (EIO4_OPEN, '40/public,{"sid":"x"}')
    )
    data = head + body
    packet = decode_packet(data)
    try:
        frame = opened(dialect, *handshake).receive(data, 1.0, 7)
    except SessionDropped:
        assert type(packet) is not Event
        return
    if type(packet) is Event and packet.namespace == "/public":
        assert frame == Frame(recv_us=7, kind="sio", channel="/public", payload=packet.payload)
    else:
        assert frame is None or frame.kind == "meta"


@pytest.mark.parametrize(
    ("raw", "reason", "shown"),
    [
        (b"\xff\xfe", "invalid UTF-8", "\\xff\\xfe"),
        (b"9", "unknown Engine.IO packet type '9'", "9"),
        (b"42/public,[oops", "Socket.IO packet data is not valid JSON", "42/public,[oops"),
        (EIO3_OPEN.encode(), "unexpected open packet", EIO3_OPEN),
    ],
)
@pytest.mark.parametrize("dialect", ["eio3", "eio4"])
def test_bad_frames(dialect: str, raw: bytes, reason: str, shown: str) -> None:
    """What cannot be read is a meta.bad_frame with a reason and the packet; the session goes on."""
    handshake = (
        (EIO3_OPEN, "40/public") if dialect == "eio3" else (EIO4_OPEN, '40/public,{"sid":"x"}')
    )
    protocol = opened(dialect, *handshake)
    frame = protocol.receive(raw, 1.0, 7)
    assert frame is not None and frame.kind == "meta" and frame.payload == "meta.bad_frame"
    assert frame.data == {"reason": reason, "frame": shown}


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (b"41/public", "the server ended the namespace /public"),
        (b'44/public,{"message":"boom"}', "server error on /public: boom"),
        (b"1", "the server closed the Engine.IO session"),
    ],
)
def test_the_server_ends_the_session(message: bytes, reason: str) -> None:
    """A disconnect, an error of our namespace or an Engine.IO close drop the session."""
    protocol = opened("eio4", EIO4_OPEN, '40/public,{"sid":"x"}')
    with pytest.raises(SessionDropped) as caught:
        protocol.receive(message, 1.0, 1)
    assert str(caught.value) == reason


def test_eio3_heartbeat_pings_and_gives_up_on_a_missing_pong() -> None:
    """EIO3: a ping every interval; unanswered for two intervals, the server is given up."""
    protocol = SioProtocol(target("/", ping=1.0), "eio3")
    protocol.receive_handshake(EIO3_OPEN)
    protocol.start_heartbeat(100.0)
    assert protocol.next_deadline() == 101.0
    assert protocol.on_deadline(101.0) is None
    assert protocol.take_outgoing() == ["2"]
    assert protocol.next_deadline() == 102.0
    protocol.receive(b"3", 101.5, 1)  # the pong
    assert protocol.on_deadline(102.0) is None
    assert protocol.take_outgoing() == ["2"]
    assert protocol.on_deadline(103.0) is None  # one more ping, the first still unanswered
    assert protocol.take_outgoing() == ["2"]
    assert protocol.next_deadline() == 104.0
    assert protocol.on_deadline(104.0) == "no pong from the server for 2 s"
    assert protocol.take_outgoing() == []


def test_eio3_ping_interval_rules() -> None:
    """`--ping-interval` wins over the server's pingInterval; a floor against 0."""
    assert eio3_ping_interval(Open("s", 25000, 60000), None) == 25.0
    assert eio3_ping_interval(Open("s", 25000, 60000), 2.0) == 2.0
    assert eio3_ping_interval(Open("s", 1, 60000), None) == 0.05


def test_eio4_heartbeat_answers_pings_and_gives_up_on_silence() -> None:
    """EIO4: the server pings and the client pongs; silence past interval + timeout ends it."""
    protocol = opened("eio4", EIO4_OPEN, '40/public,{"sid":"x"}')
    protocol.start_heartbeat(10.0)
    assert protocol.next_deadline() == 10.5
    assert protocol.receive(b"2", 10.2, 1) is None
    assert protocol.take_outgoing() == ["3"]
    assert protocol.on_deadline(10.5) is None  # a packet came at 10.2
    assert protocol.next_deadline() == pytest.approx(10.7)
    assert protocol.on_deadline(10.7) == "no packet from the server for 0.5 s"
    assert patience(Open("s", 300, 200)) == 0.5
