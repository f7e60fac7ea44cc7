"""Faults at the command line: killed and frozen servers, DNS, bad bytes, deep JSON, signals.

Every test runs the real `wstail` against real servers on 127.0.0.1: the
official socket.io 2.5 (EIO3) and 4.8 (EIO4) servers, killed with SIGKILL
or frozen with SIGSTOP (a half-open connection: the socket stays up, nothing
answers), a node-like `websockets` server process (tests/peers/flood_server.py),
and hand-made Engine.IO 3 and node peers for bytes no real server sends. The
only name looked up elsewhere is a `.invalid` one, which never resolves.
A long-poll's answer lost in flight (a relay that resets the connection, as
a NAT or load balancer does) is a gap marked by `meta.disconnected`.
Whatever happens: the documented exit code, one-line messages, never a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import Wstail as RunWstail
from helpers.live import Done, Wstail, run_wstail, wstail_env
from helpers.node_peers import NodePeer, silent_tcp_server
from helpers.polling_peers import CUTS, LossyRelay
from helpers.serve import sio, text, write_capture
from helpers.serving import WSTAIL, read_line, serving, split_notices
from helpers.sio_peers import (
    NodeSioPeer,
    RawSioServer,
    TextBytes,
    closed_port,
    run,
    scaled,
    start_peer,
)
from test_serve_cli import SAMPLES
from test_serve_cli import wstail as serve_cli_wstail
from test_tail_cli import data_lines, ticker_step

TESTS = Path(__file__).resolve().parent
NODE_FEED = TESTS / "peers" / "flood_server.py"
DEPTHS = [300, 1000, 10000]  # orjson writes 254 levels and reads 1024; Python recurses ~1000
ANSI = re.compile(rb"\x1b\[[0-9;]*m")
HEAD = re.compile(rb'^\{"seq":(\d+),"recv_ts":"[^"]*","source":"[^"]*","event":"([^"]*)"')


pytestmark = pytest.mark.usefixtures("node_modules")  # npm install when missing


async def read_until(wstail: Wstail, enough: Callable[[list[bytes]], bool]) -> list[bytes]:
    """Stdout lines from now on, until `enough(lines)` holds; an early end fails with stderr."""
    lines: list[bytes] = []
    while not enough(lines):
        line = await wstail.line(timeout=20)
        if not line:
            done = await wstail.finish()
            raise AssertionError(f"wstail ended (exit {done.code}): {done.err.decode()}")
        lines.append(line)
    return lines


def heads(lines: list[bytes]) -> list[tuple[int, str]]:
    """(seq, event) of every envelope line, read off its head: json.loads would recurse."""
    found = [HEAD.match(line) for line in lines]
    assert all(found), lines
    return [(int(m.group(1)), m.group(2).decode()) for m in found if m is not None]


def seqs(lines: list[bytes]) -> list[int]:
    """The seq of every envelope line."""
    return [seq for seq, _ in heads(lines)]


def events(lines: list[bytes]) -> list[str]:
    """The event of every envelope line."""
    return [event for _, event in heads(lines)]


def has(name: str, times: int = 1) -> Callable[[list[bytes]], bool]:
    """A `read_until` rule: `times` envelopes of event `name` read."""
    return lambda lines: events(lines).count(name) >= times


def prices(lines: list[bytes]) -> list[float]:
    """The ticker prices, in order."""
    return [json.loads(line)["data"]["price"] for line in lines if b'"event":"ticker"' in line]


def ticking(first: int, count: int, every_ms: int = 20) -> list[dict[str, Any]]:
    """Scenario steps: tickers priced first.10, first+1.10, ... every `every_ms`."""
    steps: list[dict[str, Any]] = []
    for n in range(first, first + count):
        steps += [ticker_step(n), {"sleep": every_ms}]
    return steps


def assert_clean(done: Done) -> None:
    """Whole lines, numbered 1, 2, 3... with no gap, repeat or step back; no traceback."""
    assert b"Traceback" not in done.err, done.err.decode()
    assert done.out.endswith(b"\n")
    assert seqs(done.lines) == list(range(1, len(done.lines) + 1))


@contextlib.asynccontextmanager
async def node_feed(port: int = 0) -> AsyncIterator[tuple[asyncio.subprocess.Process, int]]:
    """A node-like server process sending a frame every 10 ms to each client; (process, port)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(NODE_FEED),
        "1000000",
        "100",
        str(port),
        "0.01",
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        async with asyncio.timeout(scaled(10)):
            bound = int(await process.stdout.readline())
        yield process, bound
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGCONT)
            process.kill()
        await process.wait()


