"""`wstail tail ws URL` and `tail sio URL` end to end, against the real servers.

Peers: the npm `ws` 8.x server and the official socket.io 2.5.0 and 4.8.1
servers playing scripts (tests/peers/generic_server.js): subscribe-gated
feeds (nothing is sent before the subscription arrives; the server logs what
it received, exactly), drops, text that is not JSON, binary frames,
namespaces, several event names, multi-argument events, large frames, big
numbers. Envelope lines are compared to the byte, recv_ts masked.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from helpers.generic_peers import SIO_KINDS, ScriptedPeer, ensure_ws_server, sio_emit
from helpers.live import Done, events, expected_line, masked, run_wstail, seqs, wstail_env
from helpers.sio_peers import run


@pytest.fixture(scope="module", autouse=True)
def _node_peers() -> None:
    """The ws and socket.io servers are installed (npm install when missing)."""
    ensure_ws_server()


async def tail(kind: str, scenario: dict[str, Any], *args: str, env: dict[str, str]) -> Any:
    """Run `wstail ARGS...` (URL in them replaced by the peer's) against a peer: (Done, peer)."""
    async with ScriptedPeer(kind, scenario) as peer:
        argv = [arg.replace("URL", peer.url()) for arg in args]
        done = await run_wstail(*argv, env=env, timeout=30)
    return done, peer


def data_of(done: Done) -> list[Any]:
    """The `data` of every envelope that is not a meta.* one."""
    return [
        record["data"]
        for record in map(json.loads, done.lines)
        if not record["event"].startswith("meta.")
    ]


LIFECYCLE_3 = [
    "meta.connected",
    "message",
    "message",
    "meta.disconnected",
    "meta.reconnecting",
    "meta.connected",
    "message",
    "message",
    "meta.disconnected",
    "meta.reconnecting",
    "meta.connected",
    "message",
    "message",
]


# -- subscriptions and resubscription ------------------------------------------------


SUBSCRIBE = '{"method":"subscribe","params":{"channel":"trade","symbol":["BTC/USD"]}}'


def test_ws_subscribes_after_every_connect_and_loses_nothing_across_drops(tmp_path: Path) -> None:
    """--send texts reach the ws server, in order, exactly, on each of three connections;
    the feed drops (a reset, then a close frame) every two frames; every frame is printed,
    each reconnect marked with meta.disconnected / meta.reconnecting."""
    gate = {"wait": 2}
    scenario = {
        "path": "/v2",
        "connections": [
            [gate, {"text": '{"n":1}'}, {"text": '{"n":2}'}, {"drop": True}],
            [gate, {"text": '{"n":3}'}, {"text": '{"n":4}'}, {"close": 1001}],
            [gate, {"text": '{"n":5}'}, {"text": '{"n":6}'}],
        ],
    }
    command = ["tail", "ws", "URL/v2", "--send", SUBSCRIBE, "--send", "ping me", "--meta"]
    done, peer = run(
        lambda: tail("ws", scenario, *command, "-n", "6", env=wstail_env(tmp_path)), timeout=40
    )
    assert done.code == 0, done.err
    assert events(done.lines) == LIFECYCLE_3
    assert seqs(done.lines) == list(range(1, 14))
    assert data_of(done) == [{"n": n} for n in range(1, 7)]
    assert [entry["n"] for entry in peer.connects()] == [1, 2, 3]
    for n in (1, 2, 3):
        assert peer.received(n) == [SUBSCRIBE, "ping me"]
    assert [entry["url"] for entry in peer.connects()] == ["/v2"] * 3


@pytest.mark.parametrize("how", ["url", "option"])
@pytest.mark.parametrize("kind", SIO_KINDS)
def test_sio_emits_after_every_join_and_loses_nothing_across_drops(
    kind: str, how: str, tmp_path: Path
) -> None:
    """--emit events reach the socket.io server in the namespace (from the URL's path or
    --namespace), exactly as written (digits kept), after every join; transport drops reconnect."""
    gate = {"wait": 2}
    scenario = {
        "namespace": "/prices",
        "connections": [
            [gate, sio_emit("trade", {"n": 1}), sio_emit("trade", {"n": 2}), {"drop": True}],
            [gate, sio_emit("trade", {"n": 3}), sio_emit("trade", {"n": 4}), {"drop": True}],
            [gate, sio_emit("trade", {"n": 5}), sio_emit("trade", {"n": 6})],
        ],
    }
    where = ["URL/prices"] if how == "url" else ["URL", "--namespace", "prices"]
    argument = '{"pair": "BTC-EUR", "min": 0.1000000000000000000001}'
    command = ["tail", "sio", *where, "--emit", "subscribe", argument, "--emit", "join", '"r1"']
    done, peer = run(
        lambda: tail(kind, scenario, *command, "--meta", "-n", "6", env=wstail_env(tmp_path)),
        timeout=40,
    )
    assert done.code == 0, done.err
    assert events(done.lines) == [e.replace("message", "trade") for e in LIFECYCLE_3]
    assert seqs(done.lines) == list(range(1, 14))
    assert data_of(done) == [{"n": n} for n in range(1, 7)]
    expected = [
        '2/prices,["subscribe",{"pair": "BTC-EUR", "min": 0.1000000000000000000001}]',
        '2/prices,["join","r1"]',
    ]
    for n in (1, 2, 3):
        assert peer.events_received(n) == expected
    connected = [json.loads(line) for line in done.lines if b'"meta.connected"' in line]
    assert {record["data"]["namespace"] for record in connected} == {"/prices"}
    assert {record["source"] for record in connected} == {f"127.0.0.1:{peer.port}/prices"}


@pytest.mark.parametrize("kind", SIO_KINDS)
def test_sio_server_disconnecting_the_namespace_ends_the_run(kind: str, tmp_path: Path) -> None:
    """A server's explicit namespace disconnect ends the run (exit 0, meta.disconnected),
    as socket.io-client does not reconnect after it."""
    scenario = {"namespace": "/chat", "connections": [[sio_emit("hello", 1), {"disconnect": True}]]}
    done, peer = run(
        lambda: tail(kind, scenario, "tail", "sio", "URL/chat", "--meta", env=wstail_env(tmp_path))
    )
    assert done.code == 0, done.err
    assert events(done.lines) == ["meta.connected", "hello", "meta.disconnected"]
    assert json.loads(done.lines[-1])["data"] == {"reason": "the server ended the namespace /chat"}
    assert len(peer.connects()) == 1


def test_sio_path_option_reaches_a_server_on_another_path(tmp_path: Path) -> None:
    """--path: the Socket.IO path the server listens on."""
    scenario = {"path": "/api/io", "connections": [[sio_emit("tick", 7)]]}
    done, peer = run(
        lambda: tail(
            "sio4",
            scenario,
            "tail",
            "sio",
            "URL",
            "--path",
            "/api/io",
            "-n",
            "1",
            env=wstail_env(tmp_path),
        )
    )
    assert done.code == 0, done.err
    assert [masked(line) for line in done.lines] == [
        expected_line(2, (f"127.0.0.1:{peer.port}", "tick", None, "7"))
    ]
    assert peer.connects()[0]["url"].startswith("/api/io/?EIO=")


# -- what the frames hold ------------------------------------------------------------

ALL_BYTES = bytes(range(256))
PRETTY = '{\n  "a": [1, 2],\n  "b": {"c": "d"},\n  "t": 1790139583123\n}\n'
BIG_NUMBERS = '{"a":0.1000000000000000000001,"b":123456789012345678901234567890,"c":1e400,"d":-0.0}'
LIMIT = 1000


def test_ws_frames_of_every_kind_become_exact_envelopes(tmp_path: Path) -> None:
    """Pretty JSON, text that is not JSON (empty, non-ASCII), JSON scalars, a binary frame,
    big numbers kept to the digit, a frame over --max-frame-size (meta.bad_frame, the run
    goes on on the same connection)."""
    steps = [
        {"wait": 1},
        {"text": PRETTY},
        {"text": "not json at all"},
        {"text": ""},
        {"text": "héllo ✓ {"},
        {"text": "42"},
        {"text": '"quoted"'},
        {"binary": base64.b64encode(ALL_BYTES).decode()},
        {"text": BIG_NUMBERS},
        {"big": 2 * LIMIT},
        {"text": '[{"after":true}]'},
    ]
    scenario = {"connections": [steps]}
    command = ["tail", "ws", "URL", "--send", "go", "--max-frame-size", str(LIMIT), "--meta"]
    done, peer = run(lambda: tail("ws", scenario, *command, "-n", "9", env=wstail_env(tmp_path)))
    assert done.code == 0, done.err
    source = f"127.0.0.1:{peer.port}"
    b64 = base64.b64encode(ALL_BYTES).decode()
    items = [
        ("message", '{"a":[1,2],"b":{"c":"d"},"t":1790139583123}'),
        ("message", '"not json at all"'),
        ("message", '""'),
        ("message", '"héllo ✓ {"'),
        ("message", "42"),
        ("message", '"quoted"'),
        ("message", f'{{"_binary":"{b64}"}}'),
        ("message", BIG_NUMBERS),
    ]
    lines = [masked(line) for line in done.lines]
    assert lines[1:9] == [
        expected_line(seq, (source, event, None, data))
        for seq, (event, data) in enumerate(items, 2)
    ]
    bad = json.loads(done.lines[9])
    assert bad["event"] == "meta.bad_frame"
    assert bad["data"]["reason"] == f"frame of {2 * LIMIT + 10} bytes over the limit"
    assert lines[10] == expected_line(11, (source, "message", None, '[{"after":true}]'))
    assert len(peer.connects()) == 1


@pytest.mark.parametrize("kind", SIO_KINDS)
def test_sio_namespace_event_names_arguments_and_binary(kind: str, tmp_path: Path) -> None:
    """A custom namespace: each event's name, one argument as data, several as a list, none
    as null; binary attachments as {"_binary"} in place; numbers JS cannot hold kept (a raw
    packet); a feed's `meta.` event kept as `_meta.`; -e picks event names."""
    steps = [
        sio_emit("quote", {"bid": 1.5, "ask": 1.6}),
        sio_emit("trade", 101, "BTC-EUR", {"side": "buy"}),
        sio_emit("status"),
        sio_emit(
            "blob", {"f": {"$buffer": base64.b64encode(b"\xde\xad\xbe\xef").decode()}, "n": 1}
        ),
        {"raw": '["quote",0.1000000000000000000001,123456789012345678901234567890]'},
        sio_emit("meta.connected", "not ours"),
        sio_emit("ignored", 0),
        sio_emit("trade", "last"),
    ]
    scenario = {"namespace": "/app", "connections": [steps]}
    command = ["tail", "sio", "URL/app", "-e", "quote,trade,status,blob,_meta.*", "-n", "7"]
    done, peer = run(lambda: tail(kind, scenario, *command, env=wstail_env(tmp_path)))
    assert done.code == 0, done.err
    source = f"127.0.0.1:{peer.port}/app"
    items = [
        ("quote", '{"bid":1.5,"ask":1.6}'),
        ("trade", '[101,"BTC-EUR",{"side":"buy"}]'),
        ("status", "null"),
        ("blob", '{"f":{"_binary":"3q2+7w=="},"n":1}'),
        ("quote", "[0.1000000000000000000001,123456789012345678901234567890]"),
        ("_meta.connected", '"not ours"'),
        ("trade", '"last"'),
    ]
    assert [masked(line) for line in done.lines] == [
        expected_line(seq, (source, event, None, data))
        for seq, (event, data) in zip([2, 3, 4, 5, 6, 7, 9], items, strict=True)
    ]


@pytest.mark.parametrize("kind", SIO_KINDS)
def test_sio_event_over_the_frame_limit_is_reported_and_the_run_goes_on(
    kind: str, tmp_path: Path
) -> None:
    """An event over --max-frame-size: meta.bad_frame, a reconnect (a Socket.IO stream
    cannot skip a frame), the subscription emitted again, the events after it printed."""
    scenario = {
        "namespace": "/big",
        "connections": [
            [{"wait": 1}, sio_emit("small", 1), sio_emit("huge", "x" * (2 * LIMIT))],
            [{"wait": 1}, sio_emit("small", 2)],
        ],
    }
    command = ["tail", "sio", "URL/big", "--emit", "sub", "{}", "--max-frame-size", str(LIMIT)]
    done, peer = run(
        lambda: tail(kind, scenario, *command, "--meta", "-n", "2", env=wstail_env(tmp_path)),
        timeout=30,
    )
    assert done.code == 0, done.err
    names = events(done.lines)
    assert names[:3] == ["meta.connected", "small", "meta.bad_frame"]
    assert names[-2:] == ["meta.connected", "small"]
    assert data_of(done) == [1, 2]
    assert [peer.events_received(n) for n in (1, 2)] == [['2/big,["sub",{}]']] * 2


# -- the rules on a live feed --------------------------------------------------------

KRAKEN = (
    '{"channel":"trade","type":"update","data":['
    '{"symbol":"BTC/USD","price":97000.1,"qty":0.00100000,"timestamp":"2026-11-23T10:00:00.123456Z"},'
    '{"symbol":"BTC/USD","price":97000.2,"qty":0.5,"timestamp":"2026-11-23T10:00:01Z"}]}'
)


def test_ws_rules_split_name_and_time_kraken_style_messages(tmp_path: Path) -> None:
    """--each data --event-name channel --event-time timestamp: one envelope a trade, named
    from the whole message, each timed by its own field; a heartbeat without data is one
    envelope named by its own channel; --name names the source."""
    steps = [{"wait": 1}, {"text": '{"channel":"heartbeat"}'}, {"text": KRAKEN}]
    command = [
        "tail",
        "ws",
        "URL",
        "--name",
        "kraken",
        "--send",
        SUBSCRIBE,
        "--each",
        "data",
        "--event-name",
        "channel",
        "--event-time",
        "timestamp",
        "-n",
        "3",
    ]
    done, _ = run(lambda: tail("ws", {"connections": [steps]}, *command, env=wstail_env(tmp_path)))
    assert done.code == 0, done.err
    assert [masked(line) for line in done.lines] == [
        expected_line(2, ("kraken", "heartbeat", None, '{"channel":"heartbeat"}')),
        expected_line(
            3,
            (
                "kraken",
                "trade",
                "2026-11-23T10:00:00.123456Z",
                '{"symbol":"BTC/USD","price":97000.1,"qty":0.001,'
                '"timestamp":"2026-11-23T10:00:00.123456Z"}',
            ),
        ),
        expected_line(
            4,
            (
                "kraken",
                "trade",
                "2026-11-23T10:00:01.000000Z",
                '{"symbol":"BTC/USD","price":97000.2,"qty":0.5,"timestamp":"2026-11-23T10:00:01Z"}',
            ),
        ),
    ]


def test_sio_default_namespace_of_a_socketio_2_server_is_joined_once(tmp_path: Path) -> None:
    """tail sio on socket.io 2.x's default namespace (--eio auto): one socket, events once."""
    scenario = {"then": [sio_emit("hello", 1), sio_emit("bye", 2)]}
    done, peer = run(
        lambda: tail("sio2", scenario, "tail", "sio", "URL", "-n", "2", env=wstail_env(tmp_path))
    )
    assert done.code == 0, done.err
    assert events(done.lines) == ["hello", "bye"]
    assert len(peer.connects()) == 1


@pytest.mark.parametrize("kind", ["sio2", "sio3", "sio4"])
def test_sio_default_namespace_is_joined_once_on_every_version(kind: str, tmp_path: Path) -> None:
    """`/` with --eio auto: socket.io 2.x joins it unasked (taken as the join), socket.io 3.x
    (Engine.IO 4 without maxPayload) is asked after the grace, 4.x at once; events come once."""
    scenario = {"then": [sio_emit("hello", 1), sio_emit("bye", 2)]}
    done, peer = run(
        lambda: tail(
            kind, scenario, "tail", "sio", "URL", "-n", "2", "--meta", env=wstail_env(tmp_path)
        )
    )
    assert done.code == 0, done.err
    assert events(done.lines) == ["meta.connected", "hello", "bye"]
    connected = json.loads(done.lines[0])["data"]
    assert connected["protocol"] == ("eio3" if kind == "sio2" else "eio4")
    assert connected["namespace"] == "/"
    assert len(peer.connects()) == 1


async def _answer_all_at_once(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, frames: list[bytes]
) -> None:
    """A WebSocket server that writes its 101, `frames` and a close (4000) in one write,
    before the client can send anything: the client's subscription meets a closed socket."""
    request = await reader.readuntil(b"\r\n\r\n")
    key = next(
        line.split(b":", 1)[1].strip()
        for line in request.split(b"\r\n")
        if line.lower().startswith(b"sec-websocket-key:")
    )
    accept = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
    head = (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
    )
    close = b"\x88\x02" + (4000).to_bytes(2, "big")
    writer.write(head + b"".join(b"\x81" + bytes([len(f)]) + f for f in frames) + close)
    await writer.drain()
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        await reader.read()  # the client's subscription and close, unread
    writer.close()


def test_frames_before_a_close_that_beat_the_subscription_are_all_read(tmp_path: Path) -> None:
    """A server that sends its frames and closes before --send goes out: every frame is
    still printed (the failed send is not the end of the reading), then the end of feed."""
    frames = [b'{"n":1}', b'{"n":2}', b'{"n":3}']

    async def scenario() -> Done:
        server = await asyncio.start_server(
            lambda r, w: _answer_all_at_once(r, w, frames), "127.0.0.1", 0
        )
        port = server.sockets[0].getsockname()[1]
        async with server:
            return await run_wstail(
                "tail",
                "ws",
                f"ws://127.0.0.1:{port}/",
                "--send",
                "subscribe",
                "--meta",
                env=wstail_env(tmp_path),
            )

    done = asyncio.run(scenario())
    assert done.code == 0, done.err
    assert events(done.lines) == [
        "meta.connected",
        "message",
        "message",
        "message",
        "meta.disconnected",
    ]
    assert [json.loads(line)["data"] for line in done.lines[1:4]] == [{"n": 1}, {"n": 2}, {"n": 3}]


@pytest.mark.parametrize("kind", ["ws", "sio"])
def test_generic_feeds_take_the_retry_max_delay(kind: str, tmp_path: Path) -> None:
    """--retry-max-delay caps the generic feeds' backoff too (nothing listens on port 1)."""
    url = ("ws" if kind == "ws" else "http") + "://127.0.0.1:1/"
    args = ["tail", kind, url, "--retries", "2", "--retry-max-delay", "0.05", "--meta"]
    done = run(lambda: run_wstail(*args, env=wstail_env(tmp_path)))
    assert done.code == 3, done.err
    delays = [json.loads(line)["data"]["delay"] for line in done.lines]
    assert len(delays) == 2 and all(0 < delay <= 0.05 for delay in delays), done.lines
