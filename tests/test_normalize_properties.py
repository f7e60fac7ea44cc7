"""Normalizer properties: never raises, always serializable, never changes a number."""

from __future__ import annotations

import html
import json
import re
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from helpers.targets import undialled_target
from wstail.envelope import make_envelope, serialize
from wstail.frames import Frame
from wstail.jsonexact import ExactNumber, dumps, loads_exact
from wstail.normalize import INTERNAL_ERROR, normalize_frame
from wstail.normalize.node import NUMERIC_FIELDS as NODE_NUMERIC
from wstail.normalize.paymium import NUMERIC_FIELDS as PAYMIUM_NUMERIC

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

PAYMIUM_KEYS = [
    "ticker",
    "trades",
    "bids",
    "asks",
    "prices",
    "orders",
    "balance_eur",
    "locked_btc",
    "balance_",
    "event",
    "payload",
    "foo",
]
NODE_KEYS = [
    "walletUpdate",
    "wallet",
    "notification",
    "message",
    "messageTyping",
    "messageRead",
    "status",
    "id",
    "peerId",
    "peerID",
    "profile",
    "error",
    "ratingId",
    "rating",
    "type",
    "currency",
    "code",
]
FIELD_NAMES = sorted(PAYMIUM_NUMERIC | NODE_NUMERIC) + [
    "trading",
    "read",
    "updated_at",
    "created_at",
    "type",
    "currency",
    "code",
    "peerID",
]

# Decimal strings of JSON's number grammar, long ones and huge exponents included.
DECIMALS = st.from_regex(
    r"-?(0|[1-9][0-9]{0,40})(\.[0-9]{1,40})?([eE][-+]?[0-9]{1,4})?", fullmatch=True
)

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**90), max_value=2**90)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | DECIMALS
    | st.sampled_from(
        ["true", "false", "&amp;", "a&lt;b", "2019-02-12T13:23:43-05:00", "1790139583", "0"]
    )
)
KEYS = st.sampled_from(PAYMIUM_KEYS + NODE_KEYS + FIELD_NAMES) | st.text(max_size=6)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=5),
    max_leaves=30,
)


def check_items(items: list[Any], meta: bool = False) -> None:
    """Every item is well formed and its envelope serializes.

    A meta frame's name is passed through unchanged, so it may be any string.
    """
    assert items, "a frame always gives at least one item"
    for item in items:
        source, event, event_us, data = item
        assert isinstance(source, str) and isinstance(event, str) and (event or meta)
        assert event_us is None or (type(event_us) is int and event_us > 0)
        assert isinstance(data, dict)
        if event == "meta.bad_frame":  # a meta frame of that name passes with its own data
            assert data.get("reason") != INTERNAL_ERROR
        serialize(make_envelope(1, 1_790_139_583_000_000, source, event, event_us, data))


def sio(payload: str, channel: str = "/public") -> Frame:
    """A Socket.IO frame."""
    return Frame(recv_us=1, kind="sio", payload=payload, channel=channel)


def node(payload: str | bytes, kind: str = "text") -> Frame:
    """A node frame."""
    return Frame(recv_us=1, kind=kind, payload=payload)


@SETTINGS
@given(JSON_VALUES, st.sampled_from(["stream", "announcement", "other"]), st.booleans())
def test_sio_never_raises(value: Any, name: str, on_user: bool) -> None:
    """Any JSON value as the argument of any Socket.IO event gives well-formed items."""
    payload = json.dumps([name, value])
    check_items(normalize_frame(sio(payload, "/user" if on_user else "/public"), "x"))


@SETTINGS
@given(st.dictionaries(st.sampled_from(PAYMIUM_KEYS) | KEYS, JSON_VALUES, max_size=6))
def test_paymium_messages_never_raise(message: dict[str, Any]) -> None:
    """Any object with Paymium's keys holding any values gives well-formed items."""
    check_items(normalize_frame(sio(json.dumps(["stream", message])), "x"))


@SETTINGS
@given(st.sampled_from(list(PAYMIUM_KEYS[:6])), st.lists(JSON_VALUES, max_size=3))
def test_paymium_2015_never_raises(event: str, payloads: list[Any]) -> None:
    """The 2015 shape with any payload, raw or JSON-serialized, gives well-formed items."""
    for payload in payloads:
        for sent in (payload, json.dumps(payload)):
            frame = sio(json.dumps(["stream", {"event": event, "payload": sent}]))
            check_items(normalize_frame(frame, "x"))


@SETTINGS
@given(JSON_VALUES)
def test_node_never_raises(value: Any) -> None:
    """Any JSON value as a node frame, pretty-printed, gives well-formed items."""
    check_items(normalize_frame(node(json.dumps(value, indent=2)), "node"))