# -- 1. a server killed mid-stream and restarted on the same port ---------------------


@pytest.mark.timeout(90)
@pytest.mark.parametrize("kind", ["sio2", "sio4"])
def test_socketio_server_killed_and_restarted_keeps_seq_increasing(
    kind: str, tmp_path: Path
) -> None:
    """SIGKILL mid-stream, restart on the same port: reconnect, print on, seq never repeats."""
    env = wstail_env(tmp_path)
    until = "data.price > `1002.5`"  # the third ticker of the restarted server

    async def body() -> tuple[Done, list[bytes]]:
        async with start_peer(kind, ticking(1, 500)) as first:
            assert isinstance(first, NodeSioPeer)
            command = ["tail", "public", "--url", first.url, "--meta", "--until", until]
            async with Wstail(*command, env=env) as wstail:
                before = await read_until(wstail, lambda lines: len(prices(lines)) >= 3)
                await first.kill()
                await read_until(wstail, has("meta.reconnecting"))
                restart = {"steps": ticking(1001, 3), "port": first.port}
                async with start_peer(kind, restart):
                    return await wstail.finish(timeout=30), before

    done, before = run(body, timeout=60)
    assert done.code == 0, done.err
    assert done.err == b""  # with --meta the lifecycle is on stdout
    assert_clean(done)
    names = events(done.lines)
    dropped = names.index("meta.disconnected")
    again = names.index("meta.connected", dropped)
    assert names[:dropped] == ["meta.connected"] + ["ticker"] * (dropped - 1)
    assert set(names[dropped + 1 : again]) == {"meta.reconnecting"}
    assert names[again:] == ["meta.connected", "ticker", "ticker", "ticker"]
    assert dropped - 1 >= len(prices(before))
    assert prices(done.lines) == [n + 0.1 for n in range(1, dropped)] + [1001.1, 1002.1, 1003.1]


@pytest.mark.timeout(90)
def test_node_server_killed_and_restarted_keeps_seq_increasing(tmp_path: Path) -> None:
    """tail node: SIGKILL the server mid-stream, restart it on the same port: seq goes on."""
    env = wstail_env(tmp_path)

    async def body() -> Done:
        async with node_feed() as (first, port):
            command = ["tail", "node", "--url", f"ws://127.0.0.1:{port}/ws", "--meta"]
            async with Wstail(*command, env=env) as wstail:
                await read_until(wstail, lambda lines: len(data_lines(lines)) >= 3)
                first.kill()
                await first.wait()
                await read_until(wstail, has("meta.reconnecting"))
                async with node_feed(port):
                    await read_until(wstail, has("meta.connected"))
                    await read_until(wstail, lambda lines: len(lines) >= 3)
                    wstail.send_signal(signal.SIGINT)
                    return await wstail.finish(timeout=20)

    done = run(body, timeout=60)
    assert done.code == 130, done.err
    assert done.err_lines == ["wstail: interrupted"]
    assert_clean(done)
    names = events(done.lines)
    dropped = names.index("meta.disconnected")
    again = names.index("meta.connected", dropped)
    assert names[0] == "meta.connected"
    assert set(names[1:dropped]) == {"notification.follow"}
    assert set(names[dropped + 1 : again]) == {"meta.reconnecting"}
    assert len(names[again + 1 :]) >= 3 and set(names[again + 1 :]) == {"notification.follow"}
    first_ids = [json.loads(line)["data"]["notificationId"] for line in done.lines[1:dropped]]
    assert first_ids == [f"n{i}" for i in range(1, dropped)]  # nothing lost before the kill


# -- 2. half-open: the server is there, the connection up, and nothing answers --------


