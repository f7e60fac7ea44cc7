"""The OpenBazaar node source against real WebSocket servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import os
import ssl
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import trustme

from conftest import make_stream
from helpers.node_peers import NodePeer, Tail, free_port, run, scaled, silent_tcp_server
from wstail.capture import CaptureHeader
from wstail.exitcodes import ConnectError, IdleTimeout, UsageError
from wstail.frames import Frame, meta_frame
from wstail.live import pump
from wstail.normalize import normalize_node_frame
from wstail.pipeline import StreamDone
from wstail.recorder import Recorder
from wstail.sources.node import (
    NodeSource,
    handshake_headers,
    is_loopback,
    redact_url,
    websocket_url,
)
from wstail.sources.nodeauth import (
    NodeAuth,
    default_cookie_paths,
    parse_cookie_file,
    resolve_node_auth,
)
from wstail.sources.retry import backoff

PASSWORD = "pw-S3CRET-1"
COOKIE = "ck-S3CRET-2"
SECRETS = (PASSWORD, COOKIE)


def fast() -> Iterator[float]:
    """Reconnect delays short enough for tests."""
    return backoff(base=0.01, cap=0.05)


def digests(payloads: Sequence[str | bytes]) -> list[str]:
    """Short fingerprints of payloads, so a failing comparison prints small."""
    return [
        hashlib.sha256(p.encode() if isinstance(p, str) else p).hexdigest()[:16] for p in payloads
    ]


def meta(frame: Frame) -> tuple[str, dict[str, Any]]:
    """A meta frame as (name, data) for comparisons."""
    assert frame.kind == "meta", frame
    return str(frame.payload), dict(frame.data or {})


async def next_meta(tail: Tail, name: str) -> dict[str, Any]:
    """The next frame, which must be the meta frame `name`; returns its data."""
    frame = await tail.next()
    got, data = meta(frame)
    assert got == name, (got, data)
    return data


def write(path: Path, text: str) -> str:
    """Write `text` to `path` and return the path as a string."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


# -- frames -----------------------------------------------------------------


def test_frames_arrive_exactly_as_sent_and_client_sends_nothing() -> None:
    """Pretty JSON, a 5 MiB frame, binary and garbage arrive intact, in order; nothing goes back."""
    pretty = json.dumps(
        {"notification": {"notificationId": "n1", "type": "follow", "title": "a &amp; b"}},
        indent=4,
        sort_keys=True,
    )
    huge = '{"wallet": "' + "a" * (5 * 2**20) + '"}'
    sent: list[str | bytes] = [pretty, huge, b"\x00\x01\xffbinary", "not json {", "{}"]

    async def body() -> None:
        peer = await NodePeer().start()
        tail = Tail(NodeSource(peer.url, ping_interval=0.05, delays=fast))
        assert await next_meta(tail, "meta.connected") == {"url": peer.url, "protocol": "websocket"}
        server = await peer.accepted()
        for message in sent:
            await server.send(message)
        got = [await tail.next() for _ in sent]
        assert digests([frame.payload for frame in got]) == digests(sent)
        assert [frame.kind for frame in got] == ["text", "text", "binary", "text", "text"]
        assert all(frame.recv_us > 0 and frame.data is None for frame in got)
        # The client answers pings too; still the server sees no data frame.
        await asyncio.wait_for(await server.ping(), scaled(5))
        await tail.close()
        await asyncio.wait_for(server.wait_closed(), scaled(5))
        assert peer.received == []
        assert peer.attempts == 1
        await peer.stop()

    run(body)


def test_burst_is_read_off_the_socket_while_the_consumer_is_busy() -> None:
    """25 MiB sent while nobody pulls frames: the client reads on, the server never stalls."""
    frames = [f"{i:08d}" + base64.b64encode(os.urandom(48 * 1024)).decode() for i in range(400)]

    async def body() -> None:
        peer = await NodePeer().start()
        source = aiter(NodeSource(peer.url, delays=fast))
        assert meta(await anext(source))[0] == "meta.connected"
        server = await peer.accepted()

        async def send_all() -> None:
            for frame in frames:
                await server.send(frame)

        # The node drops a client it cannot write to; here the send must finish
        # before the consumer takes a single frame.
        await asyncio.wait_for(send_all(), scaled(5))
        got = [(await anext(source)).payload for _ in frames]
        assert digests(got) == digests(frames)
        await source.aclose()
        await peer.stop()

    run(body, timeout=20)


