"""Engine.IO 4 long-polling: the payload codec, and our client against real servers.

Peers: the official socket.io 4.8 server and python-socketio with
`transports: ['polling']`, socket.io 4.8 behind a loopback proxy that
refuses (or only half refuses) WebSocket upgrades, and a hand-made Engine.IO
4 polling server (helpers/polling_peers.py) for what no real server does on
purpose (broken payloads, a forgotten session).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import signal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers.live import (
    PAYMENT_UUID,
    USER_CHANNEL,
    case_items,
    expected_lines,
    grep_secrets,
    masked,
    paymium_cases,
    run_wstail,
    scenario_steps,
    wstail_env,
)
from helpers.polling_peers import RawPollingServer, UpgradeRefusingProxy
from helpers.sio_peers import (
    NodeSioPeer,
    collect,
    count_sio,
    ensure_node_modules,
    last_is,
    names,
    payloads,
    read_until,
    run,
    start_peer,
    stream,
    stream_payload,
)
from wstail.exitcodes import ConnectError
from wstail.frames import Frame
from wstail.sources.socketio import SocketIOSource
from wstail.sources.socketio.payload import (
    SEPARATOR,
    OversizedPacket,
    Payload4Reader,
    binary_packet4,
    decode_payload4,
)

# -- the payload codec -----------------------------------------------------------------

PACKET = st.text(
    alphabet=st.characters(blacklist_characters=SEPARATOR, blacklist_categories=("Cs",)),
    min_size=1,
)


@given(packets=st.lists(PACKET, min_size=1, max_size=8), data=st.data())
def test_payload4_reader_takes_any_chunking(packets: list[str], data: st.DataObject) -> None:
    """However a response is cut into chunks, the reader gives its packets, the last at close."""
    payload = SEPARATOR.join(packets)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(payload)), max_size=10)))
    reader = Payload4Reader()
    got: list[str] = []
    at = 0
    for cut in [*cuts, len(payload)]:
        got += reader.feed(payload[at:cut])
        at = cut
    got += reader.close()
    assert got == packets
    assert decode_payload4(payload) == packets


def test_payload4_reader_skips_empty_packets() -> None:
    """Separators with nothing between them hold no packet (the EIO3 reader skips empty ones)."""
    reader = Payload4Reader()
    assert reader.feed(f"{SEPARATOR}{SEPARATOR}40{SEPARATOR}") == ["40"]
    assert reader.close() == []


def test_payload4_reader_refuses_a_packet_over_the_limit_before_it_ends() -> None:
    """A packet longer than the limit is refused as soon as that much of it is held."""
    reader = Payload4Reader(10)
    assert reader.feed(f"0123456789{SEPARATOR}01234") == ["0123456789"]
    with pytest.raises(OversizedPacket) as caught:
        reader.feed("567890")  # the second packet reaches 11 characters, unfinished
    assert caught.value.units == 11
    with pytest.raises(OversizedPacket):
        Payload4Reader(3).feed(f"abcd{SEPARATOR}")


def test_b64_binary_packets4() -> None:
    """`b<base64>` is an attachment's bytes alone (no packet type byte, unlike EIO3's `b4`)."""
    assert binary_packet4("b" + base64.b64encode(b"\x00\xff\x04").decode()) == b"\x00\xff\x04"
    assert binary_packet4("b") == b""
    assert binary_packet4("b!!") is None
    assert binary_packet4("42/public,[]") is None


# -- against real servers ----------------------------------------------------------------

POLLING_ONLY = ["sio4", "python"]
PUBLIC_CASES = paymium_cases("/public")
USER_CASES = paymium_cases("/user")


@pytest.fixture(scope="module", autouse=True)
def node_modules() -> None:
    """The pinned socket.io servers are installed (npm install when missing)."""
    ensure_node_modules()


def meta_data(frames: list[Frame], name: str) -> list[dict[str, Any]]:
    """The details of every meta frame called `name`."""
    return [dict(f.data or {}) for f in frames if f.kind == "meta" and f.payload == name]


@pytest.mark.timeout(90)
@pytest.mark.parametrize("eio", ["auto", "4"])
def test_polling_only_socketio4_prints_exact_envelopes(eio: str, tmp_path: Path) -> None:
    """tail public and tail user over EIO4 long-polling: the WebSocket's exact envelopes."""
    public_items = case_items(PUBLIC_CASES)
    user_items = case_items(USER_CASES)
    steps = scenario_steps(PUBLIC_CASES, "/public") + scenario_steps(
        USER_CASES, "/user", after_channels=2
    )
    scenario = {"steps": steps, "transports": ["polling"]}
    env = wstail_env(tmp_path)

    async def body() -> tuple[Any, Any, list[dict[str, Any]]]:
        async with start_peer("sio4", scenario) as peer:
            common = ["--url", peer.url, "--eio", eio, "--meta"]
            public, user = await asyncio.gather(
                run_wstail("tail", "public", *common, "-n", str(len(public_items)), env=env),
                run_wstail(
                    "tail",
                    "user",
                    USER_CHANNEL,
                    PAYMENT_UUID,
                    *common,
                    "-n",
                    str(len(user_items)),
                    env=env,
                ),
            )
            return public, user, peer.log.of("channel")

    public, user, channels = run(body, timeout=60)
    for done, items in ((public, public_items), (user, user_items)):
        assert done.code == 0, done.err
        connected = json.loads(done.lines[0])
        assert connected["event"] == "meta.connected"
        assert connected["data"]["protocol"] == "eio4"
        assert connected["data"]["transport"] == "polling"
        assert [masked(line) for line in done.lines[1:]] == expected_lines(items, 2)
    assert [entry["channel"] for entry in channels] == [USER_CHANNEL, PAYMENT_UUID]
    assert grep_secrets(public.out, public.err, user.out, user.err) == []