@pytest.mark.timeout(90)
@pytest.mark.parametrize("mode", ["retries-0", "reconnect"])
@pytest.mark.parametrize("kind", ["sio2", "sio4"])
def test_frozen_socketio_server_is_detected(kind: str, mode: str, tmp_path: Path) -> None:
    """SIGSTOP the server: no pong (EIO3) or no ping (EIO4) ends the session; exit 3 or reconnect.

    EIO3 clients ping (--ping-interval); EIO4 servers do (the peer
    announces 300 ms + 700 ms of patience).
    """
    env = wstail_env(tmp_path)
    scenario = {
        "steps": [ticker_step(1), dict(ticker_step(2), after_connects=2)],
        "pingInterval": 300,
        "pingTimeout": 700,
    }
    command = ["tail", "public", "--meta", "--ping-interval", "0.2", "--connect-timeout", "1"]
    command += ["--retries", "0"] if mode == "retries-0" else ["-n", "2"]

    async def body() -> Done:
        async with start_peer(kind, scenario) as peer:
            assert isinstance(peer, NodeSioPeer)
            async with Wstail(*command, "--url", peer.url, env=env) as wstail:
                await read_until(wstail, has("ticker"))
                peer.send_signal(signal.SIGSTOP)
                try:
                    if mode == "retries-0":
                        return await wstail.finish(timeout=30)
                    await read_until(wstail, has("meta.disconnected"))
                finally:
                    peer.send_signal(signal.SIGCONT)
                return await wstail.finish(timeout=30)

    done = run(body, timeout=60)
    assert_clean(done)
    names = events(done.lines)
    reason = json.loads(done.lines[2])["data"]["reason"]
    if kind == "sio2":  # two --ping-interval without a pong
        assert reason == "no pong from the server for 0.4 s"
    else:  # the server's pingInterval + pingTimeout without a packet
        assert "from the server for 1 s" in reason
    if mode == "retries-0":
        assert done.code == 3, done.err
        assert names == ["meta.connected", "ticker", "meta.disconnected"]
        assert len(done.err_lines) == 1, done.err
        # the same words for every source: "could not connect to URL after N retries: why"
        assert done.err_lines[0].startswith(f"wstail: could not connect to {peer_url_prefix(done)}")
        assert f" after 0 retries: {reason}" in done.err_lines[0]
    else:
        assert done.code == 0, done.err
        assert done.err == b""
        assert names[:3] == ["meta.connected", "ticker", "meta.disconnected"]
        assert set(names[3:-2]) == {"meta.reconnecting"}
        assert names[-2:] == ["meta.connected", "ticker"]
        assert prices(done.lines) == [1.1, 2.1]


def peer_url_prefix(done: Done) -> str:
    """The URL wstail says it connected to (meta.connected), as the error message starts."""
    return str(json.loads(done.lines[0])["data"]["url"])


@pytest.mark.timeout(60)
def test_eio3_server_that_stops_answering_pings_is_reconnected(tmp_path: Path) -> None:
    """A hand-made EIO3 server that never answers a ping on its first connection: reconnect."""
    env = wstail_env(tmp_path)
    tick = '42/public,["stream",{"ticker":{"price":"7.5"}}]'

    async def body() -> Done:
        async with RawSioServer([tick], silent=[1]) as server:
            command = ["tail", "public", "--url", server.url, "--meta", "-n", "2"]
            return await run_wstail(*command, "--ping-interval", "0.2", env=env, timeout=30)

    done = run(body, timeout=40)
    assert done.code == 0, done.err
    assert_clean(done)
    assert events(done.lines) == [
        "meta.connected",
        "ticker",
        "meta.disconnected",
        "meta.reconnecting",
        "meta.connected",
        "ticker",
    ]
    assert json.loads(done.lines[2])["data"] == {"reason": "no pong from the server for 0.4 s"}


@pytest.mark.timeout(90)
@pytest.mark.parametrize("mode", ["retries-0", "reconnect"])
def test_frozen_node_is_detected(mode: str, tmp_path: Path) -> None:
    """SIGSTOP the node-like server: its missing pongs end the connection; exit 3 or reconnect."""
    env = wstail_env(tmp_path)
    command = ["tail", "node", "--meta", "--ping-interval", "0.2", "--connect-timeout", "1"]
    if mode == "retries-0":
        command += ["--retries", "0"]

    async def body() -> Done:
        async with node_feed() as (server, port):
            async with Wstail(*command, "--url", f"ws://127.0.0.1:{port}/ws", env=env) as wstail:
                await read_until(wstail, lambda lines: len(data_lines(lines)) >= 3)
                server.send_signal(signal.SIGSTOP)
                try:
                    if mode == "retries-0":
                        return await wstail.finish(timeout=30)
                    await read_until(wstail, has("meta.disconnected"))
                finally:
                    server.send_signal(signal.SIGCONT)
                await read_until(wstail, has("meta.connected"))
                await read_until(wstail, lambda lines: len(lines) >= 3)
                wstail.send_signal(signal.SIGTERM)
                return await wstail.finish(timeout=20)

    done = run(body, timeout=60)
    assert_clean(done)
    names = events(done.lines)
    dropped = names.index("meta.disconnected")
    reason = json.loads(done.lines[dropped])["data"]["reason"]
    assert reason == "no pong within 0.4s (keepalive ping timeout)"
    if mode == "retries-0":
        assert done.code == 3, done.err
        assert names[-1] == "meta.disconnected"
        assert len(done.err_lines) == 1, done.err
        assert done.err_lines[0] == (
            f"wstail: could not connect to {peer_url_prefix(done)} after 0 retries: {reason}"
        )
    else:
        assert done.code == 130, done.err
        assert done.err_lines == ["wstail: interrupted"]
        again = names.index("meta.connected", dropped)
        assert set(names[dropped + 1 : again]) == {"meta.reconnecting"}
        assert set(names[again + 1 :]) == {"notification.follow"}