def test_batches_hold_every_frame_received_since_the_last_one() -> None:
    """A burst read while nobody pulls comes as few batches sharing a receive time; metas alone."""
    messages = [json.dumps({"status": f"step {i}"}) for i in range(2000)]

    async def body() -> None:
        peer = await NodePeer().start()
        batches = NodeSource(peer.url, delays=fast).batches()
        first = await anext(batches)
        assert [meta(frame)[0] for frame in first] == ["meta.connected"]
        server = await peer.accepted()
        for message in messages:
            await server.send(message)
        await server.ping()  # answered: the pong comes after every message above
        got: list[Frame] = []
        count = 0
        while len(got) < len(messages):
            batch = await anext(batches)
            assert batch and len({frame.recv_us for frame in batch}) == 1
            got += batch
            count += 1
        assert [frame.payload for frame in got] == messages
        assert count < len(messages) // 10  # read in bulk, not one by one
        await server.close(1000)
        assert [meta(frame)[0] for frame in await anext(batches)] == ["meta.disconnected"]
        assert [meta(frame)[0] for frame in await anext(batches)] == ["meta.reconnecting"]
        await batches.aclose()
        await peer.stop()

    run(body)


def test_server_protocol_error_is_reported_and_reconnected() -> None:
    """A frame with an RSV bit (no extension) fails the connection as websockets always did."""

    async def body() -> None:
        peer = await NodePeer().start()
        tail = Tail(NodeSource(peer.url, delays=fast))
        await next_meta(tail, "meta.connected")
        server = await peer.accepted()
        await server.send("fine")
        server.transport.write(b"\xc1\x01x")  # FIN, RSV1, text, 1 byte
        assert (await tail.next()).payload == "fine"
        reason = (await next_meta(tail, "meta.disconnected"))["reason"]
        assert reason == "closed the connection: 1002 (protocol error) reserved bits must be 0"
        await next_meta(tail, "meta.reconnecting")
        await next_meta(tail, "meta.connected")
        await tail.close()
        await peer.stop()

    run(body)


# -- through the pump -------------------------------------------------------


def make_recorder(path: Path) -> Recorder:
    """A node capture recorder writing to `path`."""
    header = CaptureHeader(
        source="node", start_us=1, url="ws://x/ws", protocol="websocket", tool="test"
    )
    return Recorder(str(path), header, private=True)


def test_pump_records_every_frame_before_the_stream_and_stops_inside_a_batch(
    tmp_path: Path,
) -> None:
    """-n 10 ends inside a batch: the capture holds exactly the frames the stream saw, in order."""
    messages = [json.dumps({"status": f"step {i}"}) for i in range(500)]
    capture = tmp_path / "node.jsonl"

    async def body() -> None:
        peer = await NodePeer().start()
        source = NodeSource(peer.url, delays=fast)
        stream, out = make_stream(count=10, meta=True)
        recorder = make_recorder(capture)

        async def send_all() -> None:
            server = await peer.accepted()
            for message in messages:
                await server.send(message)

        sender = asyncio.create_task(send_all())
        with pytest.raises(StreamDone):
            await pump(source, "node", normalize_node_frame, stream, recorder)
        stream.close()  # as run_live does
        recorder.close()
        await sender
        lines = [json.loads(line) for line in out.getvalue().splitlines()]
        assert [line["seq"] for line in lines] == list(range(1, 12))
        assert lines[0]["event"] == "meta.connected"
        assert [line["data"]["status"] for line in lines[1:]] == [f"step {i}" for i in range(10)]
        recorded = [json.loads(line) for line in capture.read_text().splitlines()[1:]]
        assert [row[2] for row in recorded[1:]] == messages[:10]
        await peer.stop()

    run(body)


