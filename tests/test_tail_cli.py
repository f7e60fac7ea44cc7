"""`wstail tail` end to end: the real command against real servers on 127.0.0.1.

Peers: the official socket.io 1.7.4, 2.5.0 and 4.8.1 servers and a
python-socketio server (tests/helpers/sio_peers.py), a node-like WebSocket server
(tests/helpers/node_peers.py). Envelope lines are compared to the byte, recv_ts
masked (and checked for its format).
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest

from helpers.live import (
    PAYMENT_UUID,
    USER_CHANNEL,
    Wstail,
    case_items,
    events,
    expected_line,
    expected_lines,
    grep_secrets,
    masked,
    node_frames,
    paymium_cases,
    run_wstail,
    scenario_steps,
    seqs,
    wstail_env,
)
from helpers.node_peers import NodePeer
from helpers.sio_peers import PEER_KINDS, closed_port, run, scaled, start_peer

PUBLIC_CASES = paymium_cases("/public")
USER_CASES = paymium_cases("/user")


pytestmark = pytest.mark.usefixtures("node_modules")  # npm install when missing


def data_lines(lines: list[bytes]) -> list[bytes]:
    """The envelope lines that are not meta.* ones."""
    return [line for line in lines if not json.loads(line)["event"].startswith("meta.")]


# -- Paymium -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", PEER_KINDS)
def test_public_and_user_feeds_print_exact_envelopes(kind: str, tmp_path: Path) -> None:
    """tail public and tail user print the exact envelopes of both message generations."""
    public_items = case_items(PUBLIC_CASES)
    user_items = case_items(USER_CASES)
    steps = scenario_steps(PUBLIC_CASES, "/public") + scenario_steps(
        USER_CASES, "/user", after_channels=2
    )
    env = wstail_env(tmp_path)

    async def body() -> tuple[Any, Any, list[dict[str, Any]]]:
        async with start_peer(kind, steps) as peer:
            public, user = await asyncio.gather(
                run_wstail(
                    "tail", "public", "--url", peer.url, "-n", str(len(public_items)), env=env
                ),
                run_wstail(
                    "tail",
                    "user",
                    USER_CHANNEL,
                    PAYMENT_UUID,
                    "--url",
                    peer.url,
                    "-n",
                    str(len(user_items)),
                    env=env,
                ),
            )
            return public, user, peer.log.of("channel")

    public, user, channels = run(body, timeout=30)
    assert public.code == 0, public.err
    assert [masked(line) for line in public.lines] == expected_lines(public_items, 2)
    assert user.code == 0, user.err
    assert [masked(line) for line in user.lines] == expected_lines(user_items, 2)
    assert [entry["channel"] for entry in channels] == [USER_CHANNEL, PAYMENT_UUID]
    assert grep_secrets(public.out, public.err, user.out, user.err) == []


NETWORK_STACKS = re.compile(r"\|\s+(socketio|engineio|aiohttp)(\.\S+)?$")


def imported_stacks(err: bytes) -> list[str]:
    """The python-socketio / python-engineio / aiohttp modules in a -X importtime report."""
    return [line for line in err.decode().splitlines() if NETWORK_STACKS.search(line)]


@pytest.mark.parametrize("kind", ["sio4", "python"])
@pytest.mark.parametrize("eio", ["auto", "4"])
def test_eio4_feed_is_exact_without_python_socketio(kind: str, eio: str, tmp_path: Path) -> None:
    """tail public on Engine.IO 4 prints exact envelopes and never imports python-socketio."""
    items = case_items(PUBLIC_CASES)
    steps = scenario_steps(PUBLIC_CASES, "/public")
    env = wstail_env(tmp_path, PYTHONPROFILEIMPORTTIME="1")

    async def body() -> Any:
        async with start_peer(kind, steps) as peer:
            command = ["tail", "public", "--url", peer.url, "--eio", eio, "-n", str(len(items))]
            return await run_wstail(*command, env=env)

    done = run(body, timeout=30)
    assert done.code == 0, done.err[-2000:]
    assert [masked(line) for line in done.lines] == expected_lines(items, 2)
    assert "(eio4)" in done.err.decode()
    assert imported_stacks(done.err) == []


@pytest.mark.parametrize("kind", ["sio4", "python"])
def test_polling_only_server_is_tailed_through_the_fallback(kind: str, tmp_path: Path) -> None:
    """A server that refuses WebSocket is tailed over long-polling, envelopes exact."""
    items = case_items(PUBLIC_CASES)
    scenario = {"steps": scenario_steps(PUBLIC_CASES, "/public"), "transports": ["polling"]}
    env = wstail_env(tmp_path)

    async def body() -> Any:
        async with start_peer(kind, scenario) as peer:
            command = ["tail", "public", "--url", peer.url, "-n", str(len(items)), "--meta"]
            return await run_wstail(*command, env=env)

    done = run(body, timeout=30)
    assert done.code == 0, done.err
    assert [masked(line) for line in data_lines(done.lines)] == expected_lines(items, 2)
    connected = json.loads(done.lines[0])
    assert connected["event"] == "meta.connected"
    assert connected["data"]["protocol"] == "eio4"


# -- node ----------------------------------------------------------------------------

NODE_FRAMES = node_frames()
NODE_ITEMS = [item for _, items in NODE_FRAMES for item in items]


def node_auth(auth: str, peer_options: dict[str, str], tmp_path: Path) -> list[str]:
    """The command-line options (and files) for one way to authenticate."""
    if auth == "basic-file":
        (tmp_path / "pass").write_text(peer_options["password"] + "\n")
        return ["--user", peer_options["user"], "--password-file", str(tmp_path / "pass")]
    if auth == "basic-env":
        return ["--user", peer_options["user"]]
    if auth == "cookie":
        (tmp_path / "cookie").write_text(f"OpenBazaar_Auth_Cookie={peer_options['cookie']}\n")
        return ["--cookie-file", str(tmp_path / "cookie")]
    if auth == "datadir-cookie":  # HOME is tmp_path: the node's default .cookie
        (tmp_path / ".openbazaar").mkdir()
        cookie = f"OpenBazaar_Auth_Cookie={peer_options['cookie']}\n"
        (tmp_path / ".openbazaar" / ".cookie").write_text(cookie)
    return []


AUTH_PEERS = {
    "basic-file": {"user": "admin", "password": "s3cr&t pass"},
    "basic-env": {"user": "admin", "password": "env-pa55"},
    "cookie": {"cookie": "2Rx0vYfcDjNtlNaEw1bE5c2ctWq9"},
    "datadir-cookie": {"cookie": "9qWtc2c5Eb1wEaNlNtjDcfYv0xR2"},
    "none": {},
}


@pytest.mark.parametrize("auth", list(AUTH_PEERS))
def test_node_prints_exact_envelopes_of_every_message(auth: str, tmp_path: Path) -> None:
    """tail node prints every top-level key and notification type exactly, with each auth."""
    options = AUTH_PEERS[auth]
    extra = {"WSTAIL_NODE_PASSWORD": options["password"]} if auth == "basic-env" else {}
    env = wstail_env(tmp_path, **extra)
    args = node_auth(auth, options, tmp_path)

    async def body() -> tuple[Any, NodePeer]:
        peer = await NodePeer(**options).start()
        try:
            url = peer.url
            command = ["tail", "node", "--url", url, *args, "-n", str(len(NODE_ITEMS))]
            async with Wstail(*command, env=env) as wstail:
                connection = await peer.accepted()
                for text, _ in NODE_FRAMES:
                    await connection.send(text)
                return await wstail.finish(), peer
        finally:
            await peer.stop()

    done, peer = run(body, timeout=20)
    assert done.code == 0, done.err
    assert [masked(line) for line in done.lines] == expected_lines(NODE_ITEMS, 2)
    assert peer.refused == 0 and peer.received == []  # the client never sends a frame
    for secret in options.values():
        assert secret not in done.err.decode()


@pytest.mark.parametrize("auth", ["basic-file", "cookie"])
def test_node_wrong_credentials_exit_3_at_once(auth: str, tmp_path: Path) -> None:
    """Refused credentials end the run at once: exit 3, one stderr line, nothing on stdout."""
    env = wstail_env(tmp_path)
    wrong = {"user": "admin", "password": "wrong-password", "cookie": "wrong-cookie"}
    args = node_auth(auth, wrong, tmp_path)
    right = {"user": "admin", "password": "right"} if auth == "basic-file" else {"cookie": "right"}

    async def body() -> tuple[Any, int]:
        peer = await NodePeer(**right).start()
        try:
            done = await run_wstail("tail", "node", "--url", peer.url, *args, env=env)
            return done, peer.attempts
        finally:
            await peer.stop()

    done, attempts = run(body)
    assert done.code == 3
    assert done.out == b""
    assert len(done.err_lines) == 1, done.err
    assert done.err_lines[0].startswith("wstail: ")
    assert ("HTTP 401" if auth == "basic-file" else "HTTP 403") in done.err_lines[0]
    assert "wrong-password" not in done.err.decode() and "wrong-cookie" not in done.err.decode()
    assert attempts == 1


@pytest.mark.parametrize("meta", [True, False])
def test_node_garbage_frame_is_reported_and_the_stream_goes_on(meta: bool, tmp_path: Path) -> None:
    """A frame that is not JSON is a meta.bad_frame (--meta) or one stderr line; data goes on."""
    frames = ['{"status": "publishing"}', "<html>not json", '{"status": "publish complete"}']
    env = wstail_env(tmp_path)

    async def body() -> Any:
        peer = await NodePeer().start()
        try:
            command = ["tail", "node", "--url", peer.url, "-n", "2"] + (["--meta"] if meta else [])
            async with Wstail(*command, env=env) as wstail:
                connection = await peer.accepted()
                for text in frames:
                    await connection.send(text)
                return await wstail.finish()
        finally:
            await peer.stop()

    done = run(body)
    assert done.code == 0, done.err
    status = [
        ("node", "status", None, '{"status":"publishing"}'),
        ("node", "status", None, '{"status":"publish complete"}'),
    ]
    if meta:
        assert events(done.lines) == ["meta.connected", "status", "meta.bad_frame", "status"]
        bad = json.loads(done.lines[2])
        assert bad["data"] == {"reason": "invalid JSON", "frame": "<html>not json"}
        assert seqs(done.lines) == [1, 2, 3, 4]
        assert [masked(line) for line in data_lines(done.lines)] == [
            expected_line(2, status[0]),
            expected_line(4, status[1]),
        ]
    else:
        assert [masked(line) for line in done.lines] == [
            expected_line(2, status[0]),
            expected_line(4, status[1]),
        ]
        bad_lines = [line for line in done.err_lines if "bad frame" in line]
        assert bad_lines == ["wstail: bad frame: invalid JSON"]


# -- reconnects ----------------------------------------------------------------------


def ticker_step(n: int) -> dict[str, Any]:
    """A public step carrying ticker price n.10 (a decimal string)."""
    return {"ns": "/public", "event": "stream", "data": {"ticker": {"price": f"{n}.10"}}}


def ticker_line(seq: int, n: int) -> bytes:
    """The masked envelope of `ticker_step(n)`."""
    return expected_line(seq, ("paymium.public", "ticker", None, f'{{"price":{n}.1}}'))


@pytest.mark.parametrize("meta", [True, False], ids=["meta", "no-meta"])
@pytest.mark.parametrize("kind", PEER_KINDS)
def test_server_drop_reconnects_and_count_still_holds(
    kind: str, meta: bool, tmp_path: Path
) -> None:
    """After a server drop wstail reconnects; -n 4 prints 4 envelopes, seq increasing."""
    steps = [ticker_step(1), ticker_step(2), {"drop": True}, ticker_step(3), ticker_step(4)]
    env = wstail_env(tmp_path)
    command = ["tail", "public", "-n", "4"] + (["--meta"] if meta else [])

    async def body() -> tuple[Any, int]:
        async with start_peer(kind, steps) as peer:
            done = await run_wstail(*command, "--url", peer.url, env=env)
            return done, len(peer.log.of("connect"))

    done, connects = run(body, timeout=20)
    assert done.code == 0, done.err
    assert connects == 2
    data = [ticker_line(2, 1), ticker_line(3, 2), ticker_line(7, 3), ticker_line(8, 4)]
    assert [masked(line) for line in data_lines(done.lines)] == data
    if meta:
        assert events(done.lines) == [
            "meta.connected",
            "ticker",
            "ticker",
            "meta.disconnected",
            "meta.reconnecting",
            "meta.connected",
            "ticker",
            "ticker",
        ]
        assert seqs(done.lines) == list(range(1, 9))
        reconnecting = json.loads(done.lines[4])["data"]
        assert reconnecting["attempt"] == 1
    else:
        notes = [line for line in done.err_lines if not line.startswith("wstail: connected")]
        assert len(notes) == 2, done.err
        assert notes[0].startswith("wstail: disconnected: ")
        assert re.fullmatch(r"wstail: reconnecting \(attempt 1\) in [0-9.]+s", notes[1])


def test_node_drop_reconnects_and_count_still_holds(tmp_path: Path) -> None:
    """A node connection cut mid-stream: reconnect, -n 4 prints 4, meta where the gap was."""
    env = wstail_env(tmp_path)

    async def body() -> Any:
        peer = await NodePeer().start()
        try:
            command = ["tail", "node", "--url", peer.url, "-n", "4", "--meta"]
            async with Wstail(*command, env=env) as wstail:
                first = await peer.accepted()
                await first.send('{"status": "publishing"}')
                await first.send('{"status": "error publishing"}')
                first.transport.abort()  # no close frame: like a crashed node
                second = await peer.accepted()
                await second.send('{"status": "publishing"}')
                await second.send('{"status": "publish complete"}')
                return await wstail.finish()
        finally:
            await peer.stop()

    done = run(body, timeout=20)
    assert done.code == 0, done.err
    assert events(done.lines) == [
        "meta.connected",
        "status",
        "status",
        "meta.disconnected",
        "meta.reconnecting",
        "meta.connected",
        "status",
        "status",
    ]
    assert seqs(done.lines) == list(range(1, 9))
    statuses = [json.loads(line)["data"]["status"] for line in data_lines(done.lines)]
    assert statuses == ["publishing", "error publishing", "publishing", "publish complete"]


# -- end conditions and failures -----------------------------------------------------


@pytest.mark.parametrize("source", ["public", "user", "node"])
def test_retries_0_against_a_closed_port_exits_3(source: str, tmp_path: Path) -> None:
    """--retries 0 against a port nobody listens on: exit 3 with a one-line message."""
    port = closed_port()
    url = f"ws://127.0.0.1:{port}/ws" if source == "node" else f"http://127.0.0.1:{port}"
    channels = [USER_CHANNEL] if source == "user" else []

    async def body() -> Any:
        return await run_wstail(
            "tail", source, *channels, "--url", url, "--retries", "0", env=wstail_env(tmp_path)
        )

    done = run(body)
    assert done.code == 3
    assert done.out == b""
    assert len(done.err_lines) == 1, done.err
    assert done.err_lines[0].startswith("wstail: ")
    assert str(port) in done.err_lines[0]
    assert grep_secrets(done.err) == []


@pytest.mark.parametrize("source", ["public", "node"])
def test_idle_timeout_exits_124(source: str, tmp_path: Path) -> None:
    """--idle-timeout: a connected but silent feed ends with exit 124."""

    async def body() -> Any:
        env = wstail_env(tmp_path)
        if source == "node":
            peer = await NodePeer().start()
            try:
                return await run_wstail(
                    "tail", "node", "--url", peer.url, "--idle-timeout", "0.5", env=env
                )
            finally:
                await peer.stop()
        async with start_peer("python", []) as sio:
            return await run_wstail(
                "tail", "public", "--url", sio.url, "--idle-timeout", "0.5", env=env
            )

    done = run(body)
    assert done.code == 124, done.err
    assert done.out == b""
    assert "no envelope" in done.err_lines[-1]


DURATION = str(scaled(0.8))  # long enough to connect and get one message


@pytest.mark.parametrize("source", ["public", "node"])
def test_duration_exits_0(source: str, tmp_path: Path) -> None:
    """--duration: the run ends with exit 0 after that long, what arrived printed."""

    async def body() -> Any:
        env = wstail_env(tmp_path)
        if source == "node":
            peer = await NodePeer().start()
            try:
                command = ["tail", "node", "--url", peer.url, "--duration", DURATION]
                async with Wstail(*command, env=env) as wstail:
                    connection = await peer.accepted()
                    await connection.send('{"status": "publishing"}')
                    return await wstail.finish()
            finally:
                await peer.stop()
        async with start_peer("python", [ticker_step(1)]) as sio:
            return await run_wstail(
                "tail", "public", "--url", sio.url, "--duration", DURATION, env=env
            )

    done = run(body)
    assert done.code == 0, done.err
    assert events(done.lines) == ["status" if source == "node" else "ticker"]


@pytest.mark.parametrize("how", ["channel-file", "channel-file-stdin", "env"])
def test_channel_ids_from_file_or_environment_stay_secret(how: str, tmp_path: Path) -> None:
    """--channel-file (or -) and WSTAIL_CHANNELS join the channels; the IDs show nowhere."""
    steps = scenario_steps(USER_CASES[:2], "/user", after_channels=2)
    items = case_items(USER_CASES[:2])
    listing = f"# my channels\n{USER_CHANNEL}\n\n{PAYMENT_UUID}\n"
    (tmp_path / "channels").write_text(listing)
    extra = {"WSTAIL_CHANNELS": f"{USER_CHANNEL}, {PAYMENT_UUID}"} if how == "env" else {}
    env = wstail_env(tmp_path, **extra)
    args = {
        "channel-file": ["--channel-file", str(tmp_path / "channels")],
        "channel-file-stdin": ["--channel-file", "-"],
        "env": [],
    }[how]

    async def body() -> tuple[Any, list[dict[str, Any]]]:
        async with start_peer("python", steps) as peer:
            command = ["--debug", "tail", "user", *args, "--url", peer.url, "--meta"]
            command += ["-n", str(len(items))]
            done = await run_wstail(*command, env=env, stdin=listing.encode())
            return done, peer.log.of("channel")

    done, channels = run(body)
    assert done.code == 0, done.err
    assert [entry["channel"] for entry in channels] == [USER_CHANNEL, PAYMENT_UUID]
    assert [masked(line) for line in data_lines(done.lines)] == expected_lines(items, 2)
    assert grep_secrets(done.out, done.err) == []


# -- --demo --------------------------------------------------------------------------


@pytest.mark.parametrize(("source", "count"), [("public", 3), ("user", 3), ("node", 5)])
def test_demo_tails_the_bundled_sample_offline(source: str, count: int, tmp_path: Path) -> None:
    """tail SOURCE --demo serves the bundled sample on 127.0.0.1 and prints its envelopes."""
    from wstail.feeds import FEEDS, sample_path

    env = wstail_env(tmp_path)

    async def body() -> tuple[Any, Any]:
        demo = await run_wstail("tail", source, "--demo", "-n", str(count), env=env)
        sample = await run_wstail("replay", sample_path(FEEDS[source]), env=env)
        return demo, sample

    demo, sample = run(body, timeout=20)
    assert demo.code == 0, demo.err
    assert len(demo.lines) == count
    assert [masked(line) for line in demo.lines] == [masked(line) for line in sample.lines[:count]]
    assert "demo: serving the bundled" in demo.err_lines[0]
    assert "127.0.0.1" in demo.err_lines[0]


@pytest.mark.parametrize("command", ["tail", "record"])
def test_demo_speed_plays_the_sample_faster(command: str, tmp_path: Path) -> None:
    """--demo --speed 1000 plays the whole sample (about a minute at speed 1) at once."""
    from wstail.feeds import FEEDS, sample_path

    env = wstail_env(tmp_path)
    output = ["-o", str(tmp_path / "demo.jsonl")] if command == "record" else []

    async def body() -> tuple[Any, Any]:
        sample = await run_wstail("replay", sample_path(FEEDS["public"]), env=env)
        count = str(len(sample.lines))
        args = [command, *output, "public", "--demo", "--speed", "1000", "-n", count]
        return await run_wstail(*args, env=env), sample

    demo, sample = run(body, timeout=20)
    assert demo.code == 0, demo.err
    if command == "tail":
        assert [masked(line) for line in demo.lines] == [masked(line) for line in sample.lines]
    else:

        def sio_frames(path: Path) -> list[str]:
            frames = [json.loads(line) for line in path.read_text().splitlines()[1:]]
            return [frame[3] for frame in frames if frame[1] == "sio"]

        whole = sio_frames(Path(sample_path(FEEDS["public"])))
        assert sio_frames(tmp_path / "demo.jsonl") == whole


@pytest.mark.parametrize("command", [["tail", "public"], ["record", "-o", "x.jsonl", "node"]])
def test_speed_without_demo_is_a_usage_error(command: list[str], tmp_path: Path) -> None:
    """--speed paces only the demo's sample: a live feed comes at its own pace (exit 2)."""
    env = wstail_env(tmp_path)
    done = run(lambda: run_wstail(*command, "--speed", "2", env=env))
    assert (done.code, done.lines) == (2, [])
    assert done.err_lines == [
        "wstail: --speed only applies with --demo (a live feed comes at its own pace)"
    ]