# -- 3. a host name that does not resolve -------------------------------------------

NO_HOST = "no-such-host.invalid"  # RFC 6761: never resolves, the lookup fails locally


@pytest.mark.parametrize(
    ("source", "args"),
    [("public", []), ("public", ["--eio", "3"]), ("node", [])],
    ids=["public", "public-eio3", "node"],
)
def test_a_feed_never_reached_gives_up_by_default(
    source: str, args: list[str], tmp_path: Path
) -> None:
    """No --retries and nothing listening: 3 retries, then exit 3 in the same words for all."""
    url = f"ws://127.0.0.1:{closed_port()}/ws"

    async def body() -> Done:
        command = ["tail", source, *args, "--url", url]
        return await run_wstail(*command, env=wstail_env(tmp_path), timeout=30)

    done = run(body, timeout=40)
    assert done.code == 3, done.err
    assert done.out == b""
    *notes, last = done.err_lines
    assert len(notes) == 3, done.err
    assert last == (
        f"wstail: could not connect to {url} after 3 retries: connection refused"
        " (never reached; --retries N to try longer)"
    )
    assert b"Errno" not in done.err and b"Traceback" not in done.err


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("source", "args"),
    [
        ("public", []),
        ("public", ["--eio", "3"]),
        ("public", ["--eio", "4"]),
        ("user", ["some-channel"]),
        ("node", []),
    ],
    ids=["public", "public-eio3", "public-eio4", "user", "node"],
)
@pytest.mark.parametrize("retries", ["0", "1"])
def test_unresolvable_host_exits_3_naming_it(
    source: str, args: list[str], retries: str, tmp_path: Path
) -> None:
    """--url on a host that does not resolve: exit 3, the host named, each retry says why."""
    url = f"ws://{NO_HOST}/ws"

    async def body() -> Done:
        command = ["tail", source, *args, "--url", url, "--retries", retries]
        return await run_wstail(*command, env=wstail_env(tmp_path), timeout=30)

    done = run(body, timeout=40)
    assert done.code == 3, done.err
    assert done.out == b""
    assert b"Traceback" not in done.err
    *notes, last = done.err_lines
    assert last.startswith("wstail: ") and NO_HOST in last
    said = "1 retry" if retries == "1" else f"{retries} retries"  # never "1 retries"
    assert f"after {said}" in last
    assert len(notes) == int(retries)
    why = "cannot resolve the host name: "  # then the resolver's own words
    assert f" {said}: {why}" in last
    for attempt, note in enumerate(notes, start=1):
        pattern = rf"wstail: reconnecting \(attempt {attempt}\) in \S+s after: {why}.+"
        assert re.fullmatch(pattern, note)


# -- 4. bytes that are not UTF-8 inside Engine.IO 3 packets ----------------------------

