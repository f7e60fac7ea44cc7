"""Reconnect backoff as the official socket.io-client's: 1 s doubling, randomized by half,
capped at 5 s by default (--retry-max-delay, WSTAIL_RETRY_MAX_DELAY).

The rule is a pure generator, tested by feeding it random draws; then real
servers (the official socket.io 4 server, a node-like WebSocket server) are
killed while wstail taps them, so their port refuses connections, and
restarted on the same port. The delays asserted are the ones wstail reports
in `meta.reconnecting`, never a wall clock: the machine is shared.
"""

from __future__ import annotations

import itertools
import json
import signal
from pathlib import Path
from typing import Any

import pytest

from helpers.live import Done, Wstail, wstail_env
from helpers.sio_peers import NodeSioPeer, run, start_peer
from test_faults import events, has, node_feed, read_until, ticking
from test_tail_cli import data_lines
from wstail.envelope import iso_to_us
from wstail.sources.retry import RETRY_MAX_DELAY, backoff

pytestmark = pytest.mark.usefixtures("node_modules")  # npm install when missing


def delays(rand: float, count: int = 8, **options: float) -> list[float]:
    """The first `count` delays of a backoff whose every random draw is `rand`."""
    return list(itertools.islice(backoff(rand=lambda: rand, **options), count))


def test_backoff_is_socketio_clients() -> None:
    """1 s, doubling, randomized by half either way, never above 5 s."""
    assert RETRY_MAX_DELAY == 5.0
    assert delays(0.5) == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0, 5.0, 5.0]
    assert delays(0.0) == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0, 5.0]
    assert delays(1.0) == [1.5, 3.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0]


def test_backoff_cap_is_the_option() -> None:
    """A gentler cap lets delays grow further; a cap under 1 s holds from the first retry."""
    assert delays(0.5, cap=30.0) == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    assert delays(0.0, count=3, cap=0.2) == [0.2, 0.2, 0.2]


def reported(done: Done) -> list[dict[str, Any]]:
    """The data of each meta.reconnecting envelope, in order."""
    return [
        json.loads(line)["data"]
        for line in done.lines
        if json.loads(line)["event"] == "meta.reconnecting"
    ]


def downtime(done: Done) -> float:
    """Seconds from the first meta.disconnected to the next meta.connected, by their recv_ts."""
    envelopes = [json.loads(line) for line in done.lines]
    names = [envelope["event"] for envelope in envelopes]
    gone = names.index("meta.disconnected")
    back = names.index("meta.connected", gone)
    return (iso_to_us(envelopes[back]["recv_ts"]) - iso_to_us(envelopes[gone]["recv_ts"])) / 1e6


@pytest.mark.timeout(90)
def test_a_refusing_socketio_server_costs_seconds(tmp_path: Path) -> None:
    """The official socket.io 4 server killed (its port refuses) and restarted after two
    refusals: the delays wstail reports are socket.io-client's, so the outage costs at most
    their sum (about 3.5 to 9.5 s), where the old 30 s cap let a longer one cost half a minute."""
    env = wstail_env(tmp_path)
    until = "data.price > `1001.5`"  # the second ticker of the restarted server

    async def body() -> Done:
        async with start_peer("sio4", ticking(1, 500)) as first:
            assert isinstance(first, NodeSioPeer)
            command = ["tail", "public", "--url", first.url, "--meta", "--until", until]
            async with Wstail(*command, env=env) as wstail:
                await read_until(wstail, has("ticker", 2))
                await first.kill()  # the listening socket closes with it: refused
                await read_until(wstail, has("meta.reconnecting", 3))  # two refused
                async with start_peer("sio4", {"steps": ticking(1001, 2), "port": first.port}):
                    return await wstail.finish(timeout=30)

    done = run(body, timeout=80)
    assert done.code == 0, done.err
    names = events(done.lines)
    again = names.index("meta.connected", names.index("meta.disconnected"))
    assert names[again:] == ["meta.connected", "ticker", "ticker"]
    attempts = reported(done)
    assert [a["attempt"] for a in attempts] == list(range(1, len(attempts) + 1))
    assert all("refused" in a["reason"] for a in attempts[1:])
    for n, attempt in enumerate(attempts):
        step = 2.0**n  # 1 s doubling, randomized by half, capped at 5 s
        assert step / 2 <= attempt["delay"] <= min(5.0, step * 1.5)
    waited = sum(a["delay"] for a in attempts)
    # Measured from the envelopes: the gap is the waits plus the refused and the
    # good handshakes; no bound on it but the waits (the machine is shared).
    assert downtime(done) >= waited - 0.01


@pytest.mark.timeout(90)
@pytest.mark.parametrize("how", ["option", "environment"])
def test_retry_max_delay_caps_every_wait_of_node(how: str, tmp_path: Path) -> None:
    """tail node, its server killed and restarted: every delay reported is the cap of
    --retry-max-delay (or WSTAIL_RETRY_MAX_DELAY), under 1 s from the first retry."""
    env = wstail_env(tmp_path, **({"WSTAIL_RETRY_MAX_DELAY": "0.3"} if how != "option" else {}))
    cap = ["--retry-max-delay", "0.3"] if how == "option" else []

    async def body() -> Done:
        async with node_feed() as (first, port):
            command = ["tail", "node", "--url", f"ws://127.0.0.1:{port}/ws", "--meta", *cap]
            async with Wstail(*command, env=env) as wstail:
                await read_until(wstail, lambda lines: len(data_lines(lines)) >= 2)
                first.kill()
                await first.wait()
                await read_until(wstail, has("meta.reconnecting", 4))  # three refused
                async with node_feed(port):
                    await read_until(wstail, has("meta.connected"))
                    await read_until(wstail, lambda lines: len(data_lines(lines)) >= 1)
                    wstail.send_signal(signal.SIGTERM)
                    return await wstail.finish(timeout=20)

    done = run(body, timeout=80)
    assert done.code == 130, done.err
    attempts = reported(done)
    assert len(attempts) >= 4
    assert {a["delay"] for a in attempts} == {0.3}
    assert all("refused" in a["reason"] for a in attempts[1:])
    assert downtime(done) >= 0.3 * len(attempts) - 0.01
