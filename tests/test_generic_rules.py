"""The rules of generic feeds (--each, --event-name, --event-time), the source name and the
namespace of `tail sio URL`, and the usage errors of their options."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import Wstail
from wstail.envelope import format_us
from wstail.feeds import socketio_namespace, source_name
from wstail.frames import Frame
from wstail.jsonexact import dumps
from wstail.normalize.generic import GenericNormalizer, Rules


def read(text: str, **rules: str) -> list[tuple[str, str | None, str]]:
    """A WebSocket text frame's items under these rules: (event, event_ts, data as JSON)."""
    normalizer = GenericNormalizer(Rules(**rules), "feed")
    return [
        (event, None if us is None else format_us(us), dumps(data).decode())
        for source, event, us, data in normalizer.text(text, "feed")
        if source == "feed"
    ]


def event(text: str, **rules: str) -> list[tuple[str, str | None, str]]:
    """A Socket.IO event array's items under these rules."""
    normalizer = GenericNormalizer(Rules(**rules), "feed")
    return [
        (name, None if us is None else format_us(us), dumps(data).decode())
        for _, name, us, data in normalizer.event(text, "/ns")
    ]


# -- --each --------------------------------------------------------------------------


def test_no_rules_give_the_message_as_it_is() -> None:
    """Without rules: one envelope, event `message`, no time, every digit kept."""
    text = '{"a":0.1000000000000000000001,"b":123456789012345678901234567890,"t":1790139583}'
    assert read(text) == [("message", None, text)]


def test_each_gives_the_elements_in_order() -> None:
    """--each: one envelope per element, in order, whatever each element is."""
    text = '{"data":[{"n":1},2,"three",[4],null]}'
    assert read(text, each="data") == [
        ("message", None, '{"n":1}'),
        ("message", None, "2"),
        ("message", None, '"three"'),
        ("message", None, "[4]"),
        ("message", None, "null"),
    ]


@pytest.mark.parametrize(
    "text",
    ['{"data":{"n":1}}', '{"other":1}', '"just text"', "[1,2]", '{"data":"x"}'],
)
def test_each_that_gives_no_list_is_one_envelope_of_the_whole_message(text: str) -> None:
    """A message for which --each gives anything but a list is one envelope of it all."""
    assert read(text, each="data") == [("message", None, text)]


def test_each_of_an_empty_list_gives_nothing() -> None:
    """An empty list: no envelope."""
    assert read('{"data":[]}', each="data") == []


def test_each_of_the_message_itself_when_it_is_a_list() -> None:
    """--each @ splits a top-level array."""
    assert read('[{"e":"a"},{"e":"b"}]', each="@", event_name="e") == [
        ("a", None, '{"e":"a"}'),
        ("b", None, '{"e":"b"}'),
    ]


# -- --event-name --------------------------------------------------------------------


def test_name_and_time_read_from_the_element_first_then_the_whole_message() -> None:
    """Kraken style: the name from the message, each element's own time; an element's own
    name and a message-level time where the element has none."""
    text = (
        '{"channel":"trade","ts":1790139583,"data":['
        '{"p":1,"timestamp":"2026-11-23T10:00:00.123456Z"},'
        '{"p":2,"channel":"own","timestamp":1790139590250},'
        '{"p":3}]}'
    )
    rules = {"each": "data", "event_name": "channel", "event_time": "timestamp || ts"}
    assert read(text, **rules) == [
        (
            "trade",
            "2026-11-23T10:00:00.123456Z",
            '{"p":1,"timestamp":"2026-11-23T10:00:00.123456Z"}',
        ),
        ("own", "2026-09-23T04:59:50.250000Z", '{"p":2,"channel":"own","timestamp":1790139590250}'),
        ("trade", "2026-09-23T04:59:43.000000Z", '{"p":3}'),
    ]


@pytest.mark.parametrize("value", ['""', "42", "true", "null", '["a"]', '{"a":1}'])
def test_an_event_name_that_is_no_string_gives_the_default(value: str) -> None:
    """Missing, empty or not a string: `message` (WebSocket), the event's name (Socket.IO)."""
    text = f'{{"type":{value}}}'
    assert read(text, event_name="type") == [("message", None, text)]
    assert event(f'["tick",{text}]', event_name="type") == [("tick", None, text)]


def test_event_names_of_the_feed_beginning_with_meta_are_kept_behind_an_underscore() -> None:
    """`meta.` names are wstail's own: a feed's `meta.x` is `_meta.x`, others untouched."""
    assert read('{"type":"meta.connected"}', event_name="type")[0][0] == "_meta.connected"
    assert read('{"type":"metadata"}', event_name="type")[0][0] == "metadata"
    assert event('["meta.x",1]')[0][0] == "_meta.x"
    assert event('["meta.x",{"t":"y"}]', event_name="t")[0][0] == "y"


# -- --event-time --------------------------------------------------------------------