TICK_1 = '42/public,["stream",{"ticker":{"price":"1.10"}}]'
TICK_2 = '42/public,["stream",{"ticker":{"price":"2.10"}}]'
NOT_UTF8: list[str | bytes] = [
    TextBytes(b'42/public,["stream",{"ticker":{"price":"\xff"}}]'),  # a text frame
    TextBytes(b'42/public,["stream",{"ticker":{"price":"\xe2\x82"}}]'),  # cut in a character
    b'\x04["stream","\xc3\x28"]',  # a binary packet, no binary event waiting for it
    '42/public,["stream",{"ticker":{"price":"\\ud800"}}]',  # UTF-8, but a lone surrogate escape
]
NOT_UTF8_REASONS = [
    {"invalid UTF-8"},
    {"invalid UTF-8"},
    {"binary message with no binary event pending"},
    {"lone surrogate in a string", "Socket.IO packet data is not valid JSON"},
]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("meta", [True, False], ids=["meta", "no-meta"])
def test_invalid_utf8_in_eio3_frames_is_reported_and_the_stream_goes_on(
    meta: bool, tmp_path: Path
) -> None:
    """Frames that are not UTF-8: a meta.bad_frame each (or a stderr line), same connection."""
    env = wstail_env(tmp_path)
    command = ["tail", "public", "-n", "2", "--retries", "0"] + (["--meta"] if meta else [])

    async def body() -> tuple[Done, int]:
        async with RawSioServer([TICK_1, *NOT_UTF8, TICK_2]) as server:
            done = await run_wstail(*command, "--url", server.url, env=env, timeout=30)
            return done, server.connections

    done, connections = run(body, timeout=40)
    assert done.code == 0, done.err
    assert connections == 1  # the connection stayed up
    assert b"Traceback" not in done.err
    if meta:
        assert_clean(done)
        bad = [json.loads(line)["data"] for line in done.lines[2:-1]]
        assert events(done.lines) == ["meta.connected", "ticker", *["meta.bad_frame"] * 4, "ticker"]
        assert all(entry["reason"] in NOT_UTF8_REASONS[i] for i, entry in enumerate(bad)), bad
        assert bad[0]["frame"] == '42/public,["stream",{"ticker":{"price":"\\xff"}}]'
    else:
        assert seqs(done.lines) == [2, 7]
        assert prices(done.lines) == [1.1, 2.1]
        notes = [line for line in done.err_lines if not line.startswith("wstail: connected")]
        assert len(notes) == len(NOT_UTF8_REASONS), done.err
        for note, reasons in zip(notes, NOT_UTF8_REASONS, strict=True):
            assert note.removeprefix("wstail: bad frame: ") in reasons


# -- 5. JSON nested deeper than the encoders and decoders go ----------------------------


def nested(depth: int) -> str:
    """A valid JSON document: `depth` arrays, one in another."""
    return "[" * depth + "]" * depth


def test_dumps_writes_any_depth_exactly() -> None:
    """jsonexact.dumps writes what orjson cannot (255+ levels, ints beyond 64 bits), exactly."""
    import orjson

    from wstail.jsonexact import ExactNumber, dumps

    for depth in DEPTHS:
        value: Any = [ExactNumber("0.10000000000000000001"), 2**70, "é\n"]
        for _ in range(depth):
            value = {"k": [value]}
        inner = '[0.10000000000000000001,1180591620717411303424,"é\\n"]'
        expected = '{"k":[' * depth + inner + "]}" * depth
        assert dumps(value) == expected.encode()
    pretty = dumps({"a": [[]] * 2, "b": {}, "c": 2**64}, option=orjson.OPT_INDENT_2)
    big = b"18446744073709551616"
    assert pretty == b'{\n  "a": [\n    [],\n    []\n  ],\n  "b": {},\n  "c": ' + big + b"\n}"


@pytest.mark.parametrize("mode", ["compact", "--pretty", "--color=always", "-q data"])
@pytest.mark.parametrize("depth", DEPTHS)
def test_deep_ndjson_line_replays_exactly_or_is_reported(
    wstail: RunWstail, tmp_path: Path, depth: int, mode: str
) -> None:
    """A deep envelope in NDJSON prints exactly, or is one FILE:LINE error; the rest prints."""
    head = '{"seq":%d,"recv_ts":"2026-09-23T04:59:43.000000Z","source":"node","event":"status",'
    head += '"event_ts":null,"data":'
    datas = ['{"status":"a"}', '{"status":' + nested(depth) + "}", '{"status":"b"}']
    lines = [(head % seq) + data + "}" for seq, data in enumerate(datas, start=1)]
    path = tmp_path / "deep.jsonl"
    path.write_text("\n".join(lines) + "\n")
    result = wstail("replay", *mode.split()[mode == "compact" :], path)
    assert "Traceback" not in result.stderr
    out = ANSI.sub(b"", result.stdout)
    if mode == "--pretty":  # one document over many lines: compare without the layout
        printed = [b"".join(out.split())]
        shown = [b"".join(line.encode() for line in lines)]
    else:
        printed = out.splitlines()
        chosen = datas if mode == "-q data" else lines
        shown = [line.encode() for line in chosen]
    if depth < 1024:  # what orjson reads
        assert result.code == 0, result.stderr
        assert result.stderr == ""
        assert printed == shown
    else:
        assert result.code == 4
        assert result.stderr.splitlines() == [
            f"{path}:2: invalid JSON (depth limit exceeded)",
            "wstail: replay finished with 1 bad line",
        ]
        if mode != "--pretty":
            assert printed == [shown[0], shown[2]]


