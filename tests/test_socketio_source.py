"""SocketIOSource against the official socket.io servers, python-socketio and hand-made peers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import trustme

from helpers.sio_peers import (
    PEER_KINDS,
    NodeSioPeer,
    RawSioServer,
    StatusServer,
    TextBytes,
    assert_came_back,
    closed_port,
    collect,
    count_sio,
    last_is,
    names,
    payloads,
    read_across_restart,
    read_until,
    run,
    start_peer,
    stream,
    stream_payload,
)
from wstail.exitcodes import ConnectError, ExitCode, UsageError
from wstail.frames import Frame
from wstail.sources.socketio import SocketIOSource, is_stable
from wstail.sources.socketio.codec import Open
from wstail.sources.socketio.protocol import patience
from wstail.sources.socketio.session import parse_target_url, redact_url

EIO_OF = {"sio1": "eio3", "sio2": "eio3", "sio4": "eio4", "python": "eio4"}

# Texts compared to the byte: decimal strings, a JSON number no double holds
# (sent raw by the peers, as JavaScript cannot hold it either), a big integer.
PUBLIC_STEPS: list[dict[str, Any]] = [
    {
        "ns": "/public",
        "event": "stream",
        "data": {"ticker": {"price": "77792.10", "volume": "0.05245168", "at": 1790139583}},
    },
    {
        "ns": "/public",
        "raw": '["stream",{"asks":[{"amount":1234567890.123456789,"price":77792.10,'
        '"n":123456789012345678901234567890}]}]',
    },
    {"ns": "/public", "event": "announcement", "data": [{"message": "hello"}]},
    {"ns": "/public", "event": "stream", "data": {"trades": [{"price": "76360.74"}]}},
]
PUBLIC_PAYLOADS = [
    '["stream",{"ticker":{"price":"77792.10","volume":"0.05245168","at":1790139583}}]',
    '["stream",{"asks":[{"amount":1234567890.123456789,"price":77792.10,'
    '"n":123456789012345678901234567890}]}]',
    '["announcement",[{"message":"hello"}]]',
    '["stream",{"trades":[{"price":"76360.74"}]}]',
]

SECRETS = ("chan-3f0a9d-secret-user", "pay-77c1e2-secret-uuid")


pytestmark = pytest.mark.usefixtures("node_modules")  # npm install when missing


@pytest.mark.parametrize("kind", PEER_KINDS)
def test_public_feed_arrives_exactly(kind: str) -> None:
    """Public events arrive in order with their JSON text kept to the digit (eio auto)."""

    async def body() -> list[Frame]:
        async with start_peer(kind, PUBLIC_STEPS) as peer:
            source = SocketIOSource(peer.url, "/public")
            return await collect(source, count_sio(len(PUBLIC_PAYLOADS)))

    frames = run(body)
    assert names(frames) == ["meta.connected"] + ["sio"] * len(PUBLIC_PAYLOADS)
    assert payloads(frames) == PUBLIC_PAYLOADS
    assert all(f.channel == "/public" for f in frames if f.kind == "sio")
    connected = frames[0].data
    assert connected is not None
    assert connected["protocol"] == EIO_OF[kind]
    assert connected["namespace"] == "/public"
    assert connected["url"].startswith("http://127.0.0.1:")


@pytest.mark.parametrize(
    ("kind", "eio"), [("sio1", "3"), ("sio2", "3"), ("sio4", "4"), ("python", "4")]
)
def test_explicit_eio_version(kind: str, eio: str) -> None:
    """--eio 3 reads socket.io 1.x/2.x and --eio 4 reads socket.io 4 and python-socketio."""

    async def body() -> list[Frame]:
        async with start_peer(kind, PUBLIC_STEPS) as peer:
            source = SocketIOSource(peer.url, "/public", eio=eio)
            assert source.protocol == f"eio{eio}"
            return await collect(source, count_sio(len(PUBLIC_PAYLOADS)))

    frames = run(body)
    assert payloads(frames) == PUBLIC_PAYLOADS
    assert frames[0].data is not None and frames[0].data["protocol"] == f"eio{eio}"


@pytest.mark.parametrize("kind", PEER_KINDS)
def test_drop_mid_stream_reconnects_without_duplicates(kind: str) -> None:
    """A server drop gives disconnected, reconnecting, connected; frames go on, none twice."""
    steps = [stream(1), stream(2), {"drop": True}, stream(3), stream(4)]

    async def body() -> list[Frame]:
        async with start_peer(kind, steps) as peer:
            source = SocketIOSource(peer.url, "/public")
            frames = await collect(source, count_sio(4))
            assert len(peer.log.of("connect")) == 2
            assert source.protocol == EIO_OF[kind]
            return frames

    frames = run(body)
    assert names(frames) == [
        "meta.connected",
        "sio",
        "sio",
        "meta.disconnected",
        "meta.reconnecting",
        "meta.connected",
        "sio",
        "sio",
    ]
    assert payloads(frames) == [stream_payload(n) for n in (1, 2, 3, 4)]
    assert frames[3].data is not None and frames[3].data["reason"]
    assert frames[4].data is not None and frames[4].data["attempt"] == 1
    assert 0.5 <= frames[4].data["delay"] <= 1.5  # socket.io-client's first: 1 s, +-50 %
    assert frames[5].data is not None and frames[5].data["protocol"] == EIO_OF[kind]


@pytest.mark.parametrize("transports", [["websocket"], ["polling"]])
@pytest.mark.parametrize("kind", PEER_KINDS)
def test_a_namespace_disconnect_from_the_server_ends_the_run(
    kind: str, transports: list[str]
) -> None:
    """The server's disconnect of our namespace ends the run, no reconnect (as socket.io-client)."""
    scenario = {"steps": [stream(1), {"end": True}], "transports": transports}

    async def body() -> tuple[list[Frame], int]:
        async with start_peer(kind, scenario) as peer:
            frames = await collect(SocketIOSource(peer.url, "/public"))  # until the source ends
            return frames, len(peer.log.of("connect"))

    frames, connects = run(body)
    assert names(frames) == ["meta.connected", "sio", "meta.disconnected"]
    assert frames[0].data is not None and frames[0].data["transport"] == transports[0]
    assert frames[2].data == {"reason": "the server ended the namespace /public"}
    assert connects == 1


