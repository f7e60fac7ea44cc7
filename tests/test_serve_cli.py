"""`wstail replay --serve` and `--demo` end to end: the real command, real clients, 127.0.0.1.

Each test starts `wstail replay --serve 127.0.0.1:0 ... SAMPLE` as a process,
reads the bound URL back from its first stderr line, and points real
clients at it: the official socket.io-client 4.8 and 2.5
(tests/peers/sio_client.js) and `wstail tail` itself, whose envelopes must
be those `wstail replay` prints for the same capture. Then: signals, a file
that is not a capture, a busy port, --loop, and the README's first command.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from helpers.serving import clean_env, read_line, serving, sio_events, split_notices
from helpers.sio_peers import scaled

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "cli" / "wstail" / "data"
README = ROOT / "README.md"
JS_CLIENT = ROOT / "tests" / "peers" / "sio_client.js"
WSTAIL = str(Path(sys.executable).with_name("wstail"))
CHANNEL = "u-serve-cli-chan-4f1e"  # the served capture accepts any channel


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The caller's environment without WSTAIL_* or proxies, HOME in the test's directory."""
    return clean_env(tmp_path)


def wstail(
    *args: str | Path, env: dict[str, str], timeout: float = 15
) -> subprocess.CompletedProcess[bytes]:
    """Run `wstail ARGS...` to its end."""
    return subprocess.run(
        [WSTAIL, *map(str, args)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=env,
        timeout=scaled(timeout),
    )


def envelopes(output: bytes) -> list[dict[str, Any]]:
    """The envelopes of an NDJSON output."""
    return [json.loads(line) for line in output.splitlines()]


def js_client(version: str, url: str, namespace: str, count: int) -> list[list[Any]]:
    """The event arrays the official socket.io-client `version` received, until `count`."""
    node = shutil.which("node") or "node"
    done = subprocess.run(
        [node, str(JS_CLIENT), version, url, namespace, str(count)],
        capture_output=True,
        timeout=scaled(15),
    )
    assert done.returncode == 0, done.stderr.decode()
    received = [json.loads(line) for line in done.stdout.splitlines()]
    assert {event["ns"] for event in received} == {namespace}
    return [[event["event"], *event["args"]] for event in received]


# -- the official socket.io-client ------------------------------------------------------


@pytest.mark.parametrize(("client", "eio"), [("4", []), ("2", ["--eio", "3"])], ids=["4.8", "2.5"])
def test_official_client_receives_the_recorded_frames(
    node_modules: None, env: dict[str, str], client: str, eio: list[str]
) -> None:
    """socket.io-client 4.8 (EIO4), and 2.5 with --eio 3, get the capture's frames in order."""
    sample = SAMPLES / "public.jsonl"
    recorded = [event for namespace, event in sio_events(sample) if namespace == "/public"]
    with serving("--speed", "1000", *eio, sample, env=env) as served:
        assert served.url.endswith("/ws/socket.io")
        received = js_client(client, served.base_url, "/public", len(recorded))
    assert received == recorded


def test_loop_starts_over_at_the_end(node_modules: None, env: dict[str, str]) -> None:
    """--loop sends the capture again from its beginning when it is over."""
    sample = SAMPLES / "public.jsonl"
    recorded = [event for _, event in sio_events(sample)]
    with serving("--loop", "--speed", "1000", sample, env=env) as served:
        received = js_client("4", served.base_url, "/public", 2 * len(recorded) + 1)
    assert received == recorded + recorded + recorded[:1]


@pytest.mark.parametrize("transport", ["websocket", "polling", "polling-only"])
@pytest.mark.parametrize(("client", "eio"), [("4", []), ("2", ["--eio", "3"])], ids=["4.8", "2.5"])
def test_official_client_stops_at_the_end_of_the_capture(
    node_modules: None, env: dict[str, str], client: str, eio: list[str], transport: str
) -> None:
    """Without --loop the namespace's disconnect ends the session: socket.io-client, reconnection
    on, gets every frame, then "io server disconnect", and does not reconnect (it exits)."""
    sample = SAMPLES / "public.jsonl"
    recorded = [event for namespace, event in sio_events(sample) if namespace == "/public"]
    flags = ["--until-end"] + ([] if transport == "websocket" else [f"--{transport}"])
    node = shutil.which("node") or "node"
    with serving("--speed", "1000", *eio, sample, env=env) as served:
        done = subprocess.run(
            [node, str(JS_CLIENT), *flags, client, served.base_url, "/public", "1"],
            capture_output=True,
            timeout=scaled(15),
        )
        code, after = served.stop()
    assert done.returncode == 0, done.stderr.decode()
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert lines[0] == {"connect": 1}
    assert lines[-1] == {"disconnect": "io server disconnect"}
    assert [[e["event"], *e["args"]] for e in lines[1:-1]] == recorded
    notices, others = split_notices(after)
    assert (code, others) == (130, ["wstail: interrupted"])
    said = [text for _, text in notices]
    first = "websocket" if transport == "websocket" else "polling"
    label = "Engine.IO 3" if eio else "Engine.IO 4"
    assert re.fullmatch(rf"connected from 127\.0\.0\.1:\d+ \({first}, {label}\)", said[0])
    assert said[1] == "joined /public"
    assert ": end of the capture on /public: disconnecting it" in said
    last = "polling" if transport == "polling-only" else "websocket"
    assert re.fullmatch(rf"left \(127\.0\.0\.1:\d+, {last}\)", said[-1])


@pytest.mark.parametrize(
    ("sample", "tail", "serve", "reason"),
    [
        ("public", ["public"], [], "the server ended the namespace /public"),
        ("public", ["public"], ["--eio", "3"], "the server ended the namespace /public"),
        ("user", ["user", CHANNEL], [], "the server ended the namespace /user"),
        ("node", ["node"], [], "the server ended the feed (close code 4000: end of capture)"),
    ],
    ids=["public-eio4", "public-eio3", "user-eio4", "node"],
)
def test_tail_ends_by_itself_at_the_end_of_the_capture(
    env: dict[str, str], sample: str, tail: list[str], serve: list[str], reason: str
) -> None:
    """`wstail tail` of a served capture (no --loop) exits 0 after its last frame, saying why."""
    path = SAMPLES / f"{sample}.jsonl"
    expected = envelopes(wstail("replay", path, env=env).stdout)
    with serving("--speed", "1000", *serve, path, env=env) as served:
        done = wstail("tail", *tail, "--url", served.url, "--meta", env=env)
        code, after = served.stop()
    assert done.returncode == 0, done.stderr.decode()
    printed = envelopes(done.stdout)
    assert printed[0]["event"] == "meta.connected"
    assert [comparable(e) for e in printed[1:-1]] == [comparable(e) for e in expected]
    assert (printed[-1]["event"], printed[-1]["data"]) == ("meta.disconnected", {"reason": reason})
    notices, others = split_notices(after)
    assert (code, others) == (130, ["wstail: interrupted"])
    said = [text for _, text in notices]
    assert said[0].startswith("connected from 127.0.0.1:")
    assert any(text.startswith(": end of the capture") for text in said)
    assert said[-1].startswith("left (127.0.0.1:")


# -- wstail tail against the served capture ---------------------------------------------


def comparable(envelope: dict[str, Any]) -> tuple[Any, ...]:
    """What a live tail and a replay of the same capture share: all but recv_ts (and seq)."""
    return (envelope["event"], envelope["event_ts"], envelope["data"], envelope["source"])


@pytest.mark.parametrize(
    ("sample", "tail", "serve"),
    [
        ("public", ["public"], []),
        ("public", ["public"], ["--eio", "3"]),
        ("user", ["user", CHANNEL], []),
        ("user", ["user", CHANNEL], ["--eio", "3"]),
        ("node", ["node"], []),
    ],
    ids=["public-eio4", "public-eio3", "user-eio4", "user-eio3", "node"],
)
def test_tail_prints_what_replay_prints(
    env: dict[str, str], sample: str, tail: list[str], serve: list[str]
) -> None:
    """`tail --url SERVED -n N` prints the envelopes `replay` prints for the capture, in order."""
    path = SAMPLES / f"{sample}.jsonl"
    replayed = wstail("replay", path, env=env)
    assert (replayed.returncode, replayed.stderr) == (0, b"")
    expected = envelopes(replayed.stdout)
    assert expected and not any(e["event"].startswith("meta.") for e in expected)
    with serving("--speed", "1000", *serve, path, env=env) as served:
        count = str(len(expected))
        done = wstail("tail", *tail, "--url", served.url, "-n", count, env=env)
    assert done.returncode == 0, done.stderr.decode()
    printed = envelopes(done.stdout)
    assert [comparable(e) for e in printed] == [comparable(e) for e in expected]
    # The same seq too: the live tail numbers its own meta.connected 1 (on
    # stderr here), the capture holds the recorded meta.connected as its first
    # line (seq 1), so the data envelopes count from 2 on both sides.
    assert [e["seq"] for e in printed] == [e["seq"] for e in expected]
    assert expected[0]["seq"] == 2
    assert CHANNEL.encode() not in done.stdout + done.stderr + served.first_line.encode()


# -- stopping, and what cannot be served ------------------------------------------------


@pytest.mark.parametrize(
    "signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda signum: signum.name
)
def test_signal_stops_the_server_with_130(env: dict[str, str], signum: signal.Signals) -> None:
    """SIGINT, SIGTERM and SIGHUP end the server (a client connected) with 130 and one line."""
    with serving(SAMPLES / "public.jsonl", env=env) as served:
        client = subprocess.Popen(
            [WSTAIL, "tail", "public", "--url", served.url, "--retries", "0"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        try:
            assert client.stdout is not None
            assert json.loads(read_line(client.stdout, scaled(10)))["seq"] == 2
            code, after = served.stop(signum)
        finally:
            client.kill()
            client.communicate()
    notices, others = split_notices(after)
    assert (code, others) == (130, ["wstail: interrupted"])
    assert re.fullmatch(
        r"connected from 127\.0\.0\.1:\d+ \(websocket, Engine\.IO 4\)", notices[0][1]
    )
    assert notices[1] == (1, "joined /public")
    assert [n for n, _ in notices] == [1] * len(notices)  # and left, at the latest on the way out


@pytest.mark.parametrize("content", ["ndjson", "unknown-source"])
def test_a_file_that_cannot_be_served(env: dict[str, str], tmp_path: Path, content: str) -> None:
    """wstail's NDJSON output, or a capture of a source no endpoint speaks: exit 4, one line."""
    path = tmp_path / "input.jsonl"
    sample = SAMPLES / "public.jsonl"
    if content == "ndjson":
        path.write_bytes(wstail("replay", sample, env=env).stdout)
        reason = "--serve needs a capture (made by wstail record), not NDJSON output"
    else:
        path.write_text(sample.read_text().replace('"paymium.public"', '"kraken.public"', 1))
        reason = (
            "cannot serve a capture of source 'kraken.public' "
            "(paymium.*, node, or a capture of `tail ws` or `tail sio`)"
        )
    done = wstail("replay", "--serve", "127.0.0.1:0", path, env=env)
    assert (done.returncode, done.stdout) == (4, b"")
    assert done.stderr.decode().splitlines() == [f"wstail: {path}:1: {reason}"]


def test_a_truncated_capture_is_served_up_to_the_cut(env: dict[str, str], tmp_path: Path) -> None:
    """A .gz capture cut short is served up to the cut to every client, reported once."""
    whole = gzip.compress((SAMPLES / "node.jsonl").read_bytes())
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(whole[: len(whole) // 2])
    replayed = wstail("replay", path, env=env)
    assert replayed.returncode == 4
    expected = [comparable(e) for e in envelopes(replayed.stdout)]
    assert expected
    report = replayed.stderr.decode().splitlines()[0]
    assert report.startswith(f"{path}:") and report.endswith(": gzip stream is truncated")
    with serving("--speed", "1000", path, env=env) as served:
        for _ in range(2):
            count = str(len(expected))
            done = wstail("tail", "node", "--url", served.url, "-n", count, env=env)
            assert done.returncode == 0, done.stderr.decode()
            assert [comparable(e) for e in envelopes(done.stdout)] == expected
        code, after = served.stop()
    notices, others = split_notices(after)
    assert (code, others) == (130, [report, "wstail: interrupted"])
    for number in (1, 2):  # each tail saw the end of what could be read, or left before
        said = [text.split(" ")[0] for n, text in notices if n == number]
        assert said[0] == "connected" and said[-1] == "left", notices


def test_output_options_are_refused_when_serving(env: dict[str, str]) -> None:
    """Options that shape printed output do nothing when serving: exit 2, naming them."""
    done = wstail(
        "replay", "--serve", "0", "-e", "trade", "--to", "seq:3", SAMPLES / "public.jsonl", env=env
    )
    assert (done.returncode, done.stdout) == (2, b"")
    assert done.stderr.decode().splitlines() == [
        "wstail: --to, -e/--event cannot be used with --serve (every client gets the whole capture)"
    ]


def test_busy_port_is_a_usage_error(env: dict[str, str]) -> None:
    """A port another program listens on: exit 2 with one line, nothing served."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = wstail("replay", "--serve", f"127.0.0.1:{port}", SAMPLES / "public.jsonl", env=env)
    assert (done.returncode, done.stdout) == (2, b"")
    lines = done.stderr.decode().splitlines()
    assert lines == [f"wstail: --serve 127.0.0.1:{port}: cannot listen: Address already in use"]


# -- the README's first command ---------------------------------------------------------


def test_readme_opens_with_the_two_commands() -> None:
    """README.md's first code block is the install-and-demo command, then the test command."""
    block = re.search(r"^```\w*\n(.*?)^```", README.read_text(), re.S | re.M)
    assert block is not None
    lines = block.group(1).splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("wstail tail public --demo -n 20")
    assert lines[1] == ".venv/bin/python -m pytest -q -p no:cacheprovider"


def test_readme_demo_prints_20_envelopes_offline(env: dict[str, str], tmp_path: Path) -> None:
    """`wstail tail public --demo -n 20`, as in the README, prints 20 public data envelopes."""
    done = subprocess.run(
        [WSTAIL, "tail", "public", "--demo", "-n", "20"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=env,
        cwd=tmp_path,
        timeout=scaled(30),
    )
    assert done.returncode == 0, done.stderr.decode()
    printed = envelopes(done.stdout)
    assert len(printed) == 20
    assert {e["source"] for e in printed} == {"paymium.public"}
    assert not any(e["event"].startswith("meta.") for e in printed)
    assert {"trade", "ticker", "depth", "prices", "announcement"} <= {e["event"] for e in printed}
    assert done.stderr.decode().startswith("wstail: demo: serving the bundled public sample at ")


SERVE_AND_LIST_IMPORTS = r"""
import asyncio, json, sys
import websockets.asyncio.client
from wstail.serve import serve_capture
from wstail.serve.capture_file import frames_of, read_capture_header

async def main(path):
    _, start_us = read_capture_header(path)
    stop, port = asyncio.Event(), asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve_capture(
        lambda: frames_of(path, start_us, print), "paymium.public", eio="4", speed=None, stop=stop,
        on_listening=lambda host, bound: port.set_result(bound)))
    url = f"ws://127.0.0.1:{await port}/ws/socket.io/?EIO=4&transport=websocket"
    async with websockets.asyncio.client.connect(url) as ws:
        await ws.recv()
        await ws.send("40/public,")
        got = [await ws.recv() for _ in range(2)]
    stop.set()
    await task
    loaded = sorted({m.split(".")[0] for m in sys.modules} & {"socketio", "engineio"})
    print(json.dumps({"got": got, "loaded": loaded}))

asyncio.run(main(sys.argv[1]))
"""


def test_serve_eio4_loads_no_python_socketio(tmp_path: Path) -> None:
    """`replay --serve --eio 4` is wstail's own server: socketio and engineio are never imported."""
    capture = tmp_path / "one.jsonl"
    header = {"wstail_capture": 1, "source": "paymium.public", "url": "", "protocol": "eio3"}
    header |= {"tool": "test", "start": "2026-11-23T17:00:32.029109Z", "first_seq": 1}
    frame = [0.5, "sio", "/public", '["stream",{"n":1}]']
    capture.write_text(json.dumps(header) + "\n" + json.dumps(frame) + "\n")
    done = subprocess.run(
        [sys.executable, "-c", SERVE_AND_LIST_IMPORTS, str(capture)],
        capture_output=True,
        timeout=scaled(30),
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    result = json.loads(done.stdout)
    assert result["got"][1] == '42/public,["stream",{"n":1}]'
    assert result["got"][0].startswith("40/public,{")
    assert result["loaded"] == []