def deep_outcome(line: bytes, document: str) -> str:
    """`exact` if the data ends with the document as sent, else the bad_frame reason."""
    # Not json.loads: it recurses, and would fail on the deepest documents itself.
    bad = re.match(rb'\{"seq":\d+,[^[]*"event":"meta\.bad_frame",[^[]*"reason":"([^"]+)"', line)
    if bad is not None:
        return bad.group(1).decode()
    assert line.endswith(b":" + document.encode() + b"}}"), line[:200]
    return "exact"


def expect_deep(depth: int, outcome: str) -> None:
    """Up to 254 levels no encoder limit is near: exact. Beyond orjson's 1024: reported.

    In between the document prints exactly unless a normalizer runs out of
    Python stack (~1000 levels), which is reported too.
    """
    if depth < 900:
        assert outcome == "exact"
    elif depth < 1024:
        assert outcome in ("exact", "JSON nested too deeply")
    else:
        assert outcome == "JSON nested too deeply"


@pytest.mark.parametrize("depth", DEPTHS)
def test_deep_capture_frames_print_exactly_or_are_bad_frames(
    wstail: RunWstail, tmp_path: Path, depth: int
) -> None:
    """A deep frame in a capture (node, Socket.IO) replays exactly or as a bad frame; rest too."""
    document = nested(depth)
    node = write_capture(
        tmp_path / "node.jsonl",
        "node",
        [
            text(0, '{"status":"a"}'),
            text(1, '{"status":' + document + "}"),
            text(2, '{"status":"b"}'),
        ],
    )
    public = write_capture(
        tmp_path / "public.jsonl",
        "paymium.public",
        [
            sio(0, "/public", '["stream",{"ticker":{"price":"1.10"}}]'),
            sio(1, "/public", '["stream",{"ticker":{"price":' + document + "}}]"),
            sio(2, "/public", '["stream",{"ticker":{"price":"2.10"}}]'),
        ],
    )
    for path, kept in ((node, "status"), (public, "ticker")):
        for options in (["--pretty"], ["--color=always"], ["-q", "data"], ["-f", "data"]):
            result = wstail("replay", "--meta", *options, path)
            assert (result.code, result.stderr) == (0, ""), result.stderr
        result = wstail("replay", "--meta", path)
        assert (result.code, result.stderr) == (0, ""), result.stderr
        first, middle, last = result.stdout.splitlines()
        assert [json.loads(line)["event"] for line in (first, last)] == [kept, kept]
        expect_deep(depth, deep_outcome(middle, document))


@pytest.mark.timeout(60)
@pytest.mark.parametrize("peer", ["node", "eio3", "eio4"])
def test_deep_live_frames_print_exactly_or_are_bad_frames(peer: str, tmp_path: Path) -> None:
    """Deep frames from a live node, EIO3 or EIO4 server: exact or a bad frame; nothing lost."""
    env = wstail_env(tmp_path)
    last = "data.status == 'b'" if peer == "node" else "data.price == `2.1`"
    command = ["tail", "node" if peer == "node" else "public", "--meta", "--until", last]
    command += ["--retries", "0"]

    async def body() -> Done:
        if peer == "node":
            node = await NodePeer().start()
            try:
                async with Wstail(*command, "--url", node.url, env=env) as wstail:
                    connection = await node.accepted()
                    await connection.send('{"status": "a"}')
                    for depth in DEPTHS:
                        await connection.send('{"status": ' + nested(depth) + "}")
                    await connection.send('{"status": "b"}')
                    return await wstail.finish(timeout=30)
            finally:
                await node.stop()
        deep = ['["stream",{"ticker":{"price":' + nested(depth) + "}}]" for depth in DEPTHS]
        if peer == "eio3":
            script = [TICK_1, *(f"42/public,{array}" for array in deep), TICK_2]
            async with RawSioServer(script) as server:
                return await run_wstail(*command, "--url", server.url, env=env, timeout=30)
        steps = [ticker_step(1), *({"raw": array} for array in deep), ticker_step(2)]
        async with start_peer("sio4", steps) as sio4:
            return await run_wstail(*command, "--url", sio4.url, env=env, timeout=30)

    done = run(body, timeout=40)
    assert done.code == 0, done.err
    assert done.err == b""
    assert_clean(done)
    assert len(done.lines) == 6
    kept = "status" if peer == "node" else "ticker"
    assert [json.loads(done.lines[i])["event"] for i in (0, 1, 5)] == ["meta.connected", kept, kept]
    for depth, line in zip(DEPTHS, done.lines[2:5], strict=True):
        expect_deep(depth, deep_outcome(line, nested(depth)))