PYTHON_SOCKETIO = re.compile(r"\|\s+(socketio|engineio)(\.\S+)?$")


@pytest.mark.parametrize("kind", POLLING_ONLY)
def test_eio4_polling_needs_no_python_socketio(kind: str, tmp_path: Path) -> None:
    """The EIO4 fallback is our own client too: python-socketio and python-engineio stay
    unloaded, and the events are printed as the server sent them."""
    env = wstail_env(tmp_path, PYTHONPROFILEIMPORTTIME="1")
    scenario = {"steps": [stream(1), stream(2)], "transports": ["polling"]}

    async def body() -> Any:
        async with start_peer(kind, scenario) as peer:
            command = ["tail", "public", "--url", peer.url, "--eio", "4", "-n", "2", "--raw"]
            return await run_wstail(*command, env=env)

    done = run(body, timeout=30)
    assert done.code == 0, done.err[-2000:]
    assert [line.decode() for line in done.lines] == [stream_payload(1), stream_payload(2)]
    assert "(eio4, long-polling)" in done.err.decode()
    imported = done.err.decode().splitlines()
    assert [line for line in imported if PYTHON_SOCKETIO.search(line)] == []
    assert any(re.search(r"\|\s+aiohttp$", line) for line in imported)


def test_eio4_on_a_polling_only_socketio2_is_refused_with_a_hint() -> None:
    """--eio 4 at a socket.io 2.x that answers in Engine.IO 3 framing: exit 3 at once, with
    the hint the WebSocket path gives."""
    scenario = {"steps": [stream(1)], "transports": ["polling"]}

    async def body() -> ConnectError:
        async with start_peer("sio2", scenario) as peer:
            source = SocketIOSource(peer.url, "/public", eio="4", retries=3)
            with pytest.raises(ConnectError) as caught:
                await collect(source)
            return caught.value

    error = run(body)
    assert error.message.endswith(
        "speaks Socket.IO 1.x/2.x (Engine.IO 3): use --eio 3 or --eio auto"
    ), error.message
    assert "after" not in error.message  # not retried


@pytest.mark.parametrize("eio", ["auto", "4"])
def test_a_proxy_refusing_websocket_is_read_over_eio4_polling(eio: str) -> None:
    """socket.io 4.8 behind a proxy that answers upgrades with 400: EIO4 polling, the
    upgrade tried once (it fails the same way), not again after a reconnect."""
    steps = [stream(1), {"drop": True}, stream(2, after_connects=2)]

    async def body() -> tuple[list[Frame], list[str]]:
        async with start_peer("sio4", steps) as peer, UpgradeRefusingProxy(peer.port) as proxy:
            source = SocketIOSource(proxy.url, "/public", eio=eio)
            return await collect(source, count_sio(2), timeout=20), proxy.upgrades

    frames, upgrades = run(body, timeout=30)
    assert payloads(frames) == [stream_payload(1), stream_payload(2)]
    connected = meta_data(frames, "meta.connected")
    assert [(c["protocol"], c["transport"]) for c in connected] == [("eio4", "polling")] * 2
    assert "meta.disconnected" in names(frames)
    assert sum("sid=" in target for target in upgrades) == 1  # the one upgrade try
    assert all("EIO=4" in target for target in upgrades if "sid=" in target)


