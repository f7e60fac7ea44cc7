"""replay --serve: pacing rules, and serve_capture against real clients on 127.0.0.1.

Clients: the official socket.io-client 4.8 and 2.5 (tests/peers/sio_client.js),
our SocketIOSource (eio auto/3/4) and NodeSource, plain `websockets` and
aiohttp clients for what they cannot show.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from websockets.asyncio.client import connect

from helpers.serve import (
    Served,
    binary,
    capture_opener,
    meta,
    run_js_client,
    sio,
    sio_payloads,
    text,
    write_capture,
)
from helpers.sio_peers import collect, count_sio, payloads, run, scaled
from wstail.capture import CaptureError
from wstail.exitcodes import ConnectError
from wstail.frames import Frame
from wstail.pacing import Pacer, cap_gaps, scale_speed
from wstail.serve import serve_capture, served_capture
from wstail.serve.paymium_sio import EIO3, EIO4, SocketIOServer
from wstail.serve.playback import Playback, Replays
from wstail.serve.sio_polling import (
    decode_payload,
    decode_payload4,
    encode_payload,
    encode_payload4,
)
from wstail.sources.node import NodeSource
from wstail.sources.socketio import SocketIOSource
from wstail.sources.socketio import codec as eio3

S = 1_000_000  # µs per second

# Payload texts compared to the byte: a number no double holds, decimal
# strings, non-ASCII text, an event with two arguments, another event name.
PUBLIC = [
    '["stream",{"asks":[{"amount":1234567890.123456789,"price":"77792.10",'
    '"category":"sell","timestamp":1790139583}]}]',
    '["stream",{"ticker":{"price":"77792.10","volume":"0.05245168","at":1790139583}}]',
    '["announcement",[{"message":"Maintenance à 10h"}]]',
    '["stream",{"trades":[{"price":"76360.74","traded_btc":"0.01"}]},"second"]',
]
USER = [
    '["stream",{"balance_eur":"1.00","locked_eur":"0.50"}]',
    '["stream",{"orders":[{"uuid":"o1","price":77792.10,"state":"active"}]}]',
]
NODE = [
    '{\n    "status": "publishing"\n}',
    '{\n    "walletUpdate": {\n        "BTC": {\n            "confirmed": "123456789012345678901"\n'
    "        }\n    }\n}",
    '{\n    "notification": {\n        "type": "follow",\n        "peerId": "Qm&amp;x"\n    }\n}',
]


def paymium_frames() -> list[Frame]:
    """A mixed capture: public and user frames interleaved, a meta frame among them."""
    return [
        meta(0.0),
        sio(0.010, "/public", PUBLIC[0]),
        sio(0.020, "/user", USER[0]),
        sio(0.500, "/public", PUBLIC[1]),
        meta(0.600, "meta.bad_frame"),
        sio(0.700, "/public", PUBLIC[2]),
        sio(0.800, "/user", USER[1]),
        sio(1.500, "/public", PUBLIC[3]),
    ]


def paymium_capture(tmp_path: Path, frames: list[Frame] | None = None) -> Path:
    """The mixed Paymium capture, as a file."""
    frames = paymium_frames() if frames is None else frames
    return write_capture(tmp_path / "paymium.wstail", "paymium.public", frames)


# Engine.IO 3 payload framing


@pytest.mark.parametrize(
    ("packets", "payload"),
    [
        ([], ""),
        (["6"], "1:6"),
        (["2", '42/public,["t",1.50]'], '1:220:42/public,["t",1.50]'),
        (['42["é😀"]'], '9:42["é😀"]'),  # JavaScript lengths: the emoji is two units
    ],
)
def test_eio3_payload_round_trip(packets: list[str], payload: str) -> None:
    """EIO3 payloads frame each packet as `len:packet`, len in UTF-16 code units."""
    assert encode_payload(packets) == payload
    assert decode_payload(payload) == packets


@pytest.mark.parametrize("payload", ["x:6", "5:6", ":6", "2:6"])
def test_eio3_bad_payloads_are_refused(payload: str) -> None:
    """A payload whose lengths do not match its text is a ValueError."""
    with pytest.raises(ValueError):
        decode_payload(payload)


# Pacing rules


@pytest.mark.parametrize(
    ("times", "max_gap", "expected"),
    [
        ([], None, []),
        ([5 * S], 1.0, [5 * S]),
        ([0, S, 3 * S], None, [0, S, 3 * S]),
        ([0, S, 90 * S, 91 * S], 5.0, [0, S, 6 * S, 7 * S]),
        ([10, 20, 30], 0.0, [10, 10, 10]),
        ([0, 3 * S, 2 * S, 4 * S], None, [0, 3 * S, 3 * S, 5 * S]),  # never back in time
        ([0, 2 * S, 2 * S + 250_000], 0.5, [0, 500_000, 750_000]),
    ],
)
def test_cap_gaps(times: list[int], max_gap: float | None, expected: list[int]) -> None:
    """Gaps longer than max_gap shrink to it; shorter gaps and the first time stay."""
    assert list(cap_gaps(times, max_gap)) == expected


@pytest.mark.parametrize(
    ("virtual", "speed", "expected"),
    [
        ([], 1.0, []),
        ([7 * S, 8 * S, 10 * S], 1.0, [0.0, 1.0, 3.0]),
        ([0, S, 6 * S], 2.0, [0.0, 0.5, 3.0]),
        ([0, S, 6 * S], 10.0, [0.0, 0.1, 0.6]),
        ([0, S, 6 * S], 0.5, [0.0, 2.0, 12.0]),
        ([0, S, 6 * S], None, [0.0, 0.0, 0.0]),
        ([0, S, 6 * S], 0.0, [0.0, 0.0, 0.0]),
        ([0, S, 6 * S], -1.0, [0.0, 0.0, 0.0]),
    ],
)
def test_scale_speed(virtual: list[int], speed: float | None, expected: list[float]) -> None:
    """Due times are seconds after the first item, divided by speed; no speed means at once."""
    assert list(scale_speed(virtual, speed)) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("speed", "max_gap", "times", "expected"),
    [
        (1.0, None, [100 * S, 101 * S, 103 * S], [0.0, 1.0, 3.0]),
        (2.0, None, [100 * S, 101 * S, 103 * S], [0.0, 0.5, 1.5]),
        (1.0, 0.5, [100 * S, 101 * S, 103 * S], [0.0, 0.5, 1.0]),
        (4.0, 1.0, [0, 10 * S, 10 * S + 500_000], [0.0, 0.25, 0.375]),
        (None, 1.0, [0, 10 * S, 20 * S], [0.0, 0.0, 0.0]),
        (1.0, None, [5 * S, 4 * S, 6 * S], [0.0, 0.0, 2.0]),
    ],
)
def test_pacer_matches_the_rules(
    speed: float | None, max_gap: float | None, times: list[int], expected: list[float]
) -> None:
    """Pacer.due gives what cap_gaps + scale_speed give, one frame at a time."""
    pacer = Pacer(speed, max_gap)
    assert [pacer.due(t) for t in times] == pytest.approx(expected)
    assert list(scale_speed(cap_gaps(times, max_gap), speed)) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("speed", "max_gap", "gap", "expected"),
    [
        (1.0, None, 1.0, [0.0, 2.0, 3.0, 5.0]),
        (2.0, None, 1.0, [0.0, 1.0, 1.5, 2.5]),
        (1.0, 0.25, 1.0, [0.0, 0.25, 0.5, 0.75]),
        (1.0, None, 0.0, [0.0, 2.0, 2.0, 4.0]),
    ],
)
def test_pacer_rewind_starts_a_new_pass(
    speed: float, max_gap: float | None, gap: float, expected: list[float]
) -> None:
    """After rewind the same recorded times play again, `gap` after the last frame."""
    pacer = Pacer(speed, max_gap)
    first = [pacer.due(t) for t in (10 * S, 12 * S)]
    pacer.rewind(gap)
    second = [pacer.due(t) for t in (10 * S, 12 * S)]
    assert first + second == pytest.approx(expected)


# Paymium, official clients


@pytest.mark.usefixtures("node_modules")
@pytest.mark.parametrize(("client", "eio"), [("4", "4"), ("2", "3")])
def test_official_client_receives_recorded_events(tmp_path: Path, client: str, eio: str) -> None:
    """socket.io-client 4.8 (EIO4) and 2.5 (EIO3) get the /public events in order, no meta."""
    path = paymium_capture(tmp_path)

    async def body() -> list[dict[str, Any]]:
        async with Served(capture_opener(path), "paymium.public", eio=eio, speed=100) as served:
            return await run_js_client(client, served.url, "/public", len(PUBLIC))

    events = run(body)
    expected = [json.loads(p) for p in PUBLIC]
    assert [e["ns"] for e in events] == ["/public"] * len(PUBLIC)
    assert [[e["event"], *e["args"]] for e in events] == expected


@pytest.mark.usefixtures("node_modules")
@pytest.mark.parametrize(("client", "eio"), [("4", "4"), ("2", "3")])
def test_official_client_gets_user_frames_after_channel(
    tmp_path: Path, client: str, eio: str
) -> None:
    """A client that emits `channel` on /user gets the /user frames, and only those."""
    path = paymium_capture(tmp_path)

    async def body() -> list[dict[str, Any]]:
        async with Served(capture_opener(path), "paymium.user", eio=eio, speed=None) as served:
            return await run_js_client(client, served.url, "/user", len(USER), channel="u-1")

    events = run(body)
    assert [[e["event"], *e["args"]] for e in events] == [json.loads(p) for p in USER]


@pytest.mark.usefixtures("node_modules")
def test_official_client_with_polling_first(tmp_path: Path) -> None:
    """socket.io-client 4.8 with its default transports (polling, then upgrade) reads EIO4."""
    path = paymium_capture(tmp_path)

    async def body() -> list[dict[str, Any]]:
        async with Served(capture_opener(path), "paymium.public", eio="4", speed=None) as served:
            return await run_js_client("4", served.url, "/public", len(PUBLIC), polling=True)

    events = run(body)
    assert [[e["event"], *e["args"]] for e in events] == [json.loads(p) for p in PUBLIC]


@pytest.mark.usefixtures("node_modules")
@pytest.mark.parametrize("namespace", ["/public", "/user"])
def test_official_eio3_client_with_default_transports(tmp_path: Path, namespace: str) -> None:
    """socket.io-client 2.x with its defaults (polling, then upgrade) reads EIO3, every event."""
    path = paymium_capture(tmp_path)
    source = "paymium.public" if namespace == "/public" else "paymium.user"
    expected = PUBLIC if namespace == "/public" else USER
    channel = "u-1" if namespace == "/user" else None

    async def body() -> list[dict[str, Any]]:
        async with Served(capture_opener(path), source, eio="3", speed=1.0) as served:
            return await run_js_client(
                "2", served.url, namespace, len(expected), channel=channel, polling=True
            )

    events = run(body)
    assert [[e["event"], *e["args"]] for e in events] == [json.loads(p) for p in expected]


@pytest.mark.usefixtures("node_modules")
def test_official_eio3_client_polling_only(tmp_path: Path) -> None:
    """socket.io-client 2.x with `transports: ['polling']` reads EIO3 by long-polling alone."""
    path = paymium_capture(tmp_path)

    async def body() -> list[dict[str, Any]]:
        async with Served(capture_opener(path), "paymium.public", eio="3", speed=1.0) as served:
            return await run_js_client("2", served.url, "/public", len(PUBLIC), polling_only=True)

    events = run(body)
    assert [[e["event"], *e["args"]] for e in events] == [json.loads(p) for p in PUBLIC]


# Paymium, our own client


@pytest.mark.parametrize(
    ("client_eio", "server_eio"), [("auto", "3"), ("3", "3"), ("auto", "4"), ("4", "4")]
)
def test_socketio_source_receives_exact_payloads(
    tmp_path: Path, client_eio: str, server_eio: str
) -> None:
    """SocketIOSource receives the recorded payload texts in order, every digit kept."""
    path = paymium_capture(tmp_path)

    async def body() -> list[Frame]:
        async with Served(capture_opener(path), "paymium.public", eio=server_eio, speed=100) as s:
            source = SocketIOSource(s.url, "/public", eio=client_eio, retries=0)
            return await collect(source, count_sio(len(PUBLIC)))

    frames = run(body)
    assert frames[0].data is not None
    assert frames[0].data["protocol"] == f"eio{server_eio}"
    assert payloads(frames) == PUBLIC  # written verbatim in both dialects
    assert all(f.channel == "/public" for f in frames if f.kind == "sio")


@pytest.mark.parametrize("eio", ["3", "4"])
def test_user_frames_only_reach_clients_that_sent_channel(tmp_path: Path, eio: str) -> None:
    """/user frames start with a `channel` emit: a /user client without one gets no replay."""
    path = paymium_capture(tmp_path)
    opener = capture_opener(path)

    async def body() -> tuple[list[Frame], int]:
        async with Served(opener, "paymium.user", eio=eio, speed=None) as served:
            silent: Any = aiter(SocketIOSource(served.url, "/user", eio=eio, retries=0))
            try:
                joined = await anext(silent)  # meta.connected: the server took the join
                assert joined.payload == "meta.connected"
                # A replay starts by opening the capture, at once: had the join
                # started one, it would have been opened before this client's.
                public = SocketIOSource(served.url, "/public", eio=eio, retries=0)
                await collect(public, count_sio(len(PUBLIC)))
                opened = opener.calls
                user = SocketIOSource(served.url, "/user", ["chan-1"], eio=eio, retries=0)
                frames = await collect(user, count_sio(len(USER)))
            finally:
                await silent.aclose()
            return frames, opened

    frames, opened = run(body)
    assert opened == 1  # the /public client's replay only
    assert payloads(frames) == USER


def test_eio3_user_frames_come_after_channel_only(tmp_path: Path) -> None:
    """On one EIO3 socket, /user stays silent (a ping is answered) until `channel` is sent."""
    path = paymium_capture(tmp_path)

    async def body() -> list[str]:
        async with Served(capture_opener(path), "paymium.user", eio="3", speed=None) as served:
            url = f"ws://127.0.0.1:{served.port}/ws/socket.io/?EIO=3&transport=websocket"
            async with connect(url) as ws:
                opened = eio3.decode_packet(await ws.recv())
                assert isinstance(opened, eio3.Open)
                assert opened.max_payload is None and opened.upgrades == ()
                assert await ws.recv() == "40"
                await ws.send("40/user")
                assert await ws.recv() == "40/user"
                await ws.send("40/nope")
                assert await ws.recv() == '44/nope,"Invalid namespace"'
                await ws.send("2")
                assert await ws.recv() == "3"  # nothing of /user before it
                await ws.send(eio3.encode_event("/user", "channel", "chan-1"))
                return [str(await ws.recv()) for _ in USER]

    assert run(body) == [f"42/user,{p}" for p in USER]


def test_eio4_handshake_acks_refusals_and_version(tmp_path: Path) -> None:
    """EIO4 on one socket: maxPayload in the open packet, joins acked with a socket id, an
    unknown namespace refused with a message object; another EIO version refused (HTTP 400)."""
    path = paymium_capture(tmp_path)

    async def body() -> tuple[list[str], int, Any]:
        async with Served(capture_opener(path), "paymium.user", eio="4", speed=None) as served:
            base = f"127.0.0.1:{served.port}/ws/socket.io/"
            async with connect(f"ws://{base}?EIO=4&transport=websocket") as ws:
                opened = eio3.decode_packet(await ws.recv())
                assert isinstance(opened, eio3.Open)
                assert opened.max_payload == 1_000_000 and opened.upgrades == ()
                assert (opened.ping_interval_ms, opened.ping_timeout_ms) == (25_000, 20_000)
                await ws.send("40")
                root = eio3.decode_packet(await ws.recv())
                assert isinstance(root, eio3.Connect) and root.namespace == "/" and root.sid
                await ws.send("40/user,")
                ack = eio3.decode_packet(await ws.recv())
                assert isinstance(ack, eio3.Connect) and ack.namespace == "/user" and ack.sid
                await ws.send("40/nope,")
                refused = await ws.recv()
                await ws.send(eio3.encode_event("/user", "channel", "chan-1"))
                events = [str(await ws.recv()) for _ in USER]
            async with aiohttp.ClientSession() as http:
                url = f"http://{base}?EIO=3&transport=polling"
                async with http.get(url) as response:
                    return [str(refused), *events], response.status, await response.json()

    texts, status, body_json = run(body)
    assert texts[0] == '44/nope,{"message":"Invalid namespace"}'
    assert texts[1:] == [f"42/user,{p}" for p in USER]
    assert (status, body_json) == (400, {"code": 5, "message": "Unsupported protocol version"})


def test_eio4_payload_round_trip() -> None:
    """EIO4 long-polling payloads: packets joined by \\x1e, binary ones as b<base64>."""
    packets: list[str | bytes] = ["0{}", '42/public,["a"]', b"\x00\xff", "6"]
    payload = encode_payload4(packets)
    assert payload == '0{}\x1e42/public,["a"]\x1ebAP8=\x1e6'
    assert decode_payload4("3\x1e42/user,[]") == ["3", "42/user,[]"]
    with pytest.raises(ValueError):
        decode_payload4("")


# Node


def test_node_source_receives_exact_texts(tmp_path: Path) -> None:
    """NodeSource gets the recorded text frames verbatim and binary frames as bytes, in order."""
    frames = [
        meta(0.0),
        text(0.01, NODE[0]),
        binary(0.02, b"\x00\xffbin"),
        text(0.5, NODE[1]),
        text(0.9, NODE[2]),
    ]
    path = write_capture(tmp_path / "node.wstail", "node", frames)

    async def body() -> list[Frame]:
        async with Served(capture_opener(path), "node", speed=100) as served:
            source = NodeSource(served.ws_url, retries=0)
            return await collect(source, lambda got: len(got) >= 5)

    got = run(body)
    assert got[0].payload == "meta.connected"
    assert [(f.kind, f.payload) for f in got[1:]] == [
        ("text", NODE[0]),
        ("binary", b"\x00\xffbin"),
        ("text", NODE[1]),
        ("text", NODE[2]),
    ]


def test_node_server_never_echoes(tmp_path: Path) -> None:
    """Text sent by a client is dropped, not echoed to it or to anyone else."""
    path = write_capture(tmp_path / "node.wstail", "node", [text(0.0, NODE[0]), text(1.0, NODE[1])])

    async def body() -> tuple[list[str | bytes], list[str | bytes]]:
        async with Served(capture_opener(path), "node", speed=20) as served:
            async with connect(served.ws_url) as other, connect(served.ws_url) as talker:
                await talker.send('{"echo": "me"}')
                # the last frame is due 50 ms on: an echo would come before it
                talker_got = [await talker.recv() for _ in range(2)]
                other_got = [await other.recv() for _ in range(2)]
                return talker_got, other_got

    talker_got, other_got = run(body)
    assert talker_got == NODE[:2]
    assert other_got == NODE[:2]


# Pacing, looping, concurrency


@pytest.mark.parametrize("eio", ["3", "4"])
def test_fast_speed_keeps_order_and_loop_repeats(tmp_path: Path, eio: str) -> None:
    """At speed 1000 the order holds, and --loop plays the capture again from its start."""
    path = paymium_capture(tmp_path)

    async def body() -> list[Frame]:
        async with Served(
            capture_opener(path), "paymium.public", eio=eio, speed=1000, loop=True
        ) as served:
            source = SocketIOSource(served.url, "/public", eio=eio, retries=0)
            return await collect(source, count_sio(2 * len(PUBLIC)))

    frames = run(body)
    assert payloads(frames) == PUBLIC * 2


@pytest.mark.parametrize(
    ("source", "eio"), [("paymium.public", "3"), ("paymium.public", "4"), ("node", "4")]
)
def test_full_speed_sends_a_long_capture_whole(tmp_path: Path, source: str, eio: str) -> None:
    """At full speed a capture longer than any send buffer arrives whole and in order."""
    count = 2000
    if source == "node":
        frames = [text(n / 1000, f'{{"n": {n}}}') for n in range(count)]
    else:
        frames = [sio(n / 1000, "/public", f'["stream",{{"n":{n}}}]') for n in range(count)]
    path = write_capture(tmp_path / "long.wstail", source, frames)

    async def body() -> list[Frame]:
        async with Served(capture_opener(path), source, eio=eio, speed=None) as served:
            client: Any = (
                NodeSource(served.ws_url, retries=0)
                if source == "node"
                else SocketIOSource(served.url, "/public", eio=eio, retries=0)
            )
            return await collect(client, lambda got: len(got) > count)

    got = run(body)
    assert [f.payload for f in got[1:]] == [f.payload for f in frames]


def test_recorded_gaps_are_kept_at_speed(tmp_path: Path) -> None:
    """At speed 10 a capture spanning 2 s takes at least 0.2 s; max_gap cuts a 1000 s gap."""
    frames = [sio(0.0, "/public", PUBLIC[0]), sio(2.0, "/public", PUBLIC[1])]
    paced = write_capture(tmp_path / "paced.wstail", "paymium.public", frames)
    idle = [sio(0.0, "/public", PUBLIC[0]), sio(1000.0, "/public", PUBLIC[1])]
    capped = write_capture(tmp_path / "capped.wstail", "paymium.public", idle)

    async def body() -> tuple[float, list[Frame]]:
        async with Served(capture_opener(paced), "paymium.public", eio="3", speed=10) as served:
            started = time.monotonic()
            source = SocketIOSource(served.url, "/public", eio="3", retries=0)
            await collect(source, count_sio(2))
            elapsed = time.monotonic() - started
        async with Served(
            capture_opener(capped), "paymium.public", eio="3", speed=1, max_gap=0.05
        ) as served:
            source = SocketIOSource(served.url, "/public", eio="3", retries=0)
            got = await collect(source, count_sio(2), timeout=5)
        return elapsed, got

    elapsed, got = run(body)
    assert elapsed >= 0.2
    assert payloads(got) == PUBLIC[:2]


@pytest.mark.parametrize("eio", ["3", "4"])
def test_each_client_gets_the_capture_from_its_beginning(tmp_path: Path, eio: str) -> None:
    """A second client joining mid-replay starts at frame one; one leaving stops no one."""
    steps = [sio(0.5 * n, "/public", f'["stream",{{"n":{n}}}]') for n in range(8)]
    path = write_capture(tmp_path / "steps.wstail", "paymium.public", steps)
    expected = sio_payloads(steps, "/public")

    async def body() -> tuple[list[str | bytes], list[str | bytes], list[str | bytes]]:
        async with Served(capture_opener(path), "paymium.public", eio=eio, speed=20) as served:
            first = aiter(SocketIOSource(served.url, "/public", eio=eio, retries=0))
            early: list[Frame] = []
            while sum(f.kind == "sio" for f in early) < 2:
                early.append(await anext(first))
            quitter = SocketIOSource(served.url, "/public", eio=eio, retries=0)
            second = SocketIOSource(served.url, "/public", eio=eio, retries=0)
            left, rest, late = await asyncio.gather(
                collect(quitter, count_sio(1)),
                collect(first, count_sio(len(expected) - 2)),
                collect(second, count_sio(len(expected))),
            )
            return payloads(early + rest), payloads(late), payloads(left)

    first_got, second_got, quitter_got = run(body)
    assert first_got == expected
    assert second_got == expected
    assert quitter_got == expected[:1]


# Lifecycle


@pytest.mark.parametrize(
    ("source", "eio"), [("paymium.public", "3"), ("paymium.public", "4"), ("node", "4")]
)
def test_stop_closes_connected_clients(tmp_path: Path, source: str, eio: str) -> None:
    """Setting stop ends serve_capture at once; connected clients see the server go away."""
    # The second frame an hour later: the capture does not end (ending the session) before stop.
    frames = (
        [text(0.0, NODE[0]), text(3600.0, NODE[0])]
        if source == "node"
        else [sio(0.0, "/public", PUBLIC[0]), sio(3600.0, "/public", PUBLIC[0])]
    )
    path = write_capture(tmp_path / "one.wstail", source, frames)

    async def body() -> tuple[list[Frame], set[asyncio.Task[Any]]]:
        async with Served(capture_opener(path), source, eio=eio) as served:
            client: Any = (
                NodeSource(served.ws_url, retries=0)
                if source == "node"
                else SocketIOSource(served.url, "/public", eio=eio, retries=0)
            )
            stream = aiter(client)
            got = [await anext(stream), await anext(stream)]

            async def read_on() -> None:
                async for frame in stream:
                    got.append(frame)

            # A live client keeps reading (the Socket.IO sources act on the
            # server's close packet only when pulled), while the server stops.
            reader = asyncio.create_task(read_on())
            await served.stopped()
            leftover = asyncio.all_tasks() - {asyncio.current_task(), reader}
            with pytest.raises(Exception, match="retries"):
                await reader
            return got, leftover

    got, leftover = run(body)
    assert [f.kind for f in got[:2]] == ["meta", "text" if source == "node" else "sio"]
    assert got[-1].payload == "meta.disconnected"
    # the client's own tasks may still be winding down (websockets' keepalive); none of the server's
    assert [t for t in leftover if _is_server_task(t)] == []


def _is_server_task(task: asyncio.Task[Any]) -> bool:
    """Whether a task belongs to serve_capture: a replay, aiohttp's server, python-engineio's."""
    if "wstail-replay" in task.get_name():
        return True
    code = getattr(task.get_coro(), "cr_code", None)
    where = code.co_filename if code is not None else ""
    return any(part in where for part in SERVER_MODULES)


SERVER_MODULES = (
    "wstail/serve",
    "engineio/async_server",
    "engineio/async_socket",
    "aiohttp/web_",
)


def test_unreadable_capture_ends_the_server(tmp_path: Path) -> None:
    """An error reading the capture for a client ends serve_capture with that error."""

    def broken() -> Any:
        yield sio(0.0, "/public", PUBLIC[0])
        raise CaptureError("line 3: not JSON")

    async def body() -> None:
        served = await Served(broken, "paymium.public", eio="3", speed=None).__aenter__()
        source = SocketIOSource(served.url, "/public", eio="3", retries=0)
        got: list[Frame] = []
        with pytest.raises(ConnectError):  # the server goes away under the client
            await collect(source, into=got)
        assert payloads(got) == PUBLIC[:1]
        assert served.task is not None
        with pytest.raises(CaptureError, match="line 3"):
            await asyncio.wait_for(served.task, scaled(5))

    run(body)


def test_bad_arguments_raise_value_error() -> None:
    """An unknown capture source or Engine.IO version is a ValueError, before binding."""

    async def body() -> None:
        with pytest.raises(ValueError, match="source"):
            await serve_capture(list, "kraken")
        with pytest.raises(ValueError, match="eio"):
            await serve_capture(list, "paymium.public", eio="5")

    run(body)


def test_busy_port_raises_os_error(tmp_path: Path) -> None:
    """A port that is taken makes serve_capture raise OSError, nothing left running."""
    path = paymium_capture(tmp_path)

    async def body() -> None:
        async with Served(capture_opener(path), "paymium.public", eio="3") as served:
            with pytest.raises(OSError):
                await serve_capture(capture_opener(path), "node", port=served.port)

    run(body)


def test_http_endpoints(tmp_path: Path) -> None:
    """EIO3 refuses an unknown transport with HTTP 400; polling answers --cors origins with CORS."""
    path = paymium_capture(tmp_path)

    async def body() -> tuple[int, dict[str, Any], int, str | None]:
        async with aiohttp.ClientSession() as http:
            async with Served(capture_opener(path), "paymium.public", eio="3") as served:
                url = f"{served.url}/ws/socket.io/?EIO=3&transport=flashsocket"
                async with http.get(url) as response:
                    refused, body = response.status, await response.json()
            cors = ["http://app.example"]
            async with Served(capture_opener(path), "paymium.public", eio="4", cors=cors) as served:
                url = f"{served.url}/ws/socket.io/?EIO=4&transport=polling"
                headers = {"Origin": "http://app.example"}
                async with http.get(url, headers=headers) as response:
                    status = response.status
                    cors = response.headers.get("Access-Control-Allow-Origin")
        return refused, body, status, cors

    refused, answer, status, cors = run(body)
    assert refused == 400 and answer["code"] == 0
    assert status == 200 and cors == "http://app.example"


def test_eio3_polling_cors_for_credentialed_requests(tmp_path: Path) -> None:
    """EIO3 polling echoes a --cors Origin with credentials allowed, and answers the preflight;
    a request without Origin (not from a page) gets no CORS headers."""
    path = paymium_capture(tmp_path)
    origin = {"Origin": "http://app.example"}

    async def body() -> tuple[Any, ...]:
        async with (
            aiohttp.ClientSession() as http,
            Served(
                capture_opener(path), "paymium.public", eio="3", cors=["http://app.example"]
            ) as served,
        ):
            url = f"{served.url}/ws/socket.io/?EIO=3&transport=polling"
            async with http.get(url, headers=origin) as response:
                opened = (response.status, dict(response.headers), await response.text())
            asked = {**origin, "Access-Control-Request-Method": "POST"}
            asked["Access-Control-Request-Headers"] = "content-type"
            async with http.options(url, headers=asked) as response:
                preflight = (response.status, dict(response.headers))
            async with http.get(url) as response:
                anonymous = dict(response.headers)
        return opened, preflight, anonymous

    (status, headers, text), (pre_status, pre_headers), anonymous = run(body)
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == "http://app.example"
    assert headers["Access-Control-Allow-Credentials"] == "true"
    length, _, rest = text.partition(":")
    opened = json.loads(rest[1 : int(length)])
    assert rest[0] == "0" and opened["upgrades"] == ["websocket"]
    assert rest[int(length) :] == "2:40"  # then the connect to "/"
    assert pre_status == 200
    assert pre_headers["Access-Control-Allow-Origin"] == "http://app.example"
    assert pre_headers["Access-Control-Allow-Credentials"] == "true"
    assert "POST" in pre_headers["Access-Control-Allow-Methods"]
    assert pre_headers["Access-Control-Allow-Headers"] == "content-type"
    assert "Access-Control-Allow-Origin" not in anonymous


# -- the heartbeat of the Socket.IO server, both dialects ------------------------


@contextlib.asynccontextmanager
async def quick_heartbeat_server(
    frames: list[Frame], dialect: Any
) -> AsyncIterator[tuple[str, SocketIOServer]]:
    """The Paymium endpoint with a heartbeat of a fraction of a second (engine.io: 25 s)."""
    interval_ms = round(scaled(0.4) * 1000)
    quick = dataclasses.replace(dialect, ping_interval_ms=interval_ms, ping_timeout_ms=interval_ms)
    replays = Replays()
    namespaces = served_capture("paymium.public").namespaces
    playback = Playback(lambda: iter(frames))
    server = SocketIOServer("/ws/socket.io", playback, replays, quick, namespaces)
    app = web.Application()
    server.add_routes(app)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        yield f"127.0.0.1:{runner.addresses[0][1]}", server
    finally:
        await replays.close()
        await server.close()
        await runner.cleanup()


@pytest.mark.parametrize("dialect", [EIO3, EIO4], ids=["eio3", "eio4"])
def test_heartbeat_keeps_a_live_client_and_drops_a_silent_one(dialect: Any) -> None:
    """A client that keeps the heartbeat (EIO3: it pings; EIO4: it answers the server's pings)
    stays for many intervals; a WebSocket that never does is closed after interval + timeout."""
    frames = [sio(0.15 * i, "/public", f'["stream",{{"n":{i}}}]') for i in range(20)]
    eio = dialect.name[-1]

    async def body() -> None:
        async with quick_heartbeat_server(frames, dialect) as (address, _):
            source = SocketIOSource(f"http://{address}", "/public", eio=eio, retries=0)
            got = await collect(source, count_sio(len(frames)), timeout=20)
            assert [f.payload for f in got if f.kind == "sio"] == sio_payloads(frames, "/public")
            assert "meta.disconnected" not in [f.payload for f in got if f.kind == "meta"]

            url = f"ws://{address}/ws/socket.io/?EIO={eio}&transport=websocket"
            started = time.monotonic()
            async with connect(url) as silent:
                await silent.send("40/public" + ("," if eio == "4" else ""))
                received = [message async for message in silent]  # until the server closes
            lasted = time.monotonic() - started
        silence = 2 * scaled(0.4)  # interval + timeout
        assert silence * 0.9 <= lasted <= silence + scaled(5)
        assert received[0].startswith("0{")
        assert ("2" in received) is (eio == "4")  # EIO4: the server pinged, in vain

    run(body, timeout=60)
