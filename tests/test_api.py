"""The Python API (wstail.replay, tail, atail, capture_*): the commands' envelopes, as dicts."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import wstail
from helpers.generic_peers import ScriptedPeer, ensure_ws_server, sio_emit
from helpers.sio_peers import run
from wstail.feeds import FEEDS, sample_path
from wstail.jsonexact import ExactNumber

WSTAIL = [sys.executable, "-m", "wstail"]


def cli(*args: str | Path) -> tuple[int, list[Any], str]:
    """Run `wstail ARGS`: exit code, the envelopes printed (decoded), stderr."""
    done = subprocess.run([*WSTAIL, *map(str, args)], capture_output=True, timeout=60)
    return (
        done.returncode,
        [json.loads(line) for line in done.stdout.splitlines()],
        done.stderr.decode(),
    )


def ours() -> list[threading.Thread]:
    """The API's threads still running (replay's reader, tail's event loop)."""
    return [thread for thread in threading.enumerate() if thread.name.startswith("wstail-")]


SAMPLES = [sample_path(feed) for feed in FEEDS.values()]

CASES: list[tuple[list[str], dict[str, Any]]] = [
    ([], {}),
    (["--meta"], {"meta": True}),
    (["-e", "trade", "-e", "ticker"], {"events": ["trade", "ticker"]}),
    (["-x", "meta.*", "-x", "trade"], {"exclude": ["meta.*", "trade"]}),
    (["-f", "seq > `10`", "-f", "event != 'depth'"], {"where": ["seq > `10`", "event != 'depth'"]}),
    (["--from", "seq:5", "--to", "seq:20"], {"start": 5, "end": "seq:20"}),
    (["--from", "+2s", "--meta"], {"start": "+2s", "meta": True}),
    (["-n", "3", "-x", "ticker"], {"count": 3, "exclude": "ticker"}),
]


@pytest.mark.parametrize("sample", SAMPLES, ids=[Path(s).stem for s in SAMPLES])
def test_replay_gives_what_the_command_prints(sample: str) -> None:
    """For every bundled sample and a spread of options, replay() equals `wstail replay`
    as JSON values, seq included."""
    for args, options in CASES:
        code, printed, _ = cli("replay", *args, sample)
        assert code == 0
        assert list(wstail.replay(sample, **options)) == printed, args


def test_replay_of_ndjson_and_of_several_files_in_order(tmp_path: Path) -> None:
    """NDJSON read back keeps its own seq; several inputs are read in turn, as the command does."""
    public, ws = sample_path(FEEDS["public"]), sample_path(FEEDS["ws"])
    ndjson = tmp_path / "out.jsonl"
    ndjson.write_bytes(subprocess.run([*WSTAIL, "replay", ws], capture_output=True).stdout)
    code, printed, _ = cli("replay", "-e", "trade", public, ndjson)
    assert code == 0
    assert list(wstail.replay(public, str(ndjson), events="trade")) == printed


def test_numbers_are_floats_by_default_and_decimals_with_exact(tmp_path: Path) -> None:
    """A number a double cannot hold is an ExactNumber (a float keeping its digits);
    exact=True gives every non-integer number as a Decimal of the digits received."""
    path = tmp_path / "n.jsonl"
    envelope = (
        '{"seq":1,"recv_ts":"2026-01-01T00:00:00.000000Z","source":"s","event":"e",'
        '"event_ts":null,"data":{"long":0.12345678901234567890,"short":1.5,"n":7,"l":[2.25]}}'
    )
    path.write_text(envelope + "\n")
    (plain,) = wstail.replay(str(path))
    assert type(plain["data"]["short"]) is float and plain["data"]["n"] == 7
    assert isinstance(plain["data"]["long"], float)
    assert isinstance(plain["data"]["long"], ExactNumber)
    assert plain["data"]["long"].text == "0.12345678901234567890"
    (exact,) = wstail.replay(str(path), exact=True)
    assert exact["data"] == {
        "long": Decimal("0.12345678901234567890"),
        "short": Decimal("1.5"),
        "n": 7,
        "l": [Decimal("2.25")],
    }