@pytest.mark.parametrize("kind", PEER_KINDS)
def test_user_channels_are_sent_again_after_reconnect(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    """/user emits every channel on each connection, and the IDs never leak."""
    caplog.set_level(logging.DEBUG)
    steps = [
        {"ns": "/user", "event": "stream", "data": {"balance_eur": "1.00"}, "after_channels": 2},
        {"drop": True},
        {"ns": "/user", "event": "stream", "data": {"balance_eur": "2.00"}, "after_channels": 2},
    ]

    async def body() -> tuple[list[Frame], list[dict[str, Any]], str]:
        async with start_peer(kind, steps) as peer:
            source = SocketIOSource(peer.url, "/user", SECRETS)
            frames = await collect(source, count_sio(2))
            return frames, peer.log.of("channel"), repr(source)

    frames, channels, source_repr = run(body)
    assert payloads(frames) == [
        '["stream",{"balance_eur":"1.00"}]',
        '["stream",{"balance_eur":"2.00"}]',
    ]
    assert names(frames).count("meta.connected") == 2
    by_connection: dict[str, list[str]] = {}
    for entry in channels:
        by_connection.setdefault(entry["conn"], []).append(entry["channel"])
    assert list(by_connection.values()) == [list(SECRETS), list(SECRETS)]
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.endswith(".server"))
    shown = "\n".join([source_repr, ours, *(repr(f) for f in frames if f.kind == "meta")])
    for secret in SECRETS:
        assert secret not in shown


@pytest.mark.parametrize("kind", PEER_KINDS)
@pytest.mark.parametrize("eio", ["auto", "explicit"])
def test_namespace_refusal_is_a_connect_error(kind: str, eio: str) -> None:
    """A namespace refused by middleware raises ConnectError at once, channels unsent."""
    scenario = {"steps": [], "refuse": {"/user": "Not authorized"}}
    version = "auto" if eio == "auto" else EIO_OF[kind][-1]

    async def body() -> tuple[list[Frame], ConnectError, int]:
        async with start_peer(kind, scenario) as peer:
            source = SocketIOSource(peer.url, "/user", SECRETS, eio=version, retries=3)
            seen: list[Frame] = []
            with pytest.raises(ConnectError) as caught:
                await collect(source, into=seen)
            return seen, caught.value, len(peer.log.of("channel"))

    seen, error, channels = run(body)
    assert error.message == "namespace /user refused: Not authorized"
    assert error.code == ExitCode.CONNECT
    assert seen == []  # no retry, not even a meta.reconnecting
    assert channels == 0


