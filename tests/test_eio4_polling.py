"""Engine.IO 4 long-polling: the payload codec, and our client against real servers.

Peers: the official socket.io 4.8 server and python-socketio with
`transports: ['polling']`, and a hand-made Engine.IO 4 polling server
(helpers/polling_peers.py) for what no real server does on purpose (broken
payloads, a forgotten session). The upgrade through a proxy is tested for
both versions in test_eio3_polling.py, the heartbeat in test_socketio_source.py.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers.live import (
    run_wstail,
    wstail_env,
)
from helpers.polling_peers import RawPollingServer, check_exact_envelopes
from helpers.sio_peers import (
    collect,
    count_sio,
    meta_data,
    names,
    payloads,
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


pytestmark = pytest.mark.usefixtures("node_modules")  # npm install when missing


@pytest.mark.timeout(90)
@pytest.mark.parametrize("eio", ["auto", "4"])
def test_polling_only_socketio4_prints_exact_envelopes(eio: str, tmp_path: Path) -> None:
    """tail public and tail user over EIO4 long-polling: the WebSocket's exact envelopes."""
    check_exact_envelopes("sio4", eio, "eio4", tmp_path)


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