@pytest.mark.timeout(60)
@pytest.mark.parametrize("eio", ["3", "4"])
def test_served_capture_with_deep_frames_keeps_serving(eio: str, tmp_path: Path) -> None:
    """replay --serve of a capture with deep frames: clients get the rest, the server stays up."""
    env = wstail_env(tmp_path)
    frames = [sio(0, "/public", '["stream",{"ticker":{"price":"1.10"}}]')]
    frames += [
        sio(0.001 * depth, "/public", '["stream",{"ticker":{"price":' + nested(depth) + "}}]")
        for depth in DEPTHS
    ]
    frames.append(sio(20, "/public", '["stream",{"ticker":{"price":"2.10"}}]'))
    capture = write_capture(tmp_path / "deep.jsonl", "paymium.public", frames)
    with serving("--eio", eio, "--speed", "10", capture, env=env) as served:
        until = "data.price == `2.1`"
        command = ["tail", "public", "--url", served.base_url, "--meta", "--retries", "0"]
        tail = serve_cli_wstail(*command, "--until", until, env=env, timeout=30)
        code, after = served.stop(signal.SIGINT)
    assert tail.returncode == 0, tail.stderr
    assert b"Traceback" not in tail.stderr
    lines = tail.stdout.splitlines()
    assert seqs(lines) == list(range(1, len(lines) + 1))
    names = events(lines)
    assert names[:2] == ["meta.connected", "ticker"] and names[-1] == "ticker"
    deep = lines[2:-1]
    assert len(deep) == len(DEPTHS)  # both dialects send the frames as recorded
    for depth, line in zip(DEPTHS, deep, strict=True):
        expect_deep(depth, deep_outcome(line, nested(depth)))
    assert code == 130
    notices, others = split_notices(after)  # the server names its one client (tail)
    assert others == ["wstail: interrupted"]
    assert {number for number, _ in notices} <= {1}
    assert not any("Traceback" in line for line in after)


# -- 6. signals: exit 130, one line ----------------------------------------------------

SIGNAL_CASES = [
    ("eio3", signal.SIGINT),
    ("eio3", signal.SIGTERM),
    ("eio3", signal.SIGHUP),
    ("eio4", signal.SIGINT),
    ("eio4", signal.SIGTERM),
    ("eio4", signal.SIGHUP),
    ("reconnecting", signal.SIGHUP),
    ("handshake", signal.SIGHUP),
]


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("phase", "signum"), SIGNAL_CASES, ids=[f"{p}-{s.name}" for p, s in SIGNAL_CASES]
)
def test_signal_during_tail_public_exits_130(
    phase: str, signum: signal.Signals, tmp_path: Path
) -> None:
    """SIGINT/SIGTERM/SIGHUP while streaming, waiting to reconnect or in a handshake: 130."""
    env = wstail_env(tmp_path)
    command = ["tail", "public", "--meta"]

    async def interrupt(url: str, ready: Callable[[list[bytes]], bool] | asyncio.Event) -> Done:
        async with Wstail(*command, "--url", url, env=env) as wstail:
            if isinstance(ready, asyncio.Event):
                async with asyncio.timeout(scaled(20)):
                    await ready.wait()
            else:
                await read_until(wstail, ready)
            wstail.send_signal(signum)
            return await wstail.finish(timeout=20)

    async def body() -> Done:
        if phase == "reconnecting":
            return await interrupt(f"http://127.0.0.1:{closed_port()}", has("meta.reconnecting"))
        if phase == "handshake":  # a server that accepts and never answers the upgrade
            accepted = asyncio.Event()
            async with silent_tcp_server(accepted) as port:
                return await interrupt(f"http://127.0.0.1:{port}", accepted)
        peer = RawSioServer([TICK_1]) if phase == "eio3" else start_peer("python", [ticker_step(1)])
        async with peer:
            return await interrupt(peer.url, has("ticker"))

    done = run(body, timeout=40)
    assert done.code == 130, done.err
    assert done.err_lines == ["wstail: interrupted"]
    if done.out:
        assert_clean(done)