@pytest.mark.parametrize("kind", PEER_KINDS)
def test_unknown_namespace_is_a_connect_error(kind: str) -> None:
    """A namespace the server does not have raises ConnectError with the server's reason."""

    async def body() -> ConnectError:
        async with start_peer(kind, []) as peer:
            source = SocketIOSource(peer.url, "/nope", retries=3)
            with pytest.raises(ConnectError) as caught:
                await collect(source)
            return caught.value

    error = run(body)
    assert error.message.startswith("namespace /nope refused: ")
    if kind != "python":
        assert error.message == "namespace /nope refused: Invalid namespace"


@pytest.mark.parametrize("status", [401, 403])
@pytest.mark.parametrize("eio", ["auto", "3", "4"])
def test_refused_upgrade_is_not_retried(status: int, eio: str) -> None:
    """HTTP 401/403 on the upgrade raises ConnectError after one request, no retry."""

    async def body() -> tuple[ConnectError, int]:
        async with StatusServer(status) as server:
            source = SocketIOSource(server.url + "/?token=hunter2", "/public", eio=eio)
            with pytest.raises(ConnectError) as caught:
                await collect(source)
            return caught.value, server.requests

    error, requests = run(body)
    assert requests == 1
    assert f"HTTP {status}" in error.message
    assert "hunter2" not in error.message


@pytest.mark.parametrize("eio", ["auto", "3"])
def test_garbage_eio3_packets_become_bad_frames(eio: str) -> None:
    """Undecodable EIO3 packets give meta.bad_frame and the stream goes on."""
    junk: list[str | bytes] = [
        "9",
        "4",
        "",
        "0{broken",
        "42/public,[garbage",
        '42/public,{"not":"an array"}',
        "42/public,[1,2]",
        "45x-/public,[]",  # a binary event without a readable attachment count
        b"\x04binary",  # an attachment no binary event waits for
        "49",
        "x" * 500,
    ]
    script = ['42/public,["stream",{"n":1}]', *junk, '42/public,["stream",{"n":2}]']

    async def body() -> list[Frame]:
        async with RawSioServer(script) as server:
            source = SocketIOSource(server.url, "/public", eio=eio)
            return await collect(source, count_sio(2))

    frames = run(body)
    assert names(frames) == ["meta.connected", "sio"] + ["meta.bad_frame"] * len(junk) + ["sio"]
    assert payloads(frames) == [stream_payload(1), stream_payload(2)]
    bad = [f.data for f in frames if f.payload == "meta.bad_frame"]
    assert all(d is not None and d["reason"] for d in bad)
    assert [d["frame"] for d in bad if d is not None][4] == "42/public,[garbage"
    assert max(len(d["frame"]) for d in bad if d is not None) == 200


@pytest.mark.parametrize("eio", ["auto", "4"])
def test_garbage_socketio_packets_on_eio4_become_bad_frames(eio: str) -> None:
    """Undecodable EIO4 packets give meta.bad_frame, stray binary frames included; it goes on."""
    junk: list[str | bytes] = [
        "42/public,[garbage",
        '42/public,{"not":"an array"}',
        "42/public,[1,2]",
        "49",
        "45x-/public,[]",  # a binary event without a readable attachment count
        b"\x00\x01",  # a binary frame no binary event waits for
        TextBytes(b'42/public,["stream","\xff"]'),
        '0{"sid":"again","upgrades":[],"pingInterval":1,"pingTimeout":1}',
    ]
    script = ['42/public,["stream",{"n":1}]', *junk, '42/public,["stream",{"n":2}]']

    async def body() -> list[Frame]:
        async with RawSioServer(script, eio=4) as server:
            source = SocketIOSource(server.url, "/public", eio=eio)
            return await collect(source, count_sio(2))

    frames = run(body)
    assert names(frames) == ["meta.connected", "sio"] + ["meta.bad_frame"] * len(junk) + ["sio"]
    assert frames[0].data is not None and frames[0].data["protocol"] == "eio4"
    assert payloads(frames) == [stream_payload(1), stream_payload(2)]
    bad = [f.data for f in frames if f.payload == "meta.bad_frame"]
    assert bad[0] == {
        "reason": "Socket.IO packet data is not valid JSON",
        "frame": "42/public,[garbage",
    }
    assert all(d is not None and d["reason"] for d in bad)
    assert [d["reason"] for d in bad if d is not None][-2:] == [
        "invalid UTF-8",
        "unexpected open packet",
    ]