def test_errors_are_exceptions_with_the_commands_messages(tmp_path: Path) -> None:
    """A bad expression is a UsageError at the call, an unreadable file a BadInputError,
    each with the command's own line; never SystemExit."""
    sample = sample_path(FEEDS["public"])
    code, _, err = cli("replay", "-f", "data.[", sample)
    assert code == 2
    with pytest.raises(wstail.UsageError) as usage:
        wstail.replay(sample, where="data.[")
    assert f"wstail: {usage.value}" in err
    assert usage.value.code == 2
    with pytest.raises(wstail.UsageError):
        wstail.replay(sample, start="yesterday")
    missing = tmp_path / "missing.jsonl"
    code, _, err = cli("replay", missing)
    assert code == 4
    with pytest.raises(wstail.BadInputError) as bad:
        list(wstail.replay(str(missing)))
    assert err.strip() == f"wstail: {bad.value}"
    assert issubclass(wstail.BadInputError, wstail.WstailError)
    assert issubclass(wstail.WstailError, Exception)


def test_bad_lines_are_logged_and_counted_after_the_good_envelopes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Good lines still come; each bad one is logged as FILE:LINE: reason; at the end
    BadInputError counts them, with the command's message."""
    lines = Path(sample_path(FEEDS["public"])).read_text().splitlines()
    path = tmp_path / "cut.jsonl"
    path.write_text("\n".join([*lines[:5], "[1.0,", *lines[5:]]) + "\n")
    code, printed, err = cli("replay", path)
    assert code == 4
    got = []
    with (
        caplog.at_level(logging.WARNING, logger="wstail"),
        pytest.raises(wstail.BadInputError) as bad,
    ):
        for envelope in wstail.replay(str(path)):
            got.append(envelope)
    assert got == printed
    assert f"wstail: {bad.value}" in err
    assert [r.getMessage() for r in caplog.records] == [
        f"{path}:6: " + err.split(":6: ")[1].split("\n")[0]
    ]


def test_leaving_the_loop_stops_the_reading_thread() -> None:
    """Breaking out of replay() ends its reading thread: nothing keeps running."""
    for _ in wstail.replay(sample_path(FEEDS["public"])):
        break
    assert not ours()


def test_capture_header_and_raw_frames() -> None:
    """capture_header reads the first line, capture_frames every frame as received."""
    sample = sample_path(FEEDS["public"])
    header = wstail.capture_header(sample)
    assert header.source == "paymium.public" and header.first_seq >= 1
    frames = list(wstail.capture_frames(sample))
    assert len(frames) == len(Path(sample).read_text().splitlines()) - 1
    assert all(frame.recv_us >= header.start_us for frame in frames)
    assert {frame.kind for frame in frames} <= {"sio", "text", "binary", "meta"}
    with pytest.raises(wstail.BadInputError, match="not a wstail capture"):
        wstail.capture_header(__file__)


