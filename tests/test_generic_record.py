"""Captures of generic feeds: record -> replay gives the live envelopes to the byte, replay
re-reads them with new rules, and no secret reaches a capture's header.

Peers: the npm `ws` server and the official socket.io 2.x and 4.x servers
(tests/peers/generic_server.js).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from conftest import Wstail
from helpers.generic_peers import SIO_KINDS, ScriptedPeer, ensure_ws_server, sio_emit
from helpers.live import Done, run_wstail, wstail_env
from helpers.sio_peers import run
from wstail.redact import redact_sent

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module", autouse=True)
def _node_peers() -> None:
    """The ws and socket.io servers are installed (npm install when missing)."""
    ensure_ws_server()


async def record(
    kind: str, scenario: dict[str, Any], capture: Path, *args: str, env: dict[str, str]
) -> tuple[Done, ScriptedPeer]:
    """`wstail record -o CAPTURE --tee --meta ARGS...` (URL replaced) against a peer."""
    async with ScriptedPeer(kind, scenario) as peer:
        argv = [arg.replace("URL", peer.url()).replace("PORT", str(peer.port)) for arg in args]
        done = await run_wstail(
            "record", "-o", str(capture), "--tee", "--meta", *argv, env=env, timeout=30
        )
    return done, peer


def header_of(capture: Path) -> dict[str, Any]:
    """A capture's first line, its header."""
    with capture.open() as handle:
        header: dict[str, Any] = json.loads(handle.readline())
    return header


WS_TEXT = (
    '{"channel":"trade","data":[{"p":0.1000000000000000000001,"ts":1790139583123},'
    '{"p":123456789012345678901234567890,"ts":"2026-11-23T10:00:00Z"}]}'
)
WS_RULES = ["--each", "data", "--event-name", "channel", "--event-time", "ts"]


def test_ws_record_then_replay_gives_the_live_envelopes_to_the_byte(
    tmp_path: Path, wstail: Wstail
) -> None:
    """Frames of every kind and a reconnect, read by rules: replay (no option repeated)
    prints exactly what record --tee printed, seq and recv_ts included."""
    gate = {"wait": 1}
    scenario = {
        "connections": [
            [gate, {"text": WS_TEXT}, {"text": "not json"}, {"drop": True}],
            [gate, {"binary": base64.b64encode(b"\x00\x01\xff").decode()}, {"text": WS_TEXT}],
        ]
    }
    capture = tmp_path / "ws.jsonl"
    done, peer = run(
        lambda: record(
            "ws",
            scenario,
            capture,
            "ws",
            "URL/feed",
            "--send",
            '{"op":"subscribe"}',
            "--name",
            "ex",
            *WS_RULES,
            "-n",
            "6",
            env=wstail_env(tmp_path),
        ),
        timeout=30,
    )
    assert done.code == 0, done.err
    assert peer.received() == ['{"op":"subscribe"}'] * 2
    assert b'"event":"meta.reconnecting"' in done.out
    assert [json.loads(line)["event"] for line in done.lines].count("trade") == 4
    replayed = wstail("replay", "--meta", capture)
    assert replayed.code == 0, replayed.stderr
    assert replayed.stdout == done.out
    assert header_of(capture)["feed"] == {
        "kind": "ws",
        "send": ['{"op":"subscribe"}'],
        "each": "data",
        "event-name": "channel",
        "event-time": "ts",
    }
    assert header_of(capture)["source"] == "ex"