def test_missed_pongs_reconnect() -> None:
    """A server that stops answering pings is dropped after two ping intervals."""

    async def body() -> tuple[list[Frame], RawSioServer]:
        async with RawSioServer(silent=[1]) as server:
            source = SocketIOSource(server.url, "/public", eio="3", ping_interval=0.1)
            frames = await collect(
                source, lambda frames: names(frames).count("meta.connected") == 2
            )
            return frames, server

    frames, server = run(body)
    assert names(frames) == [
        "meta.connected",
        "meta.disconnected",
        "meta.reconnecting",
        "meta.connected",
    ]
    assert frames[1].data == {"reason": "no pong from the server for 0.2 s"}
    assert server.pings[1] >= 2


def test_pings_follow_the_server_interval() -> None:
    """Without --ping-interval the client pings at the server's pingInterval and stays up."""

    async def body() -> RawSioServer:
        async with RawSioServer(ping_interval_ms=50) as server:
            source = SocketIOSource(server.url, "/public")
            reader = asyncio.create_task(collect(source))
            while server.pings.get(1, 0) < 5:  # the server's own count, polled
                await asyncio.sleep(0.01)
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            return server

    server = run(body)
    assert server.connections == 1
    assert server.pings[1] >= 5


def test_retries_exhausted_is_a_connect_error() -> None:
    """With --retries 2 a server that is gone gives two reconnect attempts, then exit 3."""

    async def body() -> tuple[list[Frame], ConnectError]:
        source = SocketIOSource(f"http://127.0.0.1:{closed_port()}", "/public", retries=2)
        seen: list[Frame] = []
        with pytest.raises(ConnectError) as caught:
            await collect(source, into=seen)
        return seen, caught.value

    seen, error = run(body)
    assert names(seen) == ["meta.reconnecting", "meta.reconnecting"]
    assert [f.data["attempt"] for f in seen if f.data] == [1, 2]
    assert error.code == ExitCode.CONNECT
    assert "after 2 retries: " in error.message


def test_retries_zero_gives_up_after_a_drop() -> None:
    """With --retries 0 a drop ends the stream with ConnectError after meta.disconnected."""

    async def body() -> tuple[list[Frame], ConnectError]:
        script = ['42/public,["stream",{"n":1}]']
        async with RawSioServer(script, close_after_script=True) as server:
            source = SocketIOSource(server.url, "/public", retries=0)
            seen: list[Frame] = []
            with pytest.raises(ConnectError) as caught:
                await collect(source, into=seen)
            return seen, caught.value

    seen, error = run(body)
    assert names(seen) == ["meta.connected", "sio", "meta.disconnected"]
    assert "after 0 retries: server closed the connection" in error.message


def test_connections_dropped_at_once_use_up_the_retries() -> None:
    """A server that accepts and drops at once, delivering nothing, cannot loop forever."""

    async def body() -> tuple[list[Frame], ConnectError]:
        async with RawSioServer(close_after_script=True) as server:
            source = SocketIOSource(server.url, "/public", retries=1)
            seen: list[Frame] = []
            with pytest.raises(ConnectError) as caught:
                await collect(source, into=seen)
            return seen, caught.value

    seen, error = run(body)
    assert names(seen) == [
        "meta.connected",
        "meta.disconnected",
        "meta.reconnecting",
        "meta.connected",
        "meta.disconnected",
    ]
    assert "after 1 retry: " in error.message