def test_pump_duration_and_idle_timeout_with_a_batched_source() -> None:
    """--duration ends a flooding node with StreamDone; --idle-timeout a silent one."""

    async def body() -> None:
        peer = await NodePeer().start()

        async def flood() -> None:
            server = await peer.accepted()
            while True:
                for _ in range(100):
                    await server.send('{"status": "busy"}')
                await asyncio.sleep(0)  # send() only yields once the socket buffers are full

        flooder = asyncio.create_task(flood())
        stream, out = make_stream(duration=0.3)
        started = time.monotonic()
        with pytest.raises(StreamDone):
            await pump(NodeSource(peer.url, delays=fast), "node", normalize_node_frame, stream)
        assert time.monotonic() - started >= 0.3
        assert stream.passed > 0
        flooder.cancel()
        stream, out = make_stream(idle_timeout=0.2)
        with pytest.raises(IdleTimeout):
            await pump(NodeSource(peer.url, delays=fast), "node", normalize_node_frame, stream)
        await peer.stop()

    run(body)


def test_pump_still_takes_sources_that_yield_single_frames() -> None:
    """A source without batches() is read frame by frame, as Socket.IO sources are."""

    async def frames() -> AsyncIterator[Frame]:
        yield meta_frame(1, "meta.connected", url="ws://x", protocol="websocket")
        for i in range(3):
            yield Frame(2 + i, "text", json.dumps({"status": f"s{i}"}))

    async def body() -> None:
        stream, out = make_stream()
        await pump(frames(), "node", normalize_node_frame, stream)
        lines = [json.loads(line) for line in out.getvalue().splitlines()]
        assert [(line["seq"], line["data"]["status"]) for line in lines] == [
            (2, "s0"),
            (3, "s1"),
            (4, "s2"),
        ]

    run(body)


# -- reconnecting -----------------------------------------------------------


def test_abrupt_drop_reconnects_with_nothing_lost_or_duplicated() -> None:
    """A cut connection gives disconnected, reconnecting, connected, then the rest of the frames."""
    messages = [json.dumps({"status": f"step {i}"}) for i in range(10)]

    async def body() -> None:
        peer = await NodePeer().start()
        tail = Tail(NodeSource(peer.url, delays=fast))
        await next_meta(tail, "meta.connected")
        first = await peer.accepted()
        for message in messages[:4]:
            await first.send(message)
        got = [(await tail.next()).payload for _ in range(4)]
        first.transport.abort()
        assert "connection lost" in (await next_meta(tail, "meta.disconnected"))["reason"]
        reconnecting = await next_meta(tail, "meta.reconnecting")
        assert reconnecting["attempt"] == 1 and 0 < reconnecting["delay"] <= 0.05
        await next_meta(tail, "meta.connected")
        second = await peer.accepted()
        for message in messages[4:]:  # the server resumes where it was
            await second.send(message)
        got += [(await tail.next()).payload for _ in messages[4:]]
        assert got == messages
        await tail.close()
        await peer.stop()

    run(body)


def test_clean_close_delivers_every_frame_before_the_disconnect() -> None:
    """Frames sent right before a server close frame all arrive, then meta.disconnected."""
    messages = [json.dumps({"n": i}) for i in range(50)]

    async def body() -> None:
        peer = await NodePeer().start()
        tail = Tail(NodeSource(peer.url, delays=fast))
        await next_meta(tail, "meta.connected")
        server = await peer.accepted()
        for message in messages:
            await server.send(message)
        await server.close(1012, "restarting")
        assert [(await tail.next()).payload for _ in messages] == messages
        reason = (await next_meta(tail, "meta.disconnected"))["reason"]
        assert reason == "server closed the connection: 1012 (service restart) restarting"
        await next_meta(tail, "meta.reconnecting")
        await next_meta(tail, "meta.connected")
        await tail.close()
        await peer.stop()

    run(body)


