"""Socket.IO binary events end to end: tail, record, replay and serve, real peers on 127.0.0.1.

The official socket.io 1.7.4, 2.5.0 and 4.8.1 servers and python-socketio
emit events carrying Buffers (nested, several, empty, at the top level);
`wstail tail` prints them with `{"_binary": base64}` in place and goes on;
a capture keeps them losslessly; `replay --serve` sends them back as binary
events, which socket.io-client 2.5 and 4.8 receive as Buffers.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from helpers.binary_events import (
    B1,
    B2,
    EMPTY,
    EXPECTED,
    HEADER,
    RECORDED,
    STEPS,
    ticker_step,
    write_capture,
)
from helpers.live import Done, run_wstail, wstail_env
from helpers.serving import clean_env, serving
from helpers.sio_peers import PEER_KINDS, TESTS, run, scaled, start_peer

JS_CLIENT = TESTS / "peers" / "sio_client.js"


pytestmark = pytest.mark.usefixtures("node_modules")  # npm install when missing


def data_envelopes(done: Done) -> list[tuple[str, Any]]:
    """(event, data) of each envelope that is not a meta.* one."""
    found = [json.loads(line) for line in done.lines]
    return [(e["event"], e["data"]) for e in found if not e["event"].startswith("meta.")]


def tail(kind: str, scenario: Any, *args: str, tmp_path: Path) -> Done:
    """`wstail tail public ARGS` against a peer of `kind` playing `scenario`."""
    env = wstail_env(tmp_path)

    async def body() -> Done:
        async with start_peer(kind, scenario) as peer:
            return await run_wstail("tail", "public", "--url", peer.url, *args, env=env)

    return run(body, timeout=30)


def js_client(version: str, url: str, count: int, *flags: str) -> list[list[Any]]:
    """The event arrays the official socket.io-client `version` received on /public."""
    node = shutil.which("node") or "node"
    command = [node, str(JS_CLIENT), *flags, version, url, "/public", str(count)]
    done = subprocess.run(command, capture_output=True, timeout=scaled(20))
    assert done.returncode == 0, done.stderr.decode()
    return [[e["event"], *e["args"]] for e in map(json.loads, done.stdout.splitlines())]


# -- tail ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", PEER_KINDS)
def test_tail_prints_binary_events_with_base64_in_place(kind: str, tmp_path: Path) -> None:
    """Buffers (nested, several, empty, top level) come out as {"_binary": base64}; -n ends it."""
    done = tail(kind, STEPS, "-n", str(len(EXPECTED)), "--meta", tmp_path=tmp_path)
    assert done.code == 0, done.err
    assert data_envelopes(done) == EXPECTED
    assert b"meta.bad_frame" not in done.out
    assert b"meta.disconnected" not in done.out


@pytest.mark.parametrize(("kind", "eio"), [("sio2", "3"), ("sio4", "4")])
def test_tail_with_a_forced_protocol_reads_binary_events(
    kind: str, eio: str, tmp_path: Path
) -> None:
    """--eio 3 (0x04-prefixed attachments) and --eio 4 (bare ones) read the same envelopes."""
    done = tail(kind, STEPS, "--eio", eio, "-n", str(len(EXPECTED)), tmp_path=tmp_path)
    assert done.code == 0, done.err
    assert data_envelopes(done) == EXPECTED


@pytest.mark.parametrize("kind", ["sio4", "python"])
def test_polling_fallback_reads_binary_events_the_same(kind: str, tmp_path: Path) -> None:
    """Over Engine.IO 4 long-polling (`b<base64>` attachments) the envelopes are identical."""
    scenario = {"steps": STEPS, "transports": ["polling"]}
    done = tail(kind, scenario, "-n", str(len(EXPECTED)), "--meta", tmp_path=tmp_path)
    assert done.code == 0, done.err
    assert data_envelopes(done) == EXPECTED
    assert b"meta.bad_frame" not in done.out


@pytest.mark.parametrize("eio", ["auto", "3"])
@pytest.mark.parametrize("kind", ["sio1", "sio2"])
def test_eio3_polling_reads_binary_events_the_same(kind: str, eio: str, tmp_path: Path) -> None:
    """Over Engine.IO 3 long-polling (`b4<base64>` packets) the envelopes are identical."""
    scenario = {"steps": STEPS, "transports": ["polling"]}
    args = ("--eio", eio, "-n", str(len(EXPECTED)), "--meta")
    done = tail(kind, scenario, *args, tmp_path=tmp_path)
    assert done.code == 0, done.err
    assert data_envelopes(done) == EXPECTED
    assert b"meta.bad_frame" not in done.out
    connected = [json.loads(line) for line in done.lines if b"meta.connected" in line]
    assert connected[0]["data"]["transport"] == "polling"


def test_binary_event_over_max_frame_size_is_reported_and_the_run_goes_on(
    tmp_path: Path,
) -> None:
    """A binary event bigger than --max-frame-size is one meta.bad_frame; later events pass."""
    big = base64.b64encode(b"\x00" * 4000).decode()
    steps = [
        ticker_step(1),
        {"ns": "/public", "data": {"a": {"$buffer": big}, "b": {"$buffer": big}}},
        ticker_step(2),
    ]
    args = ("--max-frame-size", "6000", "-n", "2", "--meta")
    done = tail("sio4", steps, *args, tmp_path=tmp_path)
    assert done.code == 0, done.err
    events = [json.loads(line) for line in done.lines]
    bad = [e["data"]["reason"] for e in events if e["event"] == "meta.bad_frame"]
    assert bad == ["frame over the limit of 6000 bytes"]
    assert data_envelopes(done) == [("ticker", {"price": 1.1}), ("ticker", {"price": 2.1})]


# -- record, replay ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sio2", "sio4"])
def test_record_keeps_binary_events_and_replay_prints_the_same(kind: str, tmp_path: Path) -> None:
    """record --tee prints what replay of its capture prints; the capture holds the bytes."""
    env = wstail_env(tmp_path)
    output = tmp_path / "binary.jsonl"

    async def body() -> tuple[Done, Done]:
        async with start_peer(kind, STEPS) as peer:
            record = ["record", "-o", str(output), "public", "--url", peer.url, "--tee"]
            recorded = await run_wstail(*record, "-n", str(len(EXPECTED)), env=env)
        return recorded, await run_wstail("replay", str(output), env=env)

    recorded, replayed = run(body, timeout=30)
    assert recorded.code == 0, recorded.err
    assert data_envelopes(recorded) == EXPECTED
    assert replayed.code == 0, replayed.err
    assert replayed.out == recorded.out
    lines = [json.loads(line) for line in output.read_text().splitlines()[1:]]
    binary = [line for line in lines if line[1] == "sio" and len(line) == 5]
    assert [line[4] for line in binary] == [[B1, B2, EMPTY], [B1]]
    assert '"_placeholder":true' in binary[0][3]  # the text as received


def test_replay_of_a_binary_capture_and_raw_output(tmp_path: Path) -> None:
    """replay normalizes binary lines like live; --raw prints the text with the bytes in place."""
    capture = write_capture(tmp_path / "binary.jsonl")
    env = clean_env(tmp_path)

    async def body() -> tuple[Done, Done, Done]:
        full = await run_wstail("replay", str(capture), env=env)
        raw = await run_wstail("replay", "--raw", str(capture), env=env)
        picked = await run_wstail("replay", "-e", "unknown", "-q", "data", str(capture), env=env)
        return full, raw, picked

    full, raw, picked = run(body)
    assert full.code == raw.code == picked.code == 0, full.err + raw.err + picked.err
    assert data_envelopes(full) == EXPECTED
    assert json.loads(raw.lines[1]) == [
        "stream",
        {
            "file": {"_binary": B1},
            "parts": [1, {"_binary": B2}, {"deep": [{"_binary": EMPTY}]}],
            "price": "77792.10",
        },
    ]
    assert raw.lines[3] == b'["blob",{"_binary":"' + B1.encode() + b'"},"x"]'
    assert [json.loads(line) for line in picked.lines] == [d for e, d in EXPECTED if e == "unknown"]


def test_bad_binary_capture_lines_are_reported(tmp_path: Path) -> None:
    """Attachments that are not a base64 list: FILE:LINE: reason, exit 4, good lines printed."""
    capture = tmp_path / "bad.jsonl"
    event = '"[\\"stream\\",{\\"_placeholder\\":true,\\"num\\":0}]"'
    lines = [
        HEADER,
        f'[0.1,"sio","/public",{event},["not base64!"]]',
        f'[0.2,"sio","/public",{event},[1]]',
        '[0.3,"sio","/public","[\\"stream\\",{\\"ticker\\":{\\"price\\":\\"1.10\\"}}]"]',
    ]
    capture.write_text("\n".join(lines) + "\n")
    done = run(lambda: run_wstail("replay", str(capture), env=clean_env(tmp_path)))
    assert done.code == 4
    assert done.err_lines == [
        f"{capture}:2: binary event attachment is not valid base64",
        f"{capture}:3: binary event attachments are not a list of base64 strings",
        "wstail: replay finished with 2 bad lines",
    ]
    assert data_envelopes(done) == [("ticker", {"price": 1.1})]


# -- serve ---------------------------------------------------------------------------------


def buffers(event: list[Any]) -> list[Any]:
    """An event array as sio_client.js printed it, each Buffer as {"$buffer": base64}."""

    def walk(value: Any) -> Any:
        if isinstance(value, dict) and "$buffer" in value:
            assert value["type"] == "Buffer"  # what Node.js clients get, whatever the transport
            return {"$buffer": value["$buffer"]}
        if isinstance(value, list):
            return [walk(item) for item in value]
        if isinstance(value, dict):
            return {key: walk(item) for key, item in value.items()}
        return value

    return [walk(item) for item in event]


@pytest.mark.parametrize(
    ("client", "serve", "flags"),
    [
        ("2", ["--eio", "3"], []),
        ("2", ["--eio", "3"], ["--polling-only"]),
        ("2", ["--eio", "3"], ["--polling"]),
        ("4", ["--eio", "4"], []),
        ("4", ["--eio", "4"], ["--polling-only"]),
    ],
    ids=["sioc2-ws", "sioc2-polling-b64", "sioc2-upgrade", "sioc4-ws", "sioc4-polling"],
)
def test_served_binary_events_reach_official_clients_as_buffers(
    tmp_path: Path, client: str, serve: list[str], flags: list[str]
) -> None:
    """replay --serve sends recorded binary events back: the clients get Buffers, exact bytes."""
    capture = write_capture(tmp_path / "binary.jsonl")
    with serving("--speed", "1000", *serve, capture, env=clean_env(tmp_path)) as served:
        received = js_client(client, served.base_url, len(RECORDED), *flags)
    assert [buffers(event) for event in received] == RECORDED


@pytest.mark.parametrize("eio", ["3", "4"])
def test_tail_of_a_served_binary_capture_prints_what_replay_prints(
    tmp_path: Path, eio: str
) -> None:
    """record → serve → tail: the envelopes are the capture's own (the bytes survive the trip)."""
    capture = write_capture(tmp_path / "binary.jsonl")
    env = clean_env(tmp_path)
    with serving("--speed", "1000", "--eio", eio, capture, env=env) as served:
        command = ["tail", "public", "--url", served.base_url, "-n", str(len(EXPECTED))]
        done = run(lambda: run_wstail(*command, env=env), timeout=30)
    assert done.code == 0, done.err
    assert data_envelopes(done) == EXPECTED