TIMES = [
    ("1790139583", "2026-09-23T04:59:43.000000Z"),  # seconds
    ("1790139583.5", "2026-09-23T04:59:43.500000Z"),
    ("1790139583123", "2026-09-23T04:59:43.123000Z"),  # milliseconds
    ("1790139583123456", "2026-09-23T04:59:43.123456Z"),  # microseconds
    ("1790139583123456789", "2026-09-23T04:59:43.123457Z"),  # nanoseconds
    ("1790139583.12345678901234567890", "2026-09-23T04:59:43.123457Z"),  # more digits than a float
    ('"1790139583123"', "2026-09-23T04:59:43.123000Z"),  # numeric strings
    ('"1790139583.25"', "2026-09-23T04:59:43.250000Z"),
    ('"2026-09-23T04:59:43.123Z"', "2026-09-23T04:59:43.123000Z"),  # RFC 3339
    ('"2026-09-23T04:59:43+02:00"', "2026-09-23T02:59:43.000000Z"),
    ('"2026-09-23T04:59:43.123456789Z"', "2026-09-23T04:59:43.123456Z"),
]


@pytest.mark.parametrize(("value", "expected"), TIMES)
def test_event_time_of_every_unit_and_form(value: str, expected: str) -> None:
    """Epoch s/ms/µs/ns told apart by size, numeric strings, RFC 3339 with any offset."""
    assert read(f'{{"t":{value}}}', event_time="t")[0][1] == expected


UNPARSEABLE = [
    '"nope"',
    '""',
    '"2026-09-23"',
    "true",
    "null",
    "0",
    "-5",
    "[1]",
    '{"a":1}',
    "1e400",
    "17901395831234567890123",
]


@pytest.mark.parametrize("value", UNPARSEABLE)
def test_an_unparseable_event_time_is_null_never_an_error(value: str) -> None:
    """Anything that is no time gives event_ts null; the envelope is still there."""
    text = f'{{"t":{value}}}'
    assert read(text, event_time="t") == [("message", None, text)]


def test_a_missing_time_field_is_null() -> None:
    """An expression that finds nothing: null."""
    assert read('{"x":1}', event_time="t") == [("message", None, '{"x":1}')]


# -- Socket.IO events, binary frames, bad frames -------------------------------------


def test_socketio_arguments_one_several_none() -> None:
    """One argument is the data, several a list, none null; the name is the event's."""
    assert event('["a",{"n":1}]') == [("a", None, '{"n":1}')]
    assert event('["b",1,"two",[3]]') == [("b", None, '[1,"two",[3]]')]
    assert event('["c"]') == [("c", None, "null")]


def test_socketio_rules_apply_to_the_argument() -> None:
    """--each and --event-time read the event's argument (the list when several)."""
    text = '["trades",{"list":[{"t":1790139583},{"t":1790139584}]}]'
    assert event(text, each="list", event_time="t") == [
        ("trades", "2026-09-23T04:59:43.000000Z", '{"t":1790139583}'),
        ("trades", "2026-09-23T04:59:44.000000Z", '{"t":1790139584}'),
    ]
    assert event('["pair",1,2]', each="@") == [("pair", None, "1"), ("pair", None, "2")]


@pytest.mark.parametrize("text", ["{}", "[]", "[1,2]", '"x"', "[{]"])
def test_a_socketio_frame_that_is_no_event_array_is_a_bad_frame(text: str) -> None:
    """Not an event array: one meta.bad_frame, never an exception."""
    items = GenericNormalizer(Rules(), "feed").event(text, "/")
    assert [item[1] for item in items] == ["meta.bad_frame"]


def test_a_binary_frame_is_base64_in_place_of_the_message() -> None:
    """A WebSocket binary frame is {"_binary": base64}; the rules see that object."""
    normalizer = GenericNormalizer(Rules(event_name="_binary"), "feed")
    frame = Frame(recv_us=1, kind="binary", channel="", payload=b"\x00\xff\xfe")
    items = normalizer.frame(frame, "feed")
    assert [(e, dumps(d).decode()) for _, e, _, d in items] == [("AP/+", '{"_binary":"AP/+"}')]


def test_the_general_and_short_ways_give_the_same_items() -> None:
    """frame() of a text frame and text() agree (replay reads the short way)."""
    normalizer = GenericNormalizer(Rules(each="d", event_name="e", event_time="t"), "feed")
    text = '{"e":"x","d":[{"t":1790139583},{"e":"y"}]}'
    frame = Frame(recv_us=1, kind="text", channel="", payload=text)
    assert normalizer.frame(frame, "feed") == normalizer.text(text, "feed")


def test_rules_in_a_capture_header_and_replaced_by_replays_options() -> None:
    """as_header keeps the given rules under the options' names; replay's rules replace them."""
    rules = Rules(each="data", event_time="ts")
    header = rules.as_header()
    assert header == {"each": "data", "event-time": "ts"}
    assert Rules.of_header(header) == rules
    assert Rules.of_header({"each": 3, "event-name": ""}) == Rules()
    assert rules.replaced(Rules(event_name="type", event_time="t")) == Rules("data", "type", "t")


# -- the source name and the namespace -----------------------------------------------