@pytest.mark.parametrize(("code", "ends"), [(4000, True), (4001, False), (1000, False)])
def test_only_wstails_own_close_code_ends_the_run(code: int, ends: bool) -> None:
    """Close code 4000 (the feed is over) ends the run after meta.disconnected; others reconnect."""

    async def body() -> None:
        peer = await NodePeer().start()
        tail = Tail(NodeSource(peer.url, delays=fast))
        await next_meta(tail, "meta.connected")
        server = await peer.accepted()
        await server.send('{"n": 1}')
        await server.close(code, "end of capture")
        assert (await tail.next()).payload == '{"n": 1}'
        reason = (await next_meta(tail, "meta.disconnected"))["reason"]
        if ends:
            assert reason == "the server ended the feed (close code 4000: end of capture)"
            await tail.ended()  # the source returned: nothing more comes
            assert tail.frames.empty() and tail.error is None and peer.attempts == 1
        else:
            assert reason.startswith(f"server closed the connection: {code} ")
            await next_meta(tail, "meta.reconnecting")
            await next_meta(tail, "meta.connected")
        await tail.close()
        await peer.stop()

    run(body)


def test_server_killed_and_restarted_on_the_same_port() -> None:
    """The source keeps retrying while the port is closed and reconnects once it listens again."""

    async def body() -> None:
        peer = await NodePeer().start()
        tail = Tail(NodeSource(peer.url, delays=fast))
        await next_meta(tail, "meta.connected")
        await peer.accepted()
        await peer.kill()
        await next_meta(tail, "meta.disconnected")
        await next_meta(tail, "meta.reconnecting")
        refused = await next_meta(tail, "meta.reconnecting")
        assert refused["reason"] == "connection refused"
        await peer.start(port=peer.port)
        while (frame := await tail.next()).payload != "meta.connected":
            assert frame.kind == "meta"
        server = await peer.accepted()
        await server.send("after restart")
        assert (await tail.next()).payload == "after restart"
        await tail.close()
        await peer.stop()

    run(body)


def test_unanswered_pings_are_detected_within_a_few_intervals() -> None:
    """A server that stops answering pings is declared dead after ~3 intervals and reconnected."""
    interval = 0.1

    async def body() -> None:
        peer = await NodePeer().start()
        tail = Tail(NodeSource(peer.url, ping_interval=interval, delays=fast))
        await next_meta(tail, "meta.connected")
        frozen = await peer.accepted()
        await frozen.send("before")
        assert (await tail.next()).payload == "before"
        frozen.transport.pause_reading()  # pings pile up unread: no pong ever comes
        started = time.monotonic()
        reason = (await next_meta(tail, "meta.disconnected"))["reason"]
        assert time.monotonic() - started < scaled(10 * interval)
        assert reason == "no pong within 0.2s (keepalive ping timeout)"
        await next_meta(tail, "meta.reconnecting")
        await next_meta(tail, "meta.connected")
        fresh = await peer.accepted()
        await fresh.send("after")
        assert (await tail.next()).payload == "after"
        await tail.close()
        await peer.stop()

    run(body)


def test_retries_exhausted_raise_connect_error() -> None:
    """--retries 2 against a closed port: three attempts, then ConnectError naming the cause."""

    async def body() -> None:
        port = await free_port()
        url = f"ws://127.0.0.1:{port}/ws"
        frames = []
        with pytest.raises(ConnectError) as caught:
            async for frame in NodeSource(url, retries=2, delays=fast):
                frames.append(meta(frame))
        assert [name for name, _ in frames] == ["meta.reconnecting", "meta.reconnecting"]
        assert [data["attempt"] for _, data in frames] == [1, 2]
        assert all(data["reason"] == "connection refused" for _, data in frames)
        assert str(caught.value) == (
            f"could not connect to {url} after 2 retries: connection refused"
        )

    run(body)