SERVE_CASES = [
    ("node", [], signal.SIGHUP),
    ("node", [], signal.SIGTERM),
    ("public", ["--eio", "3"], signal.SIGHUP),
]


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("source", "args", "signum"),
    SERVE_CASES,
    ids=[f"{source}{''.join(args)}-{s.name}" for source, args, s in SERVE_CASES],
)
def test_signal_stops_replay_serve_and_its_client_exits_3(
    source: str, args: list[str], signum: signal.Signals, tmp_path: Path
) -> None:
    """A node capture or an EIO3 server, a client on it: the signal gives 130; the client 3."""
    env = wstail_env(tmp_path)
    with serving(*args, SAMPLES / f"{source}.jsonl", env=env) as served:
        client = subprocess.Popen(
            [WSTAIL, "tail", source, "--url", served.url, "--retries", "0"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        try:
            assert client.stdout is not None
            assert json.loads(read_line(client.stdout, scaled(10)))["seq"] == 2
            code, after = served.stop(signum)
            _, err = client.communicate(timeout=scaled(20))
        finally:
            if client.poll() is None:
                client.kill()
                client.communicate()
    notices, others = split_notices(after)  # the server names its one client
    assert (code, others) == (130, ["wstail: interrupted"])
    assert {number for number, _ in notices} <= {1}
    assert client.returncode == 3, err
    connected, disconnected, gave_up = err.decode().splitlines()
    assert connected.startswith("wstail: connected to ")
    assert disconnected.startswith("wstail: disconnected: ")
    assert gave_up.startswith("wstail: ") and " after 0 retries: " in gave_up


# -- 7. a long-poll's answer lost in flight: a gap, never a silent one ------------------


@pytest.mark.timeout(90)
@pytest.mark.parametrize("cut", CUTS)
@pytest.mark.parametrize(("kind", "eio"), [("sio2", "3"), ("sio4", "4")])
def test_a_long_poll_answer_lost_in_flight_is_a_marked_gap(
    kind: str, eio: str, cut: str, tmp_path: Path
) -> None:
    """A relay loses a GET's answer holding tickers and resets: meta.disconnected before the
    gap and a reconnect after it; the lost poll is never asked again in the same session.

    The server (polling only) ticks n.10 every 2 ms; the relay loses the
    second answer that holds an event, so the first is printed and the
    lost tickers make a gap in the counter.
    """
    env = wstail_env(tmp_path)
    scenario = {"steps": ticking(1, 5000, every_ms=2), "transports": ["polling"]}
    command = ["tail", "public", "--eio", eio, "--meta", "-n", "100"]

    async def body() -> tuple[Done, list[bytes]]:
        async with start_peer(kind, scenario) as peer:
            async with LossyRelay(peer.port, needle=b'"stream"', lose=2, cut=cut) as relay:
                done = await run_wstail(*command, "--url", relay.url, env=env, timeout=30)
                return done, relay.lost

    done, lost = run(body, timeout=60)
    assert done.code == 0, done.err
    assert done.err == b""
    assert_clean(done)
    assert len(lost) == 1
    lost_prices = [float(price) for price in re.findall(rb'"price":"([0-9.]+)"', lost[0])]
    printed = prices(done.lines)
    assert lost_prices and not set(lost_prices) & set(printed)
    gaps: list[tuple[int, int]] = []
    reasons: list[str] = []
    previous, marked = 0, False
    for line in done.lines:
        event = json.loads(line)
        if event["event"] == "meta.disconnected":
            reasons.append(event["data"]["reason"])
            marked = True
        elif event["event"] == "ticker":
            n = int(event["data"]["price"])
            if previous and n != previous + 1:
                assert marked, f"a silent gap: {previous} then {n}"
                gaps.append((previous, n))
            previous, marked = n, False
    assert gaps and gaps[0][0] < min(lost_prices) < gaps[0][1]
    if cut == "half the body":  # the head came: aiohttp never sent this GET again
        assert reasons == ["the response was cut short"]
    else:
        assert reasons == ["connection reset by peer before the answer to a long-polling GET"]
    names = events(done.lines)
    dropped = names.index("meta.disconnected")
    again = names.index("meta.connected", dropped)
    assert names[1:dropped] == ["ticker"] * (dropped - 1)
    assert set(names[dropped + 1 : again]) == {"meta.reconnecting"}
    assert "ticker" in names[again:]
