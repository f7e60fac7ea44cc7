"""Engine.IO 3 long-polling: the payload codec, and our client against real servers.

Peers: the official socket.io 1.7.4 and 2.5.0 servers with `transports:
['polling']`, socket.io 2.5.0 (and 4.8, in Engine.IO 4) behind a loopback
proxy that refuses (or, for one test, only half refuses) WebSocket upgrades, as nginx without the
Upgrade headers does, and a hand-made polling server for what no real server
does on purpose (forgetting a session, broken payloads).
"""

from __future__ import annotations

import base64
import json
import re
import signal
import ssl
from pathlib import Path
from typing import Any

import pytest
import trustme
from hypothesis import given
from hypothesis import strategies as st

from helpers.live import (
    Case,
    case_items,
    expected_lines,
    masked,
    paymium_cases,
    run_wstail,
    scenario_steps,
    wstail_env,
)
from helpers.polling_peers import RawPollingServer, UpgradeRefusingProxy, check_exact_envelopes
from helpers.sio_peers import (
    NodeSioPeer,
    PySioPeer,
    assert_came_back,
    collect,
    count_sio,
    last_is,
    meta_data,
    names,
    payloads,
    read_across_restart,
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
    PacketBytes,
    PayloadError,
    PayloadReader,
    ascii_packet,
    binary_packet,
    decode_payload,
    encode_payload,
    js_length,
)

# -- the payload codec -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("packets", "payload"),
    [
        (["6"], "1:6"),
        (["2", '42/public,["t",1.50]'], '1:220:42/public,["t",1.50]'),
        (['42["é😀"]'], '9:42["é😀"]'),  # the emoji is two UTF-16 units
        (["4😀😀😀"], "7:4😀😀😀"),
        (["b4AQID", "3"], "6:b4AQID1:3"),
    ],
)
def test_payload_lengths_count_utf16_units(packets: list[str], payload: str) -> None:
    """`len:packet` framing, len as JavaScript counts it; decoding is the inverse."""
    assert encode_payload(packets) == payload
    assert decode_payload(payload) == packets