def test_connect_timeout_bounds_a_handshake_that_never_comes() -> None:
    """A server that accepts TCP but never answers the upgrade costs connect_timeout per attempt."""

    async def body() -> None:
        async with silent_tcp_server() as port:
            started = time.monotonic()
            with pytest.raises(ConnectError) as caught:
                async for _ in NodeSource(
                    f"ws://127.0.0.1:{port}/ws", connect_timeout=0.2, retries=1, delays=fast
                ):
                    pass
            elapsed = time.monotonic() - started
        assert 0.35 <= elapsed < scaled(3)  # two attempts of 0.2 s each
        assert str(caught.value).endswith("after 1 retry: no WebSocket handshake within 0.2s")

    run(body)


# -- credentials ------------------------------------------------------------


def test_basic_auth_accepted() -> None:
    """The right user and password pass the upgrade; the header is standard Basic."""

    async def body() -> None:
        peer = await NodePeer(user="alice", password=PASSWORD).start()
        auth = NodeAuth(user="alice", password=PASSWORD)
        tail = Tail(NodeSource(peer.url, auth=auth, delays=fast))
        await next_meta(tail, "meta.connected")
        assert peer.refused == 0
        await tail.close()
        await peer.stop()

    run(body)


def test_wrong_password_fails_at_once_without_retry() -> None:
    """HTTP 401 on the upgrade raises ConnectError after exactly one attempt, no meta frames."""

    async def body() -> None:
        peer = await NodePeer(user="alice", password=PASSWORD).start()
        source = NodeSource(peer.url, auth=NodeAuth(user="alice", password="wrong-" + PASSWORD))
        frames = []
        with pytest.raises(ConnectError) as caught:
            async for frame in source:
                frames.append(frame)
        assert frames == []
        assert peer.attempts == 1
        assert str(caught.value) == f"{peer.url}: credentials refused (HTTP 401)"
        await peer.stop()

    run(body)


def test_refusal_without_credentials_says_how_to_give_them() -> None:
    """A 403 when nothing was sent points at --cookie-file and --user."""

    async def body() -> None:
        peer = await NodePeer(cookie=COOKIE).start()
        with pytest.raises(ConnectError) as caught:
            async for _ in NodeSource(peer.url):
                pass
        message = str(caught.value)
        assert message.startswith(f"{peer.url}: credentials refused (HTTP 403); ")
        assert "--cookie-file" in message and "--user" in message
        assert peer.attempts == 1
        await peer.stop()

    run(body)


def test_cookie_file_accepted(tmp_path: Path) -> None:
    """--cookie-file's OpenBazaar_Auth_Cookie line is sent as that cookie."""
    cookie_file = write(tmp_path / "cookie", f"# node cookie\nOpenBazaar_Auth_Cookie={COOKIE}\n")

    async def body() -> None:
        peer = await NodePeer(cookie=COOKIE).start()
        auth = resolve_node_auth(None, None, cookie_file, env={"HOME": str(tmp_path / "none")})
        tail = Tail(NodeSource(peer.url, auth=auth, delays=fast))
        await next_meta(tail, "meta.connected")
        assert peer.request_headers[0]["Cookie"] == f"OpenBazaar_Auth_Cookie={COOKIE}"
        await tail.close()
        await peer.stop()

    run(body)


def test_default_cookie_from_home_is_picked_up(tmp_path: Path) -> None:
    """With no auth option, $HOME/.openbazaar/.cookie (as the node writes it) is used."""
    # The node writes the line without a trailing newline.
    write(tmp_path / ".openbazaar" / ".cookie", f"OpenBazaar_Auth_Cookie={COOKIE}")
    auth = resolve_node_auth(None, None, None, env={"HOME": str(tmp_path)})
    assert auth is not None and auth.from_datadir
    assert auth.cookie_path == str(tmp_path / ".openbazaar" / ".cookie")

    async def body() -> None:
        peer = await NodePeer(cookie=COOKIE).start()
        tail = Tail(NodeSource(peer.url, auth=auth, delays=fast))
        await next_meta(tail, "meta.connected")
        await tail.close()
        await peer.stop()

    run(body)