@pytest.mark.parametrize("eio", ["auto", "4"])
def test_an_offered_eio4_upgrade_ends_on_websocket(eio: str) -> None:
    """A bare WebSocket refused, the Engine.IO 4 upgrade of the polling session allowed:
    the session goes on over WebSocket, events in order."""
    steps = [stream(1), {"sleep": 300}, stream(2)]

    async def body() -> tuple[list[Frame], list[str]]:
        async with (
            start_peer("sio4", steps) as peer,
            UpgradeRefusingProxy(peer.port, let_sid=True) as proxy,
        ):
            source = SocketIOSource(proxy.url, "/public", eio=eio)
            return await collect(source, count_sio(2)), proxy.upgrades

    frames, upgrades = run(body)
    assert names(frames) == ["meta.connected", "sio", "sio"]
    assert payloads(frames) == [stream_payload(1), stream_payload(2)]
    connected = meta_data(frames, "meta.connected")[0]
    assert (connected["protocol"], connected["transport"]) == ("eio4", "websocket")
    assert "sid=" in upgrades[-1] and "EIO=4" in upgrades[-1]


def count_ev(ev: str, n: int) -> Any:
    """A peer log condition: n entries of kind `ev`."""
    return lambda entries: sum(e.get("ev") == ev for e in entries) >= n


def test_eio4_polling_answers_every_server_ping() -> None:
    """socket.io 4 (polling only) pinging every 50 ms gets its pongs by POST, so the one
    session stays up."""
    scenario = {"steps": [stream(1)], "pingInterval": 50, "pingTimeout": 5000}
    scenario["transports"] = ["polling"]

    async def body() -> tuple[list[Frame], list[dict[str, Any]]]:
        async with start_peer("sio4", scenario) as peer:
            frames: list[Frame] = []
            reader = asyncio.create_task(
                collect(SocketIOSource(peer.url, "/public", eio="4"), into=frames)
            )
            await peer.log.wait_for(count_ev("pong", 5))
            entries = list(peer.log.entries)
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            return frames, entries

    frames, entries = run(body)
    assert names(frames) == ["meta.connected", "sio"]
    assert meta_data(frames, "meta.connected")[0]["transport"] == "polling"
    assert len({e["conn"] for e in entries if e["ev"] in ("connect", "pong")}) == 1
    assert not [e for e in entries if e["ev"] == "disconnect"]


def test_a_frozen_eio4_polling_server_is_dropped_then_rejoined() -> None:
    """socket.io 4 (polling only) frozen with SIGSTOP sends no ping: dropped after
    pingInterval + pingTimeout while a GET waits on it; then back."""
    second = {"ns": "/public", "event": "stream", "data": {"n": 2}, "after_connects": 2}
    scenario = {
        "steps": [stream(1), second],
        "pingInterval": 100,
        "pingTimeout": 100,
        "transports": ["polling"],
    }

    async def body() -> list[Frame]:
        async with start_peer("sio4", scenario) as peer:
            assert isinstance(peer, NodeSioPeer)
            incoming = aiter(SocketIOSource(peer.url, "/public", eio="4", connect_timeout=2))
            frames: list[Frame] = []
            try:
                await read_until(incoming, frames, count_sio(1))
                peer.send_signal(signal.SIGSTOP)
                try:
                    await read_until(incoming, frames, last_is("meta.disconnected"))
                finally:
                    peer.send_signal(signal.SIGCONT)
                await read_until(incoming, frames, count_sio(2))
            finally:
                await incoming.aclose()
            return frames

    frames = run(body, timeout=30)
    assert names(frames)[:3] == ["meta.connected", "sio", "meta.disconnected"]
    assert frames[2].data == {"reason": "no packet from the server for 0.2 s"}
    assert names(frames)[-2:] == ["meta.connected", "sio"]
    assert payloads(frames) == [stream_payload(1), stream_payload(2)]


# -- against a hand-made server ----------------------------------------------------------


def payload4(*packets: str) -> str:
    """An Engine.IO 4 payload."""
    return SEPARATOR.join(packets)