@pytest.mark.parametrize("kind", SIO_KINDS)
def test_sio_record_then_replay_gives_the_live_envelopes_to_the_byte(
    kind: str, tmp_path: Path, wstail: Wstail
) -> None:
    """A namespace, several events, multi-argument and binary events, a reconnect, rules:
    replay prints exactly what record --tee printed; its header keeps the settings."""
    gate = {"wait": 1}
    scenario = {
        "namespace": "/app",
        "connections": [
            [
                gate,
                sio_emit("quote", {"list": [{"t": 1790139583}, {"t": 1790139584}]}),
                sio_emit("trade", 1, "two"),
                {"drop": True},
            ],
            [
                gate,
                sio_emit("blob", {"list": [{"f": {"$buffer": "3q2+7w=="}}]}),
                {"raw": '["quote",{"list":[{"t":"1790139585","v":0.1000000000000000000001}]}]'},
            ],
        ],
    }
    capture = tmp_path / "sio.jsonl"
    rules = ["--each", "list", "--event-time", "t"]
    done, peer = run(
        lambda: record(
            kind,
            scenario,
            capture,
            "sio",
            "URL/app",
            "--emit",
            "subscribe",
            '{"pair":"BTC-EUR"}',
            *rules,
            "-n",
            "5",
            env=wstail_env(tmp_path),
        ),
        timeout=30,
    )
    assert done.code == 0, done.err
    assert [json.loads(line)["event"] for line in done.lines if b'"meta.' not in line] == [
        "quote",
        "quote",
        "trade",
        "blob",
        "quote",
    ]
    replayed = wstail("replay", "--meta", capture)
    assert replayed.code == 0, replayed.stderr
    assert replayed.stdout == done.out
    header = header_of(capture)
    assert header["source"] == f"127.0.0.1:{peer.port}/app"
    assert header["feed"] == {
        "kind": "sio",
        "namespace": "/app",
        "path": "/socket.io/",
        "emit": [["subscribe", '{"pair":"BTC-EUR"}']],
        "each": "list",
        "event-time": "t",
    }


def test_replay_rereads_a_capture_with_new_rules(tmp_path: Path, wstail: Wstail) -> None:
    """Record raw once, interpret later: replay's --each/--event-name/--event-time replace the
    recorded rules (the others kept); each frame keeps its recv_ts."""
    gate = {"wait": 1}
    scenario = {"connections": [[gate, {"text": WS_TEXT}, {"text": '{"channel":"status"}'}]]}
    capture = tmp_path / "raw.jsonl"
    done, _ = run(
        lambda: record(
            "ws",
            scenario,
            capture,
            "ws",
            "URL",
            "--send",
            "go",
            "--event-name",
            "channel",
            "-n",
            "2",
            env=wstail_env(tmp_path),
        )
    )
    assert done.code == 0, done.err
    raw = wstail("replay", capture)
    assert [(r["event"], r["event_ts"]) for r in raw.records] == [
        ("trade", None),
        ("status", None),
    ]
    split = wstail("replay", capture, "--each", "data", "--event-time", "ts")
    assert split.code == 0, split.stderr
    assert [(r["seq"], r["event"], r["event_ts"]) for r in split.records] == [
        (2, "trade", "2026-09-23T04:59:43.123000Z"),
        (3, "trade", "2026-11-23T10:00:00.000000Z"),
        (4, "status", None),
    ]
    times = [r["recv_ts"] for r in split.records]
    assert [times[0], times[2]] == [r["recv_ts"] for r in raw.records]
    assert times[1] == times[0]  # one frame's elements
    assert split.stdout.count(b"0.1000000000000000000001") == 1
    assert split.stdout.count(b"123456789012345678901234567890") == 1
    renamed = wstail("replay", capture, "--event-name", "data[0].p")
    assert [r["event"] for r in renamed.records] == ["message", "message"]


@pytest.mark.parametrize("option", ["--each", "--event-name", "--event-time"])
def test_new_rules_on_a_named_feeds_capture_are_a_usage_error(option: str, wstail: Wstail) -> None:
    """A Paymium or node capture is read its own way: the rules are a usage error (exit 2)."""
    for sample in ("public.jsonl", "node.jsonl"):
        done = wstail("replay", option, "data", ROOT / "cli" / "wstail" / "data" / sample)
        assert done.code == 2, done
        assert done.stdout == b""
        assert done.stderr.startswith("wstail: --each, --event-name and --event-time re-read ")


def test_a_bad_rule_given_to_replay_is_a_usage_error_with_a_caret(
    tmp_path: Path, wstail: Wstail
) -> None:
    """replay --event-time 'a..b' on a generic capture: exit 2, the column marked."""
    capture = tmp_path / "cap.jsonl"
    capture.write_text(
        '{"wstail_capture":1,"source":"feed","url":"ws://h/","protocol":"websocket",'
        '"start":"2026-11-23T10:00:00.000000Z","first_seq":1,"feed":{"kind":"ws"}}\n'
        '[0.5,"text","{\\"a\\":1}"]\n'
    )
    assert wstail("replay", capture).code == 0
    done = wstail("replay", capture, "--event-time", "a..b")
    assert done.code == 2, done
    assert done.stderr.splitlines()[1:] == ["  a..b", "    ^"]