def test_testnet_cookie_is_the_fallback(tmp_path: Path) -> None:
    """Without a mainnet cookie the testnet one is used; mainnet wins when both exist."""
    write(tmp_path / ".openbazaar-testnet" / ".cookie", "OpenBazaar_Auth_Cookie=testnet")
    auth = resolve_node_auth(None, None, None, env={"HOME": str(tmp_path)})
    assert auth is not None and auth.cookie == "testnet"
    write(tmp_path / ".openbazaar" / ".cookie", "OpenBazaar_Auth_Cookie=mainnet")
    auth = resolve_node_auth(None, None, None, env={"HOME": str(tmp_path)})
    assert auth is not None and auth.cookie == "mainnet"


def test_no_auth_against_an_open_node(tmp_path: Path) -> None:
    """No options and no datadir cookie: no credentials at all, and the open node accepts."""
    assert resolve_node_auth(None, None, None, env={"HOME": str(tmp_path)}) is None

    async def body() -> None:
        peer = await NodePeer().start()
        tail = Tail(NodeSource(peer.url, delays=fast))
        await next_meta(tail, "meta.connected")
        headers = peer.request_headers[0]
        assert "Authorization" not in headers and "Cookie" not in headers
        assert headers["User-Agent"].startswith("wstail/")
        await tail.close()
        await peer.stop()

    run(body)


def test_url_userinfo_is_basic_auth_and_never_shown() -> None:
    """ws://user:pass@host works as Basic auth; meta.connected shows the URL without it."""

    async def body() -> None:
        peer = await NodePeer(user="alice", password=PASSWORD).start()
        url = f"ws://alice:{PASSWORD}@127.0.0.1:{peer.port}/ws?token={COOKIE}"
        source = NodeSource(url, delays=fast)
        assert PASSWORD not in repr(source)
        tail = Tail(source)
        data = await next_meta(tail, "meta.connected")
        assert data["url"] == f"ws://127.0.0.1:{peer.port}/ws?token=***"
        await tail.close()
        await peer.stop()

    run(body)


def test_insecure_accepts_a_self_signed_certificate_and_default_refuses_it() -> None:
    """wss:// with an untrusted certificate: --insecure connects, the default fails at once."""
    authority = trustme.CA()
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(tls)

    async def body() -> None:
        peer = await NodePeer(tls=tls).start()
        tail = Tail(NodeSource(peer.url, insecure=True, delays=fast))
        assert (await next_meta(tail, "meta.connected"))["url"].startswith("wss://")
        server = await peer.accepted()
        await server.send("over tls")
        assert (await tail.next()).payload == "over tls"
        await tail.close()
        with pytest.raises(ConnectError) as caught:
            async for _ in NodeSource(peer.url, delays=fast):
                pass
        assert "TLS certificate not trusted" in str(caught.value)
        assert "--insecure" in str(caught.value)
        await peer.stop()

    run(body)


# -- resolve_node_auth ------------------------------------------------------


def test_password_comes_from_file_first_line_then_environment(tmp_path: Path) -> None:
    """--password-file's first line (only its newline stripped) wins over WSTAIL_NODE_PASSWORD."""
    password_file = write(tmp_path / "pw", f"{PASSWORD}\x0c\r\nsecond line\n")
    env = {"WSTAIL_NODE_PASSWORD": "from-env", "HOME": str(tmp_path)}
    auth = resolve_node_auth("alice", password_file, None, env)
    assert auth == NodeAuth(user="alice", password=PASSWORD + "\x0c")
    assert resolve_node_auth("alice", None, None, env) == NodeAuth(
        user="alice", password="from-env"
    )
    token = base64.b64encode(f"alice:{PASSWORD}\x0c".encode()).decode()
    assert auth is not None and auth.headers() == {"Authorization": f"Basic {token}"}