@pytest.mark.parametrize(
    ("url", "namespace", "expected"),
    [
        ("wss://ws.kraken.com/v2", "/", "ws.kraken.com"),
        ("wss://stream.binance.com:9443/ws/btcusdt@trade", "/", "stream.binance.com:9443"),
        ("ws://USER:secret@Example.COM:8080/x?token=abc", "/", "example.com:8080"),
        ("http://127.0.0.1:3000/chat", "/chat", "127.0.0.1:3000/chat"),
        ("https://example.com", "/", "example.com"),
        ("ws://[::1]:9000/", "/", "[::1]:9000"),
    ],
)
def test_the_default_source_name_from_the_url(url: str, namespace: str, expected: str) -> None:
    """host[:port][/namespace], lower case, never credentials or the query."""
    assert source_name(url, namespace) == expected


@pytest.mark.parametrize(
    ("url", "option", "expected"),
    [
        ("http://h:1", None, "/"),
        ("http://h:1/", None, "/"),
        ("http://h:1/chat", None, "/chat"),
        ("http://h:1/chat/", None, "/chat"),
        ("http://h:1", "chat", "/chat"),
        ("http://h:1", "/chat/", "/chat"),
        ("http://h:1/chat", "/chat", "/chat"),
        ("http://h:1", "/", "/"),
    ],
)
def test_the_namespace_from_the_url_path_or_the_option(
    url: str, option: str | None, expected: str
) -> None:
    """--namespace, else the URL's path (as socket.io-client's io(URL)), else /."""
    assert socketio_namespace(url, option) == expected


# -- usage errors --------------------------------------------------------------------

DEAD = "ws://127.0.0.1:9/"  # never dialled: the options fail first


@pytest.mark.parametrize("option", ["--each", "--event-name", "--event-time"])
@pytest.mark.parametrize(
    "command",
    [
        ["tail", "ws", DEAD],
        ["tail", "sio", "http://127.0.0.1:9"],
        ["record", "-o", "{tmp}/cap.jsonl", "ws", DEAD],
    ],
)
def test_a_bad_rule_is_a_usage_error_with_a_caret(
    option: str, command: list[str], wstail: Wstail, tmp_path: Any
) -> None:
    """A bad JMESPath expression: exit 2, the option named, the column marked."""
    argv = [part.replace("{tmp}", str(tmp_path)) for part in command]
    done = wstail(*argv, option, "data[", "--retries", "0")
    assert done.code == 2, done
    assert done.stderr.splitlines() == [
        f"wstail: {option}: invalid JMESPath expression 'data[': unexpected end of expression "
        "at column 6",
        "  data[",
        "       ^",
    ]
    assert done.stdout == b""
    assert not (tmp_path / "cap.jsonl").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["tail", "sio", "http://127.0.0.1:9/chat", "--namespace", "/other"],
            "wstail: http://127.0.0.1:9/chat: the URL's path /chat is the namespace, "
            "but --namespace says /other: give it once",
        ),
        (
            ["tail", "sio", "http://127.0.0.1:9", "--emit", "sub", "not json"],
            "wstail: --emit sub: the argument is not JSON: 'not json' (quote a string: '\"text\"')",
        ),
        (
            ["tail", "sio", "http://127.0.0.1:9", "--emit", "sub", '{"a":'],
            "wstail: --emit sub: the argument is not JSON: '{\"a\":' (quote a string: '\"text\"')",
        ),
        (
            ["tail", "sio", "http://127.0.0.1:9", "--emit", "", "1"],
            "wstail: --emit needs an event name: --emit EVENT JSON",
        ),
        (["tail", "ws", DEAD, "--name", ""], "wstail: --name '': give a printable, non-empty name"),
        (
            ["tail", "ws", DEAD, "--name", "a\tb"],
            "wstail: --name 'a\\tb': give a printable, non-empty name",
        ),
        (["tail", "ws"], "wstail: ws needs the server's URL: wstail tail ws URL"),
        (["tail", "sio"], "wstail: sio needs the server's URL: wstail tail sio URL"),
    ],
)
def test_bad_generic_options_are_one_line_usage_errors(
    args: list[str], message: str, wstail: Wstail
) -> None:
    """Exit 2, one line naming the option, never a traceback."""
    done = wstail(*args, "--retries", "0")
    assert done.code == 2, done
    assert done.stderr.splitlines() == [message]


def test_emit_with_one_value_is_a_usage_error(wstail: Wstail) -> None:
    """--emit takes two values."""
    done = wstail("tail", "sio", "http://127.0.0.1:9", "--emit", "sub")
    assert done.code == 2
    assert "--emit" in done.stderr and "Traceback" not in done.stderr


def test_options_of_the_other_protocol_are_refused(wstail: Wstail) -> None:
    """--send is for ws, --emit/--namespace/--eio for sio."""
    assert wstail("tail", "sio", "http://127.0.0.1:9", "--send", "x").code == 2
    assert wstail("tail", "ws", DEAD, "--emit", "a", "1").code == 2
    assert wstail("tail", "ws", DEAD, "--namespace", "/a").code == 2
    assert wstail("tail", "ws", DEAD, "--eio", "3").code == 2