@SETTINGS
@given(st.dictionaries(st.sampled_from(NODE_KEYS), JSON_VALUES, min_size=1, max_size=3))
def test_node_messages_never_raise(message: dict[str, Any]) -> None:
    """Any object with node keys holding any values gives well-formed items."""
    check_items(normalize_frame(node(json.dumps(message, indent=4)), "node"))


@SETTINGS
@given(st.text(), st.sampled_from(["sio", "text", "binary", "meta"]))
def test_any_text_never_raises(payload: str, kind: str) -> None:
    """Arbitrary text as any kind of frame gives well-formed items."""
    frame = Frame(recv_us=1, kind=kind, payload=payload, channel="/public")
    check_items(normalize_frame(frame, "node"), meta=kind == "meta")


@SETTINGS
@given(st.binary(), st.sampled_from(["sio", "text", "binary"]))
def test_any_bytes_never_raise(payload: bytes, kind: str) -> None:
    """Arbitrary bytes as any kind of frame gives well-formed items."""
    frame = Frame(recv_us=1, kind=kind, payload=payload, channel="/user")
    check_items(normalize_frame(frame, "node"))


@SETTINGS
@given(
    st.text(alphabet='[]{}",:0123456789.eE-+ntrufalsN\\ud8', max_size=40),
    st.sampled_from(["sio", "text"]),
)
def test_json_like_noise_never_raises(payload: str, kind: str) -> None:
    """Text made of JSON's own characters, valid or not, gives well-formed items."""
    frame = Frame(recv_us=1, kind=kind, payload=payload, channel="/public")
    check_items(normalize_frame(frame, "node"))


def test_deep_nesting_never_raises() -> None:
    """Nesting beyond what an envelope can hold is a bad frame, at any depth."""
    for depth in (250, 253, 260, 1023, 1024, 1025, 5000):
        nested = "[" * depth + "1.00000000000000001" + "]" * depth
        for frame in (sio(f'["stream",{nested}]'), node(nested), node('{"a":' + nested + "}")):
            check_items(normalize_frame(frame, "node"))


@SETTINGS
@given(st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=3))
def test_raw_surrogates_never_raise(surrogates: str) -> None:
    """A str frame holding raw lone surrogates is a bad frame whose text still serializes."""
    for payload in (
        '["stream",{"a":"' + surrogates + '"},1.00000000000000001]',
        '{"status":"' + surrogates + '","n":1.00000000000000001}',
    ):
        for frame in (sio(payload), node(payload)):
            items = normalize_frame(frame, "node")
            check_items(items)
            assert [event for _, event, _, _ in items] == ["meta.bad_frame"]


def test_huge_integer_text() -> None:
    """Integers longer than int() accepts are kept (a bad frame if the JSON itself holds one)."""
    digits = "7" * 5000
    [(_, event, _, data)] = normalize_frame(sio('["stream",{"balance_eur":"' + digits + '"}]'), "")
    assert (
        event == "balance"
        and dumps(data) == b'{"balance":' + digits.encode() + b',"currency":"EUR","trading":false}'
    )
    check_items(normalize_frame(node('{"value":' + digits + "}"), "node"))


def same_number(value: Any, original: str) -> bool:
    """The number has the decimal value of the original string and its kind: an integer for
    an integer (an int, or an ExactNumber of more digits than int() takes), else a float
    (or an ExactNumber), and is written so ("12" is 12, never 12.0; "1.0" is 1.0)."""
    serialized = dumps(value).decode()
    integer = _is_integer(original)
    if type(value) is int:
        kind_kept = integer
    elif type(value) is float:
        kind_kept = not integer
    elif type(value) is ExactNumber:
        kind_kept = _is_integer(value.text) == integer
    else:
        return False
    return (
        kind_kept
        and _is_integer(serialized) == integer
        and (Decimal(serialized) == Decimal(original))
    )


def _is_integer(text: str) -> bool:
    """Whether a JSON number's text is an integer's (no fraction, no exponent)."""
    return not set(text) & set(".eE")


@SETTINGS
@given(DECIMALS, st.sampled_from(sorted(PAYMIUM_NUMERIC)))
def test_paymium_decimal_strings_keep_their_value(text: str, field: str) -> None:
    """A decimal string in a Paymium numeric field becomes a number of the same value."""
    frame = sio(json.dumps(["stream", {"trades": [{field: text, "currency": "EUR"}]}]))
    [(_, event, _, data)] = normalize_frame(frame, "x")
    assert event == "trade"
    assert isinstance(data[field], (int, float)) and not isinstance(data[field], bool)
    assert same_number(data[field], text)


@SETTINGS
@given(DECIMALS)
def test_paymium_balances_keep_their_value(text: str) -> None:
    """A balance_* decimal string becomes a number of the same value."""
    frame = sio(json.dumps(["stream", {"locked_eur": text}]), "/user")
    [(_, _, _, data)] = normalize_frame(frame, "x")
    assert same_number(data["balance"], text)