@pytest.mark.parametrize(
    ("user", "password_file", "cookie_file", "files", "message"),
    [
        (
            "alice",
            None,
            None,
            {},
            "--user needs a password: give --password-file FILE or set WSTAIL_NODE_PASSWORD",
        ),
        (
            "alice",
            "/nonexistent/pw",
            None,
            {},
            "cannot read --password-file /nonexistent/pw: No such file or directory",
        ),
        (
            "alice",
            "pw",
            None,
            {"pw": "\n" + PASSWORD},
            "--password-file {pw}: the first line is empty",
        ),
        (None, "pw", None, {"pw": PASSWORD}, "--password-file needs --user NAME"),
        (
            "alice",
            None,
            "ck",
            {"ck": f"OpenBazaar_Auth_Cookie={COOKIE}"},
            "give either --user (Basic auth) or --cookie-file, not both",
        ),
        ("a:b", None, None, {}, "--user cannot contain ':' (HTTP Basic auth forbids it)"),
        (
            None,
            None,
            "ck",
            {"ck": f"Cookie={COOKIE}\n"},
            "cookie file {ck}: no line OpenBazaar_Auth_Cookie=<value> in it",
        ),
        (
            None,
            None,
            "ck",
            {"ck": "OpenBazaar_Auth_Cookie=\n"},
            "cookie file {ck}: the OpenBazaar_Auth_Cookie value is empty",
        ),
        (
            None,
            None,
            "ck",
            {"ck": f"OpenBazaar_Auth_Cookie={COOKIE}; x=y"},
            "cookie file {ck}: the OpenBazaar_Auth_Cookie value has characters"
            " a cookie cannot carry",
        ),
        (
            None,
            None,
            "/nonexistent/ck",
            {},
            "cannot read --cookie-file /nonexistent/ck: No such file or directory",
        ),
    ],
)
def test_resolve_node_auth_errors(
    tmp_path: Path,
    user: str | None,
    password_file: str | None,
    cookie_file: str | None,
    files: dict[str, str],
    message: str,
) -> None:
    """Bad NODE options give one clear line that names the file and never its content."""
    paths = {name: write(tmp_path / name, text) for name, text in files.items()}
    if password_file in paths:
        password_file = paths[password_file]
    if cookie_file in paths:
        cookie_file = paths[cookie_file]
    env = {"HOME": str(tmp_path)}
    with pytest.raises(UsageError) as caught:
        resolve_node_auth(user, password_file, cookie_file, env)
    assert str(caught.value) == message.format(**paths)
    for secret in SECRETS:
        assert secret not in str(caught.value) and secret not in repr(caught.value)


def test_malformed_default_cookie_is_a_usage_error(tmp_path: Path) -> None:
    """A datadir cookie without the expected line is reported by path, like the node does."""
    path = write(tmp_path / ".openbazaar" / ".cookie", COOKIE)
    with pytest.raises(UsageError) as caught:
        resolve_node_auth(None, None, None, env={"HOME": str(tmp_path)})
    assert str(caught.value) == f"cookie file {path}: no line OpenBazaar_Auth_Cookie=<value> in it"
    assert COOKIE not in repr(caught.value)


def test_default_cookie_paths_per_platform() -> None:
    """Datadirs of current and 2.0-era nodes, mainnet before testnet, per platform."""
    assert [str(p) for p in default_cookie_paths("/h", "linux")] == [
        "/h/.openbazaar/.cookie",
        "/h/.openbazaar-testnet/.cookie",
        "/h/.openbazaar2.0/.cookie",
        "/h/.openbazaar2.0-testnet/.cookie",
    ]
    mac = default_cookie_paths("/Users/a", "darwin")[0]
    assert str(mac) == "/Users/a/Library/Application Support/openbazaar/.cookie"


def test_parse_cookie_file_takes_the_cookie_line() -> None:
    """The value is what follows OpenBazaar_Auth_Cookie= on its line, whitespace trimmed."""
    assert parse_cookie_file(f"x=1\n  OpenBazaar_Auth_Cookie={COOKIE}  \n", "f") == COOKIE


# -- secrets and URLs -------------------------------------------------------