def test_eio4_requests_carry_headers_query_and_cookies() -> None:
    """-H headers, the URL's query first, `EIO=4`; `b64=1` only on the handshake (for auto's
    sake), the join and the channels POSTed as Socket.IO v5 packets."""
    script = [payload4('42/user,["stream",{"n":1}]')]

    async def body() -> RawPollingServer:
        async with RawPollingServer(script, eio=4) as server:
            url = server.url + "/ws/socket.io?token=s3cr%2Bt"
            source = SocketIOSource(
                url, "/user", ["chan-é"], eio="4", headers={"X-Wstail-Test": "yes"}
            )
            await collect(source, count_sio(1))
            return server

    server = run(body)
    polls = [r for r in server.requests if r.query.get("transport") == "polling"]
    assert len(polls) >= 3
    for request in polls:
        assert request.headers["X-Wstail-Test"] == "yes"
        assert request.raw_path.startswith("/ws/socket.io/?token=s3cr%2Bt&EIO=4&transport=polling")
    assert "b64=1" in polls[0].query_string
    assert all("b64" not in request.query_string for request in polls[1:])
    assert polls[-1].headers["Cookie"] == "io=raw1"
    assert server.posted[:2] == ["40/user,", '42/user,["channel","chan-\\u00e9"]']


def test_broken_eio4_payloads_are_bad_frames_and_a_forgotten_session_reconnects() -> None:
    """Junk packets: meta.bad_frame each, the session goes on; then "Session ID unknown"
    drops it with that reason, and the client opens a new one."""
    script = [
        payload4('42/public,["stream",{"n":1}]'),
        payload4("b!!", "42/public,{}", "\U0001f600"),
        payload4('42/public,["stream",{"n":2}]'),
        "forget",
    ]

    async def body() -> list[Frame]:
        async with RawPollingServer(script, eio=4) as server:
            source = SocketIOSource(server.url, "/public", eio="4", retries=1)
            return await collect(source, count_sio(3))

    frames = run(body)
    assert names(frames)[:6] == [
        "meta.connected",
        "sio",
        "meta.bad_frame",
        "meta.bad_frame",
        "meta.bad_frame",
        "sio",
    ]
    reasons = [d["reason"] for d in meta_data(frames, "meta.bad_frame")]
    assert reasons[0] == "binary packet with invalid base64"
    assert meta_data(frames, "meta.disconnected") == [
        {"reason": "server rejected a long-polling GET: HTTP 400: Session ID unknown"}
    ]
    assert payloads(frames) == [stream_payload(1), stream_payload(2), stream_payload(1)]


def test_an_eio4_packet_over_max_frame_size_drops_the_session_like_websocket() -> None:
    """--max-frame-size: a bigger packet is a meta.bad_frame and the session reconnects."""
    big = '42/public,["stream",{"pad":"' + "x" * 500 + '"}]'
    script = [payload4(big), payload4('42/public,["stream",{"n":2}]')]

    async def body() -> list[Frame]:
        async with RawPollingServer(script, eio=4) as server:
            source = SocketIOSource(server.url, "/public", eio="4", max_frame_size=200)
            return await collect(source, last_is("meta.disconnected"))

    frames = run(body)
    assert names(frames)[:3] == ["meta.connected", "meta.bad_frame", "meta.disconnected"]
    assert meta_data(frames, "meta.bad_frame")[0]["reason"] == "frame over the limit of 200 bytes"


def test_an_eio4_binary_event_comes_whole_from_b64_packets() -> None:
    """`451-` and its `b<base64>` attachment in one payload: one frame, the bytes beside the
    text; an event cut short by a text packet is one meta.bad_frame, the text packet read."""
    pending = '451-/public,["stream",{"_placeholder":true,"num":0}]'
    script = [
        payload4(pending, '42/public,["stream",{"n":1}]'),
        payload4(pending, "b" + base64.b64encode(b"\xde\xad").decode()),
    ]

    async def body() -> list[Frame]:
        async with RawPollingServer(script, eio=4) as server:
            source = SocketIOSource(server.url, "/public", eio="4")
            return await collect(source, count_sio(2))

    frames = run(body)
    assert names(frames)[:4] == ["meta.connected", "meta.bad_frame", "sio", "sio"]
    assert frames[2].payload == stream_payload(1)
    assert frames[3].payload == pending[5:].split(",", 1)[1]
    assert frames[3].data == {"attachments": [b"\xde\xad"]}