def test_speed_from_the_environment_only_applies_to_the_demo(tmp_path: Path) -> None:
    """WSTAIL_TAIL_NODE_SPEED left in the environment is no usage error without --demo."""
    env = wstail_env(tmp_path, WSTAIL_TAIL_NODE_SPEED="2")
    url = f"ws://127.0.0.1:{closed_port()}/ws"
    done = run(lambda: run_wstail("tail", "node", "--url", url, "--retries", "0", env=env))
    assert done.code == 3, done.err


@pytest.mark.parametrize(
    "source",
    [
        "public",
        "user",
        "node",
    ],
)
def test_demo_ignores_a_proxy_in_the_environment(source: str, tmp_path: Path) -> None:
    """--demo reaches its own 127.0.0.1 server directly, whatever http_proxy says."""
    dead = "http://127.0.0.1:9"  # the discard port: a proxy that is not there
    env = wstail_env(tmp_path, http_proxy=dead, https_proxy=dead, all_proxy=dead)
    command = ["tail", source, "--demo", "-n", "1", "--idle-timeout", str(scaled(1.5))]
    done = run(lambda: run_wstail(*command, env=env), timeout=20)
    assert done.code == 0, done.err
    assert len(done.lines) == 1


def test_demo_filters_and_queries_meta_envelopes(tmp_path: Path) -> None:
    """Live, --meta puts lifecycle envelopes through -x and -q; without --meta they stay on
    stderr whatever the filters say."""
    env = wstail_env(tmp_path)

    async def body() -> tuple[Any, Any, Any]:
        dropped = await run_wstail(
            "tail", "public", "--demo", "--meta", "-x", "meta.*", "-n", "2", "-q", "event", env=env
        )
        queried = await run_wstail(
            "tail", "public", "--demo", "--meta", "-n", "1", "-q", "event", env=env
        )
        stderr = await run_wstail(
            "tail", "public", "--demo", "-x", "meta.*", "-n", "1", "-q", "event", env=env
        )
        return dropped, queried, stderr

    dropped, queried, stderr = run(body, timeout=30)
    assert dropped.code == queried.code == stderr.code == 0, dropped.err + queried.err + stderr.err
    assert dropped.lines == [b'"ticker"', b'"depth"']
    assert b"connected to" not in dropped.err
    assert queried.lines == [b'"meta.connected"', b'"ticker"']
    assert stderr.lines == [b'"ticker"']
    assert b"wstail: connected to http://127.0.0.1:" in stderr.err


def test_readme_kcat_recipe_keeps_the_gaps_and_drops_the_rest(tmp_path: Path) -> None:
    """The README's Kafka recipe, on the demo: meta.connected goes neither to stdout nor stderr."""
    import shlex

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    (recipe,) = [line for line in readme.splitlines() if "| kcat" in line]
    args = shlex.split(recipe.split("|")[0])
    assert args[:3] == ["wstail", "tail", "public"] and "--meta" in args
    command = [*args[1:], "--demo", "-n", "3"]
    done = run(lambda: run_wstail(*command, env=wstail_env(tmp_path)), timeout=20)
    assert done.code == 0, done.err
    assert events(done.lines) == ["ticker", "depth", "depth"]
    assert b"connected" not in done.err
