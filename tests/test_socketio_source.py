"""SocketIOSource against the official socket.io servers, python-socketio and hand-made peers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from typing import Any

import pytest
import trustme

from sio_peers import (
    PEER_KINDS,
    RawSioServer,
    StatusServer,
    closed_port,
    collect,
    count_sio,
    ensure_node_modules,
    names,
    payloads,
    run,
    start_peer,
)
from wstail.exitcodes import ConnectError, ExitCode, UsageError
from wstail.frames import Frame
from wstail.sources.sio_session import parse_target_url, redact_url
from wstail.sources.socketio import SocketIOSource, is_stable

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


@pytest.fixture(scope="module", autouse=True)
def node_modules() -> None:
    """The pinned socket.io servers are installed (npm install when missing)."""
    ensure_node_modules()


def stream(n: int) -> dict[str, Any]:
    """A public scenario step carrying sequence number n."""
    return {"ns": "/public", "event": "stream", "data": {"n": n}}


def stream_payload(n: int) -> str:
    """The payload text of `stream(n)`."""
    return f'["stream",{{"n":{n}}}]'


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
    assert 0 < frames[4].data["delay"] <= 0.5
    assert frames[5].data is not None and frames[5].data["protocol"] == EIO_OF[kind]


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
        '451-["stream",{"_placeholder":true,"num":0}]',
        b"\x04binary",
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
    """Undecodable Socket.IO packets through python-socketio give meta.bad_frame too."""
    junk: list[str | bytes] = [
        "42/public,[garbage",
        '42/public,{"not":"an array"}',
        "42/public,[1,2]",
        "49",
        '451-/public,["stream",{"_placeholder":true,"num":0}]',
        b"\x00\x01",
    ]
    script = ['42/public,["stream",{"n":1}]', *junk, '42/public,["stream",{"n":2}]']

    async def body() -> list[Frame]:
        async with RawSioServer(script, eio=4) as server:
            source = SocketIOSource(server.url, "/public", eio=eio)
            return await collect(source, count_sio(2))

    frames = run(body)
    assert names(frames) == ["meta.connected", "sio"] + ["meta.bad_frame"] * 5 + ["sio"]
    assert payloads(frames) == [stream_payload(1), stream_payload(2)]
    bad = [f.data for f in frames if f.payload == "meta.bad_frame"]
    assert bad[0] == {
        "reason": "undecodable Socket.IO packet (JSONDecodeError)",
        "frame": "42/public,[garbage",
    }
    assert all(d is not None and d["reason"] for d in bad)


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
    assert "after 1 retries: " in error.message


def test_stable_connection_rule() -> None:
    """A connection counts as a success once it delivered an event or lasted 30 s."""
    assert is_stable(True, 0.0)
    assert is_stable(False, 30.0)
    assert not is_stable(False, 29.9)


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


def test_auto_probes_once_then_remembers_eio4() -> None:
    """auto closes its EIO=4 probe on a v5 server, and reconnects without probing again."""

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
    # probe, python-socketio, python-socketio again: nothing joined the namespace twice
    assert server.connections == 3
    assert [n for n, m in server.received if isinstance(m, str) and m.startswith("40")] == [2, 3]
    assert all("EIO=4" in path for path in server.paths)


def test_auto_recognizes_a_v5_server_by_its_namespace_ack() -> None:
    """Without maxPayload (socket.io 3.0-4.1) the v5 ack's sid picks EIO4, channels unsent."""

    async def body() -> tuple[list[Frame], RawSioServer]:
        script = ['42/user,["stream",{"n":1}]']
        async with RawSioServer(script, eio=4, max_payload=False) as server:
            source = SocketIOSource(server.url, "/user", SECRETS)
            return await collect(source, count_sio(1)), server

    frames, server = run(body)
    assert frames[0].data is not None and frames[0].data["protocol"] == "eio4"
    assert payloads(frames) == ['["stream",{"n":1}]']
    assert server.connections == 2
    sent_on_probe = [m for n, m in server.received if n == 1]
    assert sent_on_probe == ["40/user"]  # the probe joined, then left: no channel on it
    assert [m for n, m in server.received if n == 2 and "channel" in str(m)] == [
        f'42/user,["channel","{secret}"]' for secret in SECRETS
    ]


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