def test_stable_connection_rule() -> None:
    """A connection counts as a success once it delivered an event or lasted 30 s."""
    assert is_stable(True, 0.0)
    assert is_stable(False, 30.0)
    assert not is_stable(False, 29.9)


def test_eio4_patience_rule() -> None:
    """An Engine.IO 4 server counts as dead after pingInterval + pingTimeout of silence."""
    assert patience(Open("s", 25000, 20000)) == 45.0
    assert patience(Open("s", 100, 100)) == 0.2
    assert patience(Open("s", 1, 0)) == 0.05  # a floor against tiny settings


def test_failed_first_connection_is_retried() -> None:
    """A first attempt refused with HTTP 503 is retried like a drop."""

    async def body() -> tuple[list[Frame], RawSioServer]:
        script = ['42/public,["stream",{"n":1}]']
        async with RawSioServer(script, fail_first=1) as server:
            source = SocketIOSource(server.url, "/public")
            return await collect(source, count_sio(1)), server

    frames, server = run(body)
    assert names(frames) == ["meta.reconnecting", "meta.connected", "sio"]
    assert server.attempts == 2


def test_auto_goes_on_with_its_probe_and_remembers_eio4() -> None:
    """auto's EIO=4 probe of a v5 server becomes the session; a reconnect does not probe again."""

    async def body() -> tuple[list[Frame], RawSioServer]:
        script = ['42/public,["stream",{"n":1}]']
        async with RawSioServer(script, eio=4, close_after_script=True) as server:
            source = SocketIOSource(server.url, "/public")
            return await collect(source, count_sio(2)), server

    frames, server = run(body)
    assert [f.data["protocol"] for f in frames if f.payload == "meta.connected" and f.data] == [
        "eio4",
        "eio4",
    ]
    assert payloads(frames) == [stream_payload(1), stream_payload(1)]
    # one connection per session: the probe went on, the reconnect dialed EIO4 at once
    assert server.connections == 2
    joins = [(n, m) for n, m in server.received if isinstance(m, str) and m.startswith("40")]
    assert joins == [(1, "40/public,"), (2, "40/public,")]
    assert all("EIO=4" in path for path in server.paths)


def test_auto_recognizes_a_v5_server_by_its_namespace_ack() -> None:
    """Without maxPayload (socket.io 3.0-4.1) the v5 ack's sid picks EIO4; channels follow it."""

    async def body() -> tuple[list[Frame], RawSioServer]:
        script = ['42/user,["stream",{"n":1}]']
        async with RawSioServer(script, eio=4, max_payload=False) as server:
            source = SocketIOSource(server.url, "/user", SECRETS)
            return await collect(source, count_sio(1)), server

    frames, server = run(body)
    assert frames[0].data is not None and frames[0].data["protocol"] == "eio4"
    assert payloads(frames) == ['["stream",{"n":1}]']
    assert server.connections == 1
    # the probe's join request, then (the ack told EIO4) the channels on the same connection
    assert [m for _, m in server.received if m != "3"] == [
        "40/user",
        *(f'42/user,["channel","{secret}"]' for secret in SECRETS),
    ]


@pytest.mark.parametrize(
    ("kind", "eio", "hint"),
    [
        ("sio2", "4", "speaks Socket.IO 1.x/2.x (Engine.IO 3): use --eio 3 or --eio auto"),
        (
            "sio4",
            "3",
            "speaks Socket.IO 3/4 (Engine.IO 4), not Engine.IO 3: use --eio 4 or --eio auto",
        ),
        (
            "python",
            "3",
            "speaks Socket.IO 3/4 (Engine.IO 4), not Engine.IO 3: use --eio 4 or --eio auto",
        ),
    ],
    ids=["eio4-vs-sio2", "eio3-vs-sio4", "eio3-vs-python"],
)
def test_a_forced_eio_the_server_does_not_speak_is_refused(kind: str, eio: str, hint: str) -> None:
    """--eio 4 against socket.io 2.x (which ignores EIO=4), --eio 3 against an Engine.IO 4
    server: exit 3, a hint, no retry."""

    async def body() -> tuple[ConnectError, list[Frame]]:
        async with start_peer(kind, []) as peer:
            source = SocketIOSource(peer.url, "/public", eio=eio, retries=3)
            seen: list[Frame] = []
            with pytest.raises(ConnectError) as caught:
                await collect(source, into=seen)
            return caught.value, seen

    error, seen = run(body)
    assert seen == []
    assert error.message.endswith(hint), error.message