@SETTINGS
@given(DECIMALS, st.sampled_from(sorted(NODE_NUMERIC)))
def test_node_decimal_strings_keep_their_value(text: str, field: str) -> None:
    """A decimal string in a nested node numeric field becomes a number of the same value."""
    message = {"notification": {"type": "order", "price": {field: text}}}
    [(_, _, _, data)] = normalize_frame(node(json.dumps(message, indent=4)), "node")
    assert same_number(data["price"][field], text)


@SETTINGS
@given(DECIMALS)
def test_json_numbers_keep_their_value(text: str) -> None:
    """A number that arrives as a JSON number is written back with the same value."""
    frame = sio('["stream",{"trades":[{"price":' + text + ',"note":' + text + "}]}]")
    [(_, _, _, data)] = normalize_frame(frame, "x")
    assert same_number(data["price"], text)
    assert same_number(data["note"], text)
    [(_, _, _, unknown)] = normalize_frame(node('{"x": ' + text + "}"), "node")
    assert same_number(unknown["x"], text)


@SETTINGS
@given(st.text(max_size=30))
def test_node_strings_are_unescaped(original: str) -> None:
    """Any string the node HTML-escapes comes back as it was written."""
    escaped = html.escape(original, quote=True)
    message = {"message": {"message": escaped, "subject": [escaped], "peerId": "Qm"}}
    [(_, event, _, data)] = normalize_frame(node(json.dumps(message, indent=4)), "node")
    assert event == "chat.message"
    assert data["message"] == html.unescape(escaped) == original
    assert data["subject"] == [original]


@SETTINGS
@given(
    st.lists(st.sampled_from(["ticker", "trades", "asks", "balance_eur", "x", "y"]), unique=True)
)
def test_items_follow_key_order(keys: list[str]) -> None:
    """Items come out in the order of the frame's keys."""
    values = {
        "ticker": {"price": "1"},
        "trades": [{"price": "1"}],
        "asks": [{"price": "1"}],
        "balance_eur": "1",
        "x": 1,
        "y": 2,
    }
    names = {"ticker": "ticker", "trades": "trade", "asks": "depth", "balance_eur": "balance"}
    frame = sio(json.dumps(["stream", {key: values[key] for key in keys}]), "/user")
    events = [event for _, event, _, _ in normalize_frame(frame, "x")]
    assert events == ([names.get(key, "unknown") for key in keys] or ["unknown"])


@SETTINGS
@given(st.dictionaries(st.text(max_size=6), JSON_VALUES, min_size=1, max_size=4))
def test_unknown_node_data_is_the_frame_as_received(message: dict[str, Any]) -> None:
    """An unknown node message is kept exactly as decoded: no conversion, no renaming."""
    text = json.dumps({"unrecognised key": message}, indent=2)
    [(_, event, _, data)] = normalize_frame(node(text), "node")
    assert event == "unknown"
    assert dumps(data) == dumps(loads_exact(text))


# -- the node fast way ---------------------------------------------------------

RAW_NUMBER = "\x00raw\x00"  # a leaf that becomes a bare number token in the text
# Floats whose digits a double cannot hold: what the exactness check is for.
RISKY_FLOATS = st.from_regex(r"-?[1-9][0-9]{0,3}\.[0-9]{16,30}", fullmatch=True)


def raw_leaves(draw: st.DrawFn, value: Any) -> tuple[Any, list[str]]:
    """The value with some leaves marked, and the number texts to put there."""
    numbers: list[str] = []

    def mark(node: Any) -> Any:
        if isinstance(node, dict):
            return {key: mark(item) for key, item in node.items()}
        if isinstance(node, list):
            return [mark(item) for item in node]
        if draw(st.booleans()):
            numbers.append(draw(DECIMALS | RISKY_FLOATS))
            return RAW_NUMBER
        return node

    return mark(value), numbers


@st.composite
def node_texts(draw: st.DrawFn) -> str:
    """Node frames of every shape, numbers written with any number of digits."""
    message = draw(
        st.dictionaries(st.sampled_from(NODE_KEYS), JSON_VALUES, min_size=1, max_size=3)
        | st.builds(
            lambda key, inner: {key: inner},
            st.sampled_from(["notification", "wallet", "walletUpdate", "message", "status"]),
            st.dictionaries(KEYS, JSON_VALUES, max_size=5),
        )
    )
    marked, numbers = raw_leaves(draw, message)
    text = json.dumps(marked, indent=draw(st.sampled_from([None, 2])))
    for number in numbers:
        text = text.replace(json.dumps(RAW_NUMBER), number, 1)
    return text


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(node_texts())
@example('{"notification": {"type": "x", "v": [0.1000000000000000055511151231257827]}}')
@example('{"wallet": {"value": 1.00000000000000000001}}')
@example('{"walletUpdate": {"BTC": {"confirmed": 2.00000000000000000001}}}')
def test_node_fast_way_equals_the_general_way(text: str) -> None:
    """Decoding once and checking floats on _convert's walk gives exactly the items
    (every digit of every number) of decode_json's exact decoding first."""
    from wstail.normalize.node import normalize_node_text, normalize_node_text_exactly

    def written(items: list[Any]) -> bytes:
        return dumps([list(item) for item in items])

    assert written(normalize_node_text(text, "node")) == written(
        normalize_node_text_exactly(text, "node")
    )