def test_secrets_never_show_in_reprs_meta_frames_errors_or_logs() -> None:
    """Password, cookie and the Basic token stay out of repr(), meta data, errors and debug logs."""
    token = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    basic = NodeAuth(user="alice", password=PASSWORD)
    cookie = NodeAuth(cookie=COOKIE, cookie_path="/x/.cookie")
    shown = [repr(basic), str(basic), repr(cookie), str(cookie)]
    assert repr(basic) == "NodeAuth(basic, user='alice', password=***)"
    assert basic.describe() == "basic auth as alice"
    assert cookie.describe() == "cookie from /x/.cookie"
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    logger = logging.getLogger("wstail.sources.node")
    handler, level = Keep(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)

    async def body() -> None:
        peer = await NodePeer(user="alice", password=PASSWORD).start()
        tail = Tail(NodeSource(peer.url + f"?key={COOKIE}", auth=basic, delays=fast))
        shown.append(str(await tail.next()))
        await tail.close()
        with pytest.raises(ConnectError) as caught:
            async for frame in NodeSource(peer.url, auth=cookie):
                shown.append(str(frame))
        shown.extend([str(caught.value), repr(caught.value)])
        await peer.stop()

    try:
        run(body)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert any(line == "> Authorization: ***" for line in records), records
    assert any(line.startswith("> GET /ws?key=***") for line in records), records
    for text in shown + records:
        for secret in (*SECRETS, token):
            assert secret not in text, text


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("ws://127.0.0.1:4002/ws", "ws://127.0.0.1:4002/ws"),
        ("ws://bob:pw@node:4002/ws", "ws://node:4002/ws"),
        ("wss://u:p@ss@[::1]:4002/ws?a=1&b=&c", "wss://[::1]:4002/ws?a=***&b=***&***"),
        (
            "https://paymium.com/ws/socket.io?token=t#frag",
            "https://paymium.com/ws/socket.io?token=***#***",
        ),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    """Userinfo goes, query values and fragments become ***, the rest stays."""
    assert redact_url(url) == shown


def test_websocket_url_maps_http_and_rejects_others_without_secrets() -> None:
    """http(s) becomes ws(s); a non-WebSocket URL is a UsageError showing the redacted URL."""
    assert websocket_url("http://u:p@127.0.0.1:4002/ws") == "ws://127.0.0.1:4002/ws"
    assert websocket_url("https://node/ws") == "wss://node/ws"
    with pytest.raises(UsageError) as caught:
        NodeSource(f"ftp://u:{PASSWORD}@node/ws")
    assert str(caught.value).startswith("--url ftp://node/ws: not a WebSocket URL")


def test_handshake_headers_keep_the_datadir_cookie_local() -> None:
    """A datadir cookie goes to loopback hosts only; -H headers win over credentials."""
    local = NodeAuth(cookie=COOKIE, cookie_path="/h/.cookie", from_datadir=True)
    assert handshake_headers(local, None, "127.0.0.1") == [
        ("Cookie", f"OpenBazaar_Auth_Cookie={COOKIE}")
    ]
    assert handshake_headers(local, None, "node.example.org") == []
    given = NodeAuth(cookie=COOKIE, cookie_path="/c")
    assert handshake_headers(given, {"cookie": "x=1", "X-A": "b"}, "node.example.org") == [
        ("cookie", "x=1"),
        ("X-A", "b"),
    ]
    assert is_loopback("localhost") and is_loopback("127.0.0.2") and is_loopback("::1")
    assert not is_loopback("10.0.0.1")


def test_cacert_trusts_a_private_authority(tmp_path: Path) -> None:
    """wss:// signed by a private CA: --cacert with its PEM connects without --insecure."""
    authority = trustme.CA()
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(tls)
    pem = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(pem))

    async def body() -> None:
        peer = await NodePeer(tls=tls).start()
        tail = Tail(NodeSource(peer.url, cacert=str(pem), delays=fast))
        assert (await next_meta(tail, "meta.connected"))["url"].startswith("wss://")
        server = await peer.accepted()
        await server.send("trusted")
        assert (await tail.next()).payload == "trusted"
        await tail.close()
        await peer.stop()

    run(body)