# -- EIO4: our client against socket.io 4.8.1 and python-socketio ------------------------


def count_ev(ev: str, n: int) -> Callable[[list[dict[str, Any]]], bool]:
    """A peer log condition: n entries of kind `ev`."""
    return lambda entries: sum(e.get("ev") == ev for e in entries) >= n


@pytest.mark.parametrize("transport", ["websocket", "polling"])
@pytest.mark.parametrize("eio", ["auto", "4"])
def test_eio4_answers_every_server_ping(eio: str, transport: str) -> None:
    """socket.io 4 pinging every 50 ms gets its pongs (over long-polling: POSTed), so the one
    connection stays up."""
    scenario = {"steps": [stream(1)], "pingInterval": 50, "pingTimeout": 5000}
    scenario["transports"] = [transport]

    async def body() -> tuple[list[Frame], list[dict[str, Any]]]:
        async with start_peer("sio4", scenario) as peer:
            frames: list[Frame] = []
            reader = asyncio.create_task(
                collect(SocketIOSource(peer.url, "/public", eio=eio), into=frames)
            )
            await peer.log.wait_for(count_ev("pong", 5))
            entries = list(peer.log.entries)  # before we leave
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            return frames, entries

    frames, entries = run(body)
    assert names(frames) == ["meta.connected", "sio"]
    assert frames[0].data is not None and frames[0].data["transport"] == transport
    connections = {e["conn"] for e in entries if e["ev"] in ("connect", "pong")}
    assert len(connections) == 1
    assert not [e for e in entries if e["ev"] == "disconnect"]


@pytest.mark.parametrize("transport", ["websocket", "polling"])
@pytest.mark.parametrize("eio", ["auto", "4"])
def test_eio4_silent_server_is_dropped_then_rejoined(eio: str, transport: str) -> None:
    """A frozen socket.io 4 (no pings) is dropped after pingInterval + pingTimeout (over
    long-polling: while a GET waits on it); then back."""
    second = {"ns": "/public", "event": "stream", "data": {"n": 2}, "after_connects": 2}
    scenario = {"steps": [stream(1), second], "pingInterval": 100, "pingTimeout": 100}
    scenario["transports"] = [transport]

    async def body() -> list[Frame]:
        async with start_peer("sio4", scenario) as peer:
            assert isinstance(peer, NodeSioPeer)
            incoming = aiter(SocketIOSource(peer.url, "/public", eio=eio))
            frames: list[Frame] = []
            try:
                await read_until(incoming, frames, count_sio(1))
                peer.send_signal(signal.SIGSTOP)  # alive for TCP, silent for Engine.IO
                try:
                    await read_until(incoming, frames, last_is("meta.disconnected"))
                finally:
                    peer.send_signal(signal.SIGCONT)
                await read_until(incoming, frames, count_sio(2))
            finally:
                await incoming.aclose()
            return frames

    frames = run(body)
    assert names(frames)[:3] == ["meta.connected", "sio", "meta.disconnected"]
    assert frames[0].data is not None and frames[0].data["transport"] == transport
    assert frames[2].data == {"reason": "no packet from the server for 0.2 s"}
    assert set(names(frames)[3:-2]) == {"meta.reconnecting"}
    assert names(frames)[-2:] == ["meta.connected", "sio"]
    assert payloads(frames) == [stream_payload(1), stream_payload(2)]


@pytest.mark.parametrize("eio", ["auto", "4"])
def test_eio4_reconnects_after_a_server_restart(eio: str) -> None:
    """socket.io 4 killed, then started again on its port: the client comes back and reads on."""
    frames = run(
        lambda: read_across_restart(
            "sio4", {}, lambda url: SocketIOSource(url, "/public", eio=eio)
        ),
        timeout=30,
    )
    assert_came_back(frames)
    assert frames[-2].data is not None and frames[-2].data["protocol"] == "eio4"