# -- secrets -------------------------------------------------------------------------

SECRETS = ("pw-5ecre7", "q-5ecre7", "h-5ecre7", "t-5ecre7", "s-5ecre7")


def test_ws_capture_header_holds_no_secret(tmp_path: Path) -> None:
    """URL userinfo and query values, -H values and secret-keyed values of --send stay out
    of the capture (and its output), though the server got them all."""
    send = '{"op":"auth","apiKey":"t-5ecre7","n":123456789012345678901234567890,"x":1e400}'
    capture = tmp_path / "ws.jsonl"
    done, peer = run(
        lambda: record(
            "ws",
            {"connections": [[{"wait": 2}, {"text": "{}"}]]},
            capture,
            "ws",
            "ws://user:pw-5ecre7@127.0.0.1:PORT/feed?token=q-5ecre7&x=1",
            "-H",
            "Authorization: Bearer h-5ecre7",
            "--send",
            send,
            "--send",
            '{"signature":"s-5ecre7","nested":{"password":"s-5ecre7"}}',
            "-n",
            "1",
            env=wstail_env(tmp_path),
        )
    )
    assert done.code == 0, done.err
    connect = peer.connects()[0]
    assert connect["url"] == "/feed?token=q-5ecre7&x=1"
    assert connect["headers"]["authorization"] == "Bearer h-5ecre7"
    assert peer.received() == [send, '{"signature":"s-5ecre7","nested":{"password":"s-5ecre7"}}']
    text = capture.read_text()
    assert [secret for secret in SECRETS if secret in text + done.out.decode()] == []
    header = header_of(capture)
    assert header["url"] == "ws://127.0.0.1:" + str(peer.port) + "/feed?token=***&x=***"
    assert header["feed"]["send"] == [
        '{"op":"auth","apiKey":"***","n":123456789012345678901234567890,"x":1e400}',
        '{"signature":"***","nested":{"password":"***"}}',
    ]


@pytest.mark.parametrize("kind", SIO_KINDS)
def test_sio_capture_header_holds_no_secret(kind: str, tmp_path: Path) -> None:
    """The same for Socket.IO: --emit arguments with secret keys, -H, URL query values."""
    capture = tmp_path / "sio.jsonl"
    argument = '{"token":"t-5ecre7","room":"r1","n":0.1000000000000000000001}'
    done, peer = run(
        lambda: record(
            kind,
            {"namespace": "/app", "connections": [[{"wait": 1}, sio_emit("ok", 1)]]},
            capture,
            "sio",
            "http://127.0.0.1:PORT/app?auth=q-5ecre7",
            "-H",
            "X-Api-Key: h-5ecre7",
            "--emit",
            "login",
            argument,
            "-n",
            "1",
            env=wstail_env(tmp_path),
        )
    )
    assert done.code == 0, done.err
    assert peer.events_received() == [f'2/app,["login",{argument}]']
    assert peer.connects()[0]["headers"]["x-api-key"] == "h-5ecre7"
    assert "auth=q-5ecre7" in peer.connects()[0]["url"]
    text = capture.read_text()
    assert [secret for secret in SECRETS if secret in text + done.out.decode()] == []
    assert header_of(capture)["feed"]["emit"] == [
        ["login", '{"token":"***","room":"r1","n":0.1000000000000000000001}']
    ]


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        (
            '{"token":"S","n":123456789012345678901234567890}',
            '{"token":"***","n":123456789012345678901234567890}',
        ),
        ('{"secret":"S","x":1e400}', '{"secret":"***","x":1e400}'),
        ('{"a": 1, "b": [0.10]}', '{"a": 1, "b": [0.10]}'),
        (
            '[{"Passphrase":"S"},{"auth":{"token":"S"}}]',
            '[{"Passphrase":"***"},{"auth":{"token":"***"}}]',
        ),
        ("token=S", "token=S"),
        ('"just a string"', '"just a string"'),
    ],
)
def test_redact_sent_keeps_every_digit_and_hides_secret_keyed_strings(sent: str, kept: str) -> None:
    """Numbers a double cannot hold neither keep a secret in nor are rounded; text that
    needs nothing hidden is stored as given."""
    assert redact_sent(sent) == kept