@given(st.lists(st.text(min_size=1), max_size=6), st.data())
def test_payload_reader_takes_any_chunking(packets: list[str], data: st.DataObject) -> None:
    """Fed in pieces cut anywhere, the reader gives the same packets as the whole payload."""
    payload = encode_payload(packets)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(payload)), max_size=8)))
    reader = PayloadReader()
    got: list[str] = []
    start = 0
    for cut in [*cuts, len(payload)]:
        got += reader.feed(payload[start:cut])
        start = cut
    reader.close()
    assert got == packets
    assert all(js_length(p) == len(p.encode("utf-16-le")) // 2 for p in packets)


@pytest.mark.parametrize(
    "payload",
    ["x:6", "5:6", ":6", "2:6", "1:😀", "3:😀😀", "1:62", "12345678901234567:6", "٣:abc"],
)
def test_broken_payloads_are_payload_errors(payload: str) -> None:
    """A payload whose lengths do not match its text is a PayloadError, nothing else."""
    with pytest.raises(PayloadError):
        decode_payload(payload)


def test_a_packet_over_the_limit_is_refused_from_its_length() -> None:
    """The reader refuses a packet longer than its limit before holding any of it."""
    reader = PayloadReader(limit=10)
    assert reader.feed("3:abc") == ["abc"]
    with pytest.raises(OversizedPacket) as caught:
        reader.feed("11:")
    assert caught.value.units == 11


def test_b64_binary_packets() -> None:
    """`b<type><base64>` gives the bytes of the WebSocket binary frame; junk gives None."""
    assert binary_packet("b4AQID") == b"\x04\x01\x02\x03"
    assert binary_packet("b4") == b"\x04"
    assert binary_packet("b4not base64!") is None
    assert binary_packet("bx") is None
    assert binary_packet("42[]") is None


def test_packet_bytes_read_engine_io_parser_1_double_encoding() -> None:
    """engine.io-parser 1.x sends UTF-8 bytes as characters; 2.x sends the text itself."""
    old = PacketBytes()
    assert old('42["ok"]') == b'42["ok"]'  # ASCII decides nothing
    assert old.chars_are_bytes is None
    assert old('42["prÃ©vue ð\x9f\x98\x80"]') == '42["prévue 😀"]'.encode()
    assert old.chars_are_bytes is True
    new = PacketBytes()
    assert new('42["prévue 😀"]') == '42["prévue 😀"]'.encode()
    assert new.chars_are_bytes is False
    assert new('42["Ã©"]') == '42["Ã©"]'.encode()  # decided: text stays text


def test_outgoing_packets_are_ascii() -> None:
    """Packets we send carry non-ASCII as JSON escapes, which both parsers read alike."""
    packet = '42/user,["channel","é😀"]'
    assert ascii_packet(packet) == '42/user,["channel","\\u00e9\\ud83d\\ude00"]'
    assert json.loads(ascii_packet(packet)[8:]) == json.loads(packet[8:])


# -- against real servers ----------------------------------------------------------------

PUBLIC_CASES = paymium_cases("/public") + [
    Case(
        {"event": "announcement", "data": [{"title": "Maintenance prévue 🛠️ à 23h"}]},
        [
            (
                "paymium.public",
                "announcement",
                None,
                '{"notices":[{"title":"Maintenance prévue 🛠️ à 23h"}]}',
            )
        ],
    )
]
USER_CASES = paymium_cases("/user")
POLLING_ONLY = ["sio1", "sio2"]


pytestmark = pytest.mark.usefixtures("node_modules")  # npm install when missing


@pytest.mark.timeout(90)
@pytest.mark.parametrize("eio", ["auto", "3"])
@pytest.mark.parametrize("kind", POLLING_ONLY)
def test_polling_only_server_prints_exact_envelopes(kind: str, eio: str, tmp_path: Path) -> None:
    """tail public and tail user over EIO3 long-polling: the WebSocket's exact envelopes."""
    check_exact_envelopes(kind, eio, "eio3", tmp_path, PUBLIC_CASES)


PYTHON_SOCKETIO = re.compile(r"\|\s+(socketio|engineio)(\.\S+)?$")


def test_eio3_polling_needs_no_python_socketio(tmp_path: Path) -> None:
    """The EIO3 fallback is our own client: python-socketio and python-engineio stay unloaded."""
    items = case_items(PUBLIC_CASES[:1])
    scenario = {"steps": scenario_steps(PUBLIC_CASES[:1], "/public"), "transports": ["polling"]}
    env = wstail_env(tmp_path, PYTHONPROFILEIMPORTTIME="1")

    async def body() -> Any:
        async with start_peer("sio2", scenario) as peer:
            command = ["tail", "public", "--url", peer.url, "-n", str(len(items))]
            return await run_wstail(*command, env=env)

    done = run(body, timeout=30)
    assert done.code == 0, done.err[-2000:]
    assert [masked(line) for line in done.lines] == expected_lines(items, 2)
    assert "(eio3, long-polling)" in done.err.decode()
    imported = done.err.decode().splitlines()
    assert [line for line in imported if PYTHON_SOCKETIO.search(line)] == []
    assert any(re.search(r"\|\s+aiohttp$", line) for line in imported)


@pytest.mark.parametrize(
    ("allow_eio3", "eio", "protocol"),
    [(True, "3", "eio3"), (True, "auto", "eio4"), (False, "auto", "eio4"), (False, "3", None)],
    ids=["allowEIO3-eio3", "allowEIO3-auto", "eio4-auto", "eio4-eio3"],
)
def test_socketio4_polling_only_gets_the_right_polling_client(
    allow_eio3: bool, eio: str, protocol: str | None
) -> None:
    """socket.io 4.8 polling only: auto's first GET gets an Engine.IO 4 answer and goes on in
    EIO4; --eio 3 speaks EIO3 to it with allowEIO3, and without it exits 3 with a hint."""
    scenario = {"steps": [stream(1)], "transports": ["polling"], "allowEIO3": allow_eio3}

    async def body() -> list[Frame] | ConnectError:
        async with start_peer("sio4", scenario) as peer:
            source = SocketIOSource(peer.url, "/public", eio=eio, retries=2)
            try:
                return await collect(source, count_sio(1))
            except ConnectError as exc:
                return exc

    got = run(body)
    if protocol is None:
        assert isinstance(got, ConnectError)
        assert got.message.endswith("not Engine.IO 3: use --eio 4 or --eio auto"), got.message
        return
    assert not isinstance(got, ConnectError), got.message
    assert payloads(got) == [stream_payload(1)]
    connected = meta_data(got, "meta.connected")[0]
    assert (connected["protocol"], connected["transport"]) == (protocol, "polling")


def test_auto_goes_on_with_the_engine_io_4_session_its_polling_probe_opened() -> None:
    """auto's first GET opens an Engine.IO 4 session: the client goes on with it, so the
    server holds that one session and no other."""
    scenario = {"steps": [stream(1)], "transports": ["polling"]}

    async def body() -> tuple[list[Frame], int]:
        async with start_peer("python", scenario) as peer:
            assert isinstance(peer, PySioPeer)
            source = SocketIOSource(peer.url, "/public", eio="auto")
            stream_ = aiter(source)
            frames: list[Frame] = []
            try:
                await read_until(stream_, frames, count_sio(1))
                open_sessions = [s for s in peer.sio.eio.sockets.values() if not s.closed]
                return frames, len(open_sessions)  # the Engine.IO sessions it holds open
            finally:
                await stream_.aclose()

    frames, sessions = run(body)
    assert payloads(frames) == [stream_payload(1)]
    assert meta_data(frames, "meta.connected")[0]["protocol"] == "eio4"
    assert sessions == 1


UPGRADE_CASES = [("sio2", "auto", "eio3"), ("sio2", "3", "eio3")]
UPGRADE_CASES += [("sio4", "auto", "eio4"), ("sio4", "4", "eio4")]


@pytest.mark.parametrize(("kind", "eio", "protocol"), UPGRADE_CASES)
def test_a_proxy_refusing_websocket_is_read_over_polling(
    kind: str, eio: str, protocol: str
) -> None:
    """socket.io 2.5 (and 4.8) behind a proxy that answers upgrades with 400: polling, the
    upgrade tried once (it fails the same way), not again after a reconnect."""
    steps = [stream(1), {"drop": True}, stream(2, after_connects=2)]

    async def body() -> tuple[list[Frame], list[str]]:
        async with start_peer(kind, steps) as peer, UpgradeRefusingProxy(peer.port) as proxy:
            source = SocketIOSource(proxy.url, "/public", eio=eio)
            return await collect(source, count_sio(2), timeout=20), proxy.upgrades

    frames, upgrades = run(body, timeout=30)
    assert payloads(frames) == [stream_payload(1), stream_payload(2)]
    connected = meta_data(frames, "meta.connected")
    assert [(c["protocol"], c["transport"]) for c in connected] == [(protocol, "polling")] * 2
    assert "meta.disconnected" in names(frames)
    upgrades_of_a_session = [target for target in upgrades if "sid=" in target]
    assert len(upgrades_of_a_session) == 1  # the one upgrade try
    assert f"EIO={protocol[-1]}" in upgrades_of_a_session[0]


@pytest.mark.parametrize(("kind", "eio", "protocol"), UPGRADE_CASES)
def test_an_offered_upgrade_ends_on_websocket(kind: str, eio: str, protocol: str) -> None:
    """A bare WebSocket refused, the Engine.IO upgrade of the polling session allowed:
    the session goes on over WebSocket, events in order."""
    steps = [stream(1), {"sleep": 300}, stream(2)]

    async def body() -> tuple[list[Frame], list[str]]:
        async with (
            start_peer(kind, steps) as peer,
            UpgradeRefusingProxy(peer.port, let_sid=True) as proxy,
        ):
            source = SocketIOSource(proxy.url, "/public", eio=eio)
            return await collect(source, count_sio(2)), proxy.upgrades

    frames, upgrades = run(body)
    assert names(frames) == ["meta.connected", "sio", "sio"]
    assert payloads(frames) == [stream_payload(1), stream_payload(2)]
    connected = meta_data(frames, "meta.connected")[0]
    assert (connected["protocol"], connected["transport"]) == (protocol, "websocket")
    assert "sid=" in upgrades[-1] and f"EIO={protocol[-1]}" in upgrades[-1]


@pytest.mark.parametrize("kind", POLLING_ONLY)
def test_polling_reconnects_after_a_server_restart(kind: str) -> None:
    """A polling-only server killed, then started again on its port: back, reading on."""
    scenario = {"transports": ["polling"]}
    frames = run(
        lambda: read_across_restart(
            kind, scenario, lambda url: SocketIOSource(url, "/public", eio="3")
        ),
        timeout=30,
    )
    assert_came_back(frames)
    reason = meta_data(frames, "meta.disconnected")[0]["reason"]
    assert "\n" not in reason and reason


def test_a_frozen_polling_server_is_dropped_for_missed_pongs() -> None:
    """socket.io 2.5 (polling only) frozen with SIGSTOP: no pong for two ping intervals."""
    scenario = {"steps": [stream(1), stream(2, after_connects=2)], "transports": ["polling"]}

    async def body() -> list[Frame]:
        async with start_peer("sio2", scenario) as peer:
            assert isinstance(peer, NodeSioPeer)
            source = SocketIOSource(
                peer.url, "/public", eio="3", ping_interval=0.2, connect_timeout=2
            )
            incoming = aiter(source)
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
    assert frames[2].data == {"reason": "no pong from the server for 0.4 s"}
    assert names(frames)[-2:] == ["meta.connected", "sio"]


def test_headers_cookies_and_query_go_on_every_polling_request() -> None:
    """-H headers (a Cookie as given), the URL's query first, and the server's cookies back."""
    script = [encode_payload(['42/public,["stream",{"n":1}]'])]

    async def body() -> RawPollingServer:
        async with RawPollingServer(script) as server:
            headers = {"X-Wstail-Test": "yes", "Cookie": "a=1; b=two words"}
            url = server.url + "/ws/socket.io?token=s3cr%2Bt"
            source = SocketIOSource(url, "/public", eio="3", headers=headers)
            await collect(source, count_sio(1))
            return server

    server = run(body)
    polls = [r for r in server.requests if r.query.get("transport") == "polling"]
    assert len(polls) >= 3
    for request in polls:
        assert request.headers["X-Wstail-Test"] == "yes"
        assert request.raw_path.startswith("/ws/socket.io/?token=s3cr%2Bt&EIO=3&transport=polling")
        assert "b64=1" in request.query_string
    assert polls[0].headers["Cookie"] == "a=1; b=two words"
    assert polls[-1].headers["Cookie"] == "a=1; b=two words; io=raw1"


@pytest.mark.parametrize("how", ["insecure", "cacert"])
def test_tls_settings_hold_for_polling(how: str, tmp_path: Path) -> None:
    """--insecure and --cacert work over long-polling; an untrusted certificate fails at once."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)
    cacert = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(cacert))
    script = [encode_payload(['42/public,["stream",{"n":1}]'])]
    trust: dict[str, Any] = {"insecure": True} if how == "insecure" else {"cacert": str(cacert)}

    async def body() -> tuple[list[Frame], ConnectError]:
        async with RawPollingServer(script, tls=context) as server:
            source = SocketIOSource(server.url, "/public", eio="3", **trust)
            frames = await collect(source, count_sio(1))
            strict = SocketIOSource(server.url, "/public", eio="3", retries=3)
            with pytest.raises(ConnectError) as caught:
                await collect(strict)
            return frames, caught.value

    frames, error = run(body)
    assert payloads(frames) == [stream_payload(1)]
    assert meta_data(frames, "meta.connected")[0]["transport"] == "polling"
    assert "TLS certificate not trusted" in error.message
    assert "after" not in error.message  # not retried


def test_broken_payloads_are_bad_frames_and_a_forgotten_session_reconnects() -> None:
    """Broken framing and junk packets: meta.bad_frame each, the session goes on; then
    "Session ID unknown" drops it with that reason, and the client opens a new one."""
    event = '42/public,["stream",{"n":1}]'
    script = [
        encode_payload([event]),
        "7:abc",  # shorter than its length
        "x:2",  # no length
        encode_payload(["b4!!", "42/public,{}", "\U0001f600"]),
        encode_payload(['42/public,["stream",{"n":2}]']),
        "forget",
    ]

    async def body() -> list[Frame]:
        async with RawPollingServer(script) as server:
            source = SocketIOSource(server.url, "/public", eio="3", retries=1)
            return await collect(source, count_sio(3))

    frames = run(body)
    assert names(frames)[:8] == [
        "meta.connected",
        "sio",
        "meta.bad_frame",
        "meta.bad_frame",
        "meta.bad_frame",
        "meta.bad_frame",
        "meta.bad_frame",
        "sio",
    ]
    reasons = [d["reason"] for d in meta_data(frames, "meta.bad_frame")]
    assert reasons[:2] == [
        "bad long-polling payload: payload shorter than its packet length",
        "bad long-polling payload: bad packet length",
    ]
    assert reasons[2] == "binary packet with invalid base64"
    assert meta_data(frames, "meta.disconnected") == [
        {"reason": "server rejected a long-polling GET: HTTP 400: Session ID unknown"}
    ]
    assert payloads(frames) == [stream_payload(1), stream_payload(2), stream_payload(1)]


@pytest.mark.parametrize("eio", [3, 4])
def test_a_packet_over_max_frame_size_drops_the_session_like_websocket(eio: int) -> None:
    """--max-frame-size: a bigger packet is a meta.bad_frame and the session reconnects
    (Engine.IO 3 refuses it from its length prefix, 4 once that much of it came)."""
    big = '42/public,["stream",{"pad":"' + "x" * 500 + '"}]'
    encode = encode_payload if eio == 3 else SEPARATOR.join
    script = [encode([big]), encode(['42/public,["stream",{"n":2}]'])]

    async def body() -> list[Frame]:
        async with RawPollingServer(script, eio=eio) as server:
            source = SocketIOSource(server.url, "/public", eio=str(eio), max_frame_size=200)
            return await collect(source, last_is("meta.disconnected"))

    frames = run(body)
    assert names(frames)[:3] == ["meta.connected", "meta.bad_frame", "meta.disconnected"]
    assert meta_data(frames, "meta.bad_frame")[0]["reason"] == "frame over the limit of 200 bytes"
    assert meta_data(frames, "meta.disconnected")[0]["reason"] == (
        "frame over the limit of 200 bytes"
    )


def test_a_binary_event_cut_short_on_polling_keeps_the_packet_that_cut_it() -> None:
    """A `451-` event whose attachment never comes: one meta.bad_frame, then the text
    packet that interrupted it is read as usual (both in one payload, as over WebSocket)."""
    pending = '451-/public,["stream",{"_placeholder":true,"num":0}]'
    script = [
        encode_payload([pending, '42/public,["stream",{"n":1}]']),
        encode_payload([pending, "b4" + base64.b64encode(b"\xde\xad").decode()]),
    ]

    async def body() -> list[Frame]:
        async with RawPollingServer(script) as server:
            source = SocketIOSource(server.url, "/public", eio="3")
            return await collect(source, count_sio(2))

    frames = run(body)
    assert names(frames)[:4] == ["meta.connected", "meta.bad_frame", "sio", "sio"]
    assert frames[2].payload == stream_payload(1)
    assert frames[3].data == {"attachments": [b"\xde\xad"]}