@pytest.mark.parametrize("eio", ["auto", "4"])
def test_eio4_forbidden_by_socketio4_is_not_retried(eio: str) -> None:
    """socket.io 4 refusing the request (allowRequest) is exit 3 at once.

    engine.io answers a refused upgrade with HTTP 400, which sends the client
    to the long-polling fallback, whose handshake gets the 403.
    """

    async def body() -> tuple[ConnectError, list[Frame], list[dict[str, Any]]]:
        async with start_peer("sio4", {"steps": [], "forbid": True}) as peer:
            source = SocketIOSource(peer.url, "/public", eio=eio, retries=3)
            seen: list[Frame] = []
            with pytest.raises(ConnectError) as caught:
                await collect(source, into=seen)
            return caught.value, seen, peer.log.entries

    error, seen, entries = run(body)
    assert seen == []
    assert error.code == ExitCode.CONNECT
    assert error.message.endswith("server refused the polling handshake: HTTP 403")
    assert [e for e in entries if e["ev"] == "connect"] == []


@pytest.mark.parametrize("kind", ["sio4", "python"])
@pytest.mark.parametrize("eio", ["auto", "4"])
def test_polling_only_server_is_read_over_eio4_polling(kind: str, eio: str) -> None:
    """A server that refuses WebSocket (HTTP 400) is read over long-polling, texts verbatim."""
    scenario = {"steps": PUBLIC_STEPS, "transports": ["polling"]}

    async def body() -> list[Frame]:
        async with start_peer(kind, scenario) as peer:
            source = SocketIOSource(peer.url, "/public", eio=eio)
            return await collect(source, count_sio(len(PUBLIC_PAYLOADS)))

    frames = run(body)
    assert names(frames) == ["meta.connected"] + ["sio"] * len(PUBLIC_PAYLOADS)
    assert payloads(frames) == PUBLIC_PAYLOADS
    assert frames[0].data is not None and frames[0].data["protocol"] == "eio4"


@pytest.mark.parametrize("eio", ["3", "4"])
def test_headers_go_on_the_upgrade_request(eio: str) -> None:
    """-H headers are sent with the WebSocket upgrade, whichever the protocol."""

    async def body() -> RawSioServer:
        script = ['42/public,["stream",{"n":1}]']
        async with RawSioServer(script, eio=int(eio)) as server:
            source = SocketIOSource(
                server.url, "/public", eio=eio, headers={"X-Wstail-Test": "yes"}
            )
            await collect(source, count_sio(1))
            return server

    server = run(body)
    assert server.headers[-1]["X-Wstail-Test"] == "yes"
    assert server.paths[-1].startswith("/ws/socket.io/?")
    assert f"EIO={eio}" in server.paths[-1]