def test_import_stays_cheap() -> None:
    """`import wstail` imports neither the API's module nor dask; the names come on use."""
    code = (
        "import sys, wstail; assert 'wstail.api' not in sys.modules; "
        "assert not [m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')]; "
        "wstail.replay; wstail.tail; print(wstail.WstailError.__module__)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "wstail.exitcodes"


def test_tail_checks_its_options_before_connecting() -> None:
    """An unknown feed, a channel-less user feed, an option of the other generic feed:
    UsageError at the call, the command's message where there is one."""
    with pytest.raises(wstail.UsageError, match="no feed 'nope'"):
        wstail.tail("nope")
    with pytest.raises(wstail.UsageError, match="tail user needs at least one channel ID"):
        wstail.tail("user")
    with pytest.raises(wstail.UsageError, match="emits"):
        wstail.tail("ws", "ws://127.0.0.1:9", emits=[("subscribe", {})])
    with pytest.raises(wstail.UsageError, match="--emit subscribe: the argument is not JSON"):
        wstail.tail("sio", "http://127.0.0.1:9", emits=[("subscribe", "{nope")])


# -- live, against real servers --------------------------------------------------------


@pytest.fixture(scope="module")
def _node_peers() -> None:
    """The ws and socket.io servers are installed (npm install when missing)."""
    ensure_ws_server()


LIFECYCLE = [
    "meta.connected",
    "message",
    "message",
    "meta.disconnected",
    "meta.reconnecting",
    "meta.connected",
    "message",
    "message",
]


@pytest.mark.usefixtures("_node_peers")
def test_atail_reconnects_during_iteration_and_loses_nothing() -> None:
    """The ws server drops the connection mid-iteration: atail reconnects, sends its
    subscription again, and goes on numbering, as `tail ws --meta` does."""
    scenario = {
        "path": "/v2",
        "connections": [
            [{"wait": 1}, {"text": '{"n":1}'}, {"text": '{"n":2}'}, {"drop": True}],
            [{"wait": 1}, {"text": '{"n":3}'}, {"text": '{"n":4}'}],
        ],
    }

    async def scene() -> tuple[list[Any], ScriptedPeer]:
        async with ScriptedPeer("ws", scenario) as peer:
            got = []
            live = wstail.atail(
                "ws", peer.url("/v2"), sends=[{"op": "subscribe"}], meta=True, count=4
            )
            async for envelope in live:
                got.append(envelope)
        return got, peer

    got, peer = run(scene, timeout=40)
    assert [e["event"] for e in got] == LIFECYCLE
    assert [e["seq"] for e in got] == list(range(1, 9))
    assert [e["data"] for e in got if e["event"] == "message"] == [{"n": n} for n in range(1, 5)]
    assert peer.received(1) == peer.received(2) == ['{"op":"subscribe"}']


@pytest.mark.usefixtures("_node_peers")
def test_leaving_tail_early_closes_the_connection_cleanly() -> None:
    """Breaking out of tail() (sync: its own loop in a thread) sends the server a close
    frame (1000), not a dropped connection; no thread is left."""
    scenario = {"then": [{"text": json.dumps({"n": n})} for n in range(50)] + [{"sleep": 60000}]}

    async def scene() -> tuple[list[Any], ScriptedPeer]:
        async with ScriptedPeer("ws", scenario) as peer:

            def take() -> list[Any]:
                got = []
                for envelope in wstail.tail("ws", peer.url(), name="feed"):
                    got.append(envelope)
                    if len(got) == 3:
                        break
                return got

            got = await asyncio.to_thread(take)
            assert not ours()
            async with asyncio.timeout(10):
                while not peer.log.of("closed"):
                    await asyncio.sleep(0.05)
        return got, peer

    got, peer = run(scene, timeout=40)
    assert [e["data"] for e in got] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert [e["source"] for e in got] == ["feed"] * 3
    assert [entry.get("how") for entry in peer.log.of("closed")] == [1000]


@pytest.mark.usefixtures("_node_peers")
@pytest.mark.parametrize("kind", ["sio2", "sio4"])
def test_tail_sio_emits_and_stops_at_count(kind: str) -> None:
    """tail('sio') joins the namespace, emits its subscription (a Python value sent as
    JSON), and stops after `count` envelopes that passed the filter."""
    steps = [{"wait": 1}] + [sio_emit("price", {"p": n}) for n in range(5)] + [{"sleep": 60000}]
    scenario = {"namespace": "/prices", "then": steps}

    async def scene() -> tuple[list[Any], ScriptedPeer]:
        async with ScriptedPeer(kind, scenario) as peer:
            live = wstail.tail(
                "sio",
                peer.url(),
                namespace="/prices",
                emits=[("subscribe", {"pair": "BTC-EUR"})],
                where="data.p > `0`",
                count=2,
            )
            got = await asyncio.to_thread(list, live)
            async with asyncio.timeout(10):
                while not peer.log.of("closed"):
                    await asyncio.sleep(0.05)
        return got, peer

    got, peer = run(scene, timeout=40)
    assert [(e["event"], e["data"]) for e in got] == [("price", {"p": 1}), ("price", {"p": 2})]
    assert peer.events_received(1) == ['2/prices,["subscribe",{"pair":"BTC-EUR"}]']
    # the client closed its transport (no "transport error", no "ping timeout")
    assert peer.log.of("closed")[0]["how"] in ("transport close", "client namespace disconnect")


def test_tail_demo_gives_what_replay_of_the_sample_gives() -> None:
    """tail(feed, demo=True) taps the bundled sample through the real client: the same
    data envelopes as replay() of it."""
    got = list(wstail.tail("public", demo=True, speed=100, count=5, events="trade"))
    sample = list(wstail.replay(sample_path(FEEDS["public"]), events="trade", count=5))
    assert [(e["event"], e["data"]) for e in got] == [(e["event"], e["data"]) for e in sample]


def test_idle_timeout_is_an_exception() -> None:
    """idle_timeout ends the run with IdleTimeout (the command's exit 124), its message."""
    with pytest.raises(wstail.IdleTimeout, match="no envelope passed the filters for 0.5s"):
        list(wstail.tail("public", demo=True, events="no-such-event", idle_timeout=0.5))