def binary_payload_packets(body: bytes) -> list[str | bytes]:
    """The packets of an engine.io-parser 2 binary payload (as its decodePayloadAsBinary reads)."""
    packets: list[str | bytes] = []
    at = 0
    while at < len(body):
        is_text = body[at] == 0
        end = body.index(255, at)
        length = int("".join(str(digit) for digit in body[at + 1 : end]))
        data = body[end + 1 : end + 1 + length]
        packets.append(data.decode() if is_text else data)
        at = end + 1 + length
    return packets


def test_eio3_polling_without_b64_gets_binary_payloads(tmp_path: Path) -> None:
    """A polling client that did not ask b64 (XHR2) gets attachments in binary payload framing."""
    from urllib.request import Request, urlopen

    capture = write_capture(tmp_path / "binary.jsonl")
    with serving("--speed", "1000", "--eio", "3", capture, env=clean_env(tmp_path)) as served:
        base = served.base_url + "/ws/socket.io/?EIO=3&transport=polling"
        with urlopen(base, timeout=scaled(5)) as answer:
            opened = answer.read().decode()
        sid = json.loads(opened[opened.index("{") : opened.index("}") + 1])["sid"]
        url = f"{base}&sid={sid}"
        join = Request(url, data=b"9:40/public", method="POST")
        with urlopen(join, timeout=scaled(5)) as answer:
            assert answer.read() == b"ok"
        packets: list[str | bytes] = []
        while sum(isinstance(packet, bytes) for packet in packets) < 4:
            with urlopen(url, timeout=scaled(5)) as answer:
                body = answer.read()
                if answer.headers["Content-Type"] == "application/octet-stream":
                    packets += binary_payload_packets(body)
                else:
                    assert b"b4" not in body  # never base64 for this client
    text = [packet for packet in packets if isinstance(packet, str)]
    assert '453-/public,["stream",{"file":{"_placeholder":true,"num":0},' in "".join(text)
    assert [packet for packet in packets if isinstance(packet, bytes)] == [
        b"\x04" + base64.b64decode(part) for part in (B1, B2, EMPTY, B1)
    ]