@pytest.mark.parametrize("eio", ["auto", "3", "4"])
def test_insecure_accepts_a_self_signed_certificate(eio: str) -> None:
    """--insecure accepts a certificate nobody vouches for; the default refuses it."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)

    async def body() -> tuple[list[Frame], ConnectError]:
        script = ['42/public,["stream",{"n":1}]']
        async with RawSioServer(script, eio=4 if eio == "4" else 3, tls=context) as server:
            source = SocketIOSource(server.url, "/public", eio=eio, insecure=True)
            frames = await collect(source, count_sio(1))
            strict = SocketIOSource(server.url, "/public", eio=eio, retries=0)
            with pytest.raises(ConnectError) as caught:
                await collect(strict)
            return frames, caught.value

    frames, error = run(body)
    assert payloads(frames) == [stream_payload(1)]
    assert "certificate" in error.message.lower() or "ssl" in error.message.lower()


def test_url_path_replaces_the_socketio_path() -> None:
    """A --url with a path uses it as the Socket.IO path; the query goes to the server."""
    assert parse_target_url("https://paymium.com", "/ws/socket.io") == (
        "https",
        "paymium.com",
        "",
        "/ws/socket.io",
    )
    assert parse_target_url("wss://h:8443/other/path/?k=v", "/ws/socket.io") == (
        "https",
        "h:8443",
        "k=v",
        "/other/path",
    )
    with pytest.raises(UsageError):
        parse_target_url("ftp://paymium.com", "/ws/socket.io")


def test_display_url_hides_secrets() -> None:
    """Userinfo and query values never reach meta.connected or messages."""
    assert redact_url("https://u:pw@h/p?token=abc&x") == "https://h/p?token=***&***"
    source = SocketIOSource("https://u:pw@paymium.com/?token=abc", "/user", SECRETS)
    assert source.display_url == "https://paymium.com/?token=***"
    text = repr(source)
    assert "pw" not in text and "abc" not in text
    assert all(secret not in text for secret in SECRETS)


def test_bad_options_are_usage_errors() -> None:
    """An unknown --eio value or namespace is a usage error (exit 2)."""
    with pytest.raises(UsageError):
        SocketIOSource("https://paymium.com", "/public", eio="5")
    with pytest.raises(UsageError):
        SocketIOSource("https://paymium.com", "public")


@pytest.mark.parametrize("eio", ["auto", "3", "4"])
def test_untrusted_certificate_fails_at_once_and_cacert_trusts_it(eio: str, tmp_path: Path) -> None:
    """No retries for a certificate nobody vouches for (exit 3 names --cacert, --insecure);
    --cacert with the private authority's PEM connects."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(pem))

    async def body() -> tuple[list[Frame], ConnectError, float]:
        script = ['42/public,["stream",{"n":1}]']
        async with RawSioServer(script, eio=4 if eio == "4" else 3, tls=context) as server:
            strict = SocketIOSource(server.url, "/public", eio=eio)  # default retries
            started = asyncio.get_running_loop().time()
            with pytest.raises(ConnectError) as caught:
                await collect(strict)
            took = asyncio.get_running_loop().time() - started
            trusted = SocketIOSource(server.url, "/public", eio=eio, cacert=str(pem))
            frames = await collect(trusted, count_sio(1))
            return frames, caught.value, took

    frames, error, took = run(body)
    assert payloads(frames) == [stream_payload(1)]
    assert "TLS certificate not trusted" in error.message
    assert "--cacert FILE" in error.message and "--insecure" in error.message
    assert took < 5  # no backoff: the first refusal ends it (retries would take seconds)


def test_eio4_polling_fallback_honours_cacert(tmp_path: Path) -> None:
    """EIO4 long-polling (a polling-only python-socketio server over TLS): an untrusted
    certificate ends at once naming --cacert; --cacert with the authority connects."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(pem))
    scenario = {"steps": [stream(1)], "transports": ["polling"], "tls": context}

    async def body() -> tuple[list[Frame], ConnectError]:
        async with start_peer("python", scenario) as server:
            strict = SocketIOSource(server.url, "/public", eio="4")
            with pytest.raises(ConnectError) as caught:
                await collect(strict)
            trusted = SocketIOSource(server.url, "/public", eio="4", cacert=str(pem))
            return await collect(trusted, count_sio(1)), caught.value

    frames, error = run(body)
    assert payloads(frames) == [stream_payload(1)]
    assert frames[0].data is not None and frames[0].data["transport"] == "polling"
    assert "TLS certificate not trusted" in error.message and "--cacert FILE" in error.message


def test_closing_reads_past_unread_messages_to_the_servers_close_frame() -> None:
    """A server that streamed faster than we read: closing still ends in its close frame.

    Reading pauses once unread messages pile up, so the server's close frame
    waits behind them: closing resumes reading (and drops them), instead of
    ending on the close timeout with an aborted connection (-n ended a fast
    run 2 s late).
    """
    from websockets.asyncio.server import ServerConnection, serve

    from wstail.sources.socketio import wire
    from wstail.sources.wsconnect import connect

    async def flood(ws: ServerConnection) -> None:
        for n in range(20_000):
            await ws.send(f'42/public,["stream",{{"n":{n}}}]')
        await ws.wait_closed()

    async def body() -> None:
        async with serve(flood, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            ws = await connect(f"ws://127.0.0.1:{port}", close_timeout=60, max_queue=(16, 4))
            assert str((await ws.recv_batch())[0]).startswith("42/public")
            await asyncio.sleep(0.2)  # the rest arrives; reading pauses
            await wire.abort(ws)
            assert ws.close_code == 1000  # the server's own close frame (1006: none came)

    run(body)
