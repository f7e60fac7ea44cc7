"""Replay's waiting (replaying/pacing.py), with a fake clock: speed, gaps, --duration, idle."""

from __future__ import annotations

import pytest

from conftest import make_stream
from wstail.exitcodes import IdleTimeout
from wstail.pipeline import Stream, StreamDone
from wstail.replaying import ReplayTimer

START = 1_795_428_000_000_000


class FakeClock:
    """time.monotonic and time.sleep for the Pacer: sleeping moves the clock."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        """The current fake time."""
        return self.now

    def sleep(self, seconds: float) -> None:
        """Record the sleep and move time forward."""
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The Pacer's clock, faked."""
    fake = FakeClock()
    monkeypatch.setattr("wstail.replaying.pacing.time", fake)
    monkeypatch.setattr("wstail.pipeline.time", fake)
    return fake


def pacer(
    stream: Stream,
    speed: float | None,
    max_gap: float | None = None,
    idle: float | None = None,
    deadline: float | None = None,
) -> ReplayTimer:
    """A ReplayTimer over `stream`."""
    return ReplayTimer(speed, max_gap, stream, idle, deadline)


def test_pacer_scales_recorded_gaps_by_speed(clock: FakeClock) -> None:
    """--speed 2 sleeps half of every recorded gap; times going back count as no gap."""
    stream, _ = make_stream()
    pace = pacer(stream, 2)
    for seconds in (0, 1, 3, 2, 6):
        pace.wait(START + seconds * 1_000_000)
    assert clock.sleeps == [0.5, 1.0, 2.0]


def test_pacer_caps_gaps_at_max_gap(clock: FakeClock) -> None:
    """--max-gap cuts every longer recorded gap before scaling."""
    stream, _ = make_stream()
    pace = pacer(stream, 1, max_gap=5)
    for seconds in (0, 1, 3601, 3602):
        pace.wait(START + seconds * 1_000_000)
    assert clock.sleeps == [1.0, 5.0, 1.0]


def test_unpaced_waits_never_sleep(clock: FakeClock) -> None:
    """Without --speed the Pacer returns at once, whatever the gaps."""
    stream, _ = make_stream()
    pace = pacer(stream, None)
    for seconds in (0, 3600, 7200):
        pace.wait(START + seconds * 1_000_000)
    assert clock.sleeps == []


def test_pacer_idle_timeout(clock: FakeClock) -> None:
    """A gap longer than --idle-timeout with nothing passing raises IdleTimeout at that time."""
    stream, _ = make_stream()
    stream.last_pass = clock.now
    pace = pacer(stream, 1, idle=2)
    pace.wait(START)
    with pytest.raises(IdleTimeout):
        pace.wait(START + 60_000_000)
    assert clock.now == pytest.approx(102.0)


def test_pacer_duration(clock: FakeClock) -> None:
    """The --duration deadline ends the stream while waiting, and unpaced too."""
    stream, _ = make_stream()
    pace = pacer(stream, 1, deadline=103)
    pace.wait(START)
    with pytest.raises(StreamDone):
        pace.wait(START + 60_000_000)
    assert clock.now == pytest.approx(103.0)
    unpaced = pacer(stream, None, deadline=103)
    with pytest.raises(StreamDone):
        unpaced.wait(None)