HANDLED_KEYS = ["ticker", "trades", "bids", "asks", "prices", "orders", "balance_eur"]


@st.composite
def paymium_texts(draw: st.DrawFn) -> str:
    """Paymium events of every shape, numbers written with any number of digits."""
    record = st.dictionaries(st.sampled_from(FIELD_NAMES) | KEYS, JSON_VALUES, max_size=6)
    message = draw(
        st.dictionaries(st.sampled_from(PAYMIUM_KEYS), JSON_VALUES, min_size=0, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                ["ticker", "trades", "bids", "asks", "prices", "orders", "balance_eur"]
            ),
            record | st.lists(record, max_size=3),
            min_size=1,
            max_size=3,
        )
    )
    name = draw(st.sampled_from(["stream", "stream", "stream", "announcement", "other"]))
    marked, numbers = raw_leaves(draw, [name, message])
    text = json.dumps(marked, indent=draw(st.sampled_from([None, 2])))
    for number in numbers:
        text = text.replace(json.dumps(RAW_NUMBER), number, 1)
    return text


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(paymium_texts(), st.sampled_from(["/public", "/user"]))
@example('["stream", {"ticker": {"price": 0.1000000000000000055511151231257827}}]', "/public")
@example('["stream", {"trades": [{"amount": [1.00000000000000000001]}]}]', "/public")
@example('["stream", {"balance_eur": 2.00000000000000000001}]', "/user")
def test_paymium_fast_way_equals_the_general_way(text: str, channel: str) -> None:
    """Decoding once and checking floats on the handlers' walk gives exactly the items
    (every digit of every number) of decode_json's exact decoding first."""
    from wstail.normalize.paymium import (
        normalize_paymium_event,
        normalize_paymium_event_exactly,
    )

    def written(items: list[Any]) -> bytes:
        return dumps([list(item) for item in items])

    assert written(normalize_paymium_event(text, channel)) == written(
        normalize_paymium_event_exactly(text, channel)
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(paymium_texts(), st.sampled_from(["/public", "/user"]))
@example('["stream", {"ticker": {"price": 0.1000000000000000055511151231257827}}]', "/public")
@example('["stream", {"ticker": {"price": "76000.00", "at": 1795428000}}]', "/public")
def test_paymium_events_read_live_equal_the_general_way(text: str, channel: str) -> None:
    """An event as the Socket.IO protocol reads it live (its short way for our namespace's
    events), then normalized, gives exactly the items of decode_json's exact decoding."""
    from wstail.normalize import normalize_paymium_frame
    from wstail.normalize.paymium import normalize_paymium_event_exactly
    from wstail.sources.socketio.protocol import SioProtocol

    protocol = SioProtocol(undialled_target(channel), "eio3")  # strict: read the fast way
    opened = '0{"sid":"s3","upgrades":[],"pingInterval":25000,"pingTimeout":60000}'
    for message in (opened, "40" + channel):
        protocol.receive_handshake(message)
    frame = protocol.receive(f"42{channel},{text}", 1.0, 1)
    assert frame is not None
    assume(frame.kind == "sio")  # not an event array (a number for the name): a bad frame
    assert frame.payload == text

    def written(items: list[Any]) -> bytes:
        return dumps([list(item) for item in items])

    assert written(normalize_paymium_frame(frame, "paymium")) == written(
        normalize_paymium_event_exactly(text, channel)
    )


RISKY_NUMBER = re.compile(r"[0-9][0-9.]{15}|[eE][-+]?[0-9]{3}")


@SETTINGS
@given(
    st.text(alphabet=st.sampled_from('0123456789.eE+-x "{}:,\u00e9'), max_size=60)
    | JSON_VALUES.map(json.dumps)
    | RISKY_FLOATS
)
def test_risky_finds_every_number_a_double_may_not_hold(text: str) -> None:
    """The byte-shape check is never less careful than the regular expression it replaced."""
    from wstail.jsonexact import risky

    if RISKY_NUMBER.search(text):
        assert risky(text)
        assert risky(text.encode())
