"""`replay --follow` latency: a frame received by `record` to its envelope printed by a follower.

`wstail record public --demo --speed 40` writes about 100 frames a second
(the bundled sample, looped) into a capture that `wstail replay --follow`
reads; each stdout line is stamped as the bench reads it, and a frame's
latency is that stamp minus its recv_ts (when record received it, just
before writing it: so this slightly over-counts). 1,000 frames for each of
plain, .gz and .zst; median and 99th percentile in ms.
"""

from __future__ import annotations

import datetime
import signal
import statistics
import subprocess
import time
from pathlib import Path

import orjson

from bench.common import BenchError, Context, Figure, Install, forget, log, start

FRAMES = 1000
EXTENSIONS = ("jsonl", "jsonl.gz", "jsonl.zst")


def latencies(install: Install, capture: Path, frames: int = FRAMES) -> list[float]:
    """Seconds from each frame's recv_ts to its first envelope read from the follower."""
    capture.unlink(missing_ok=True)
    record = [install.wstail, "record", "public", "--demo", "--speed", "40", "-o", str(capture)]
    recorder = start(record, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    follower = start(
        [install.wstail, "replay", "--follow", str(capture)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    seen: dict[str, float] = {}
    try:
        assert follower.stdout is not None
        deadline = time.monotonic() + 120
        while len(seen) < frames:
            line = follower.stdout.readline()
            now = time.time()
            if not line:
                raise BenchError("replay --follow ended before 1,000 frames")
            if time.monotonic() > deadline:
                raise BenchError("replay --follow: 1,000 frames took over 120 s")
            stamp = orjson.loads(line)["recv_ts"]
            if stamp not in seen:
                seen[stamp] = now - _seconds(stamp)
    finally:
        for proc in (follower, recorder):
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            forget(proc)
        capture.unlink(missing_ok=True)
    return list(seen.values())


def _seconds(stamp: str) -> float:
    return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def run(ctx: Context) -> list[Figure]:
    """Median and p99 follow latency for plain, .gz and .zst captures being recorded."""
    figures = []
    for extension in EXTENSIONS:
        kind = extension.rpartition(".")[2] if extension != "jsonl" else "plain"
        log(f"follow-latency ({kind}): {FRAMES:,} frames")
        got = sorted(latencies(ctx.new, ctx.work / f"follow.{extension}"))
        p50 = statistics.median(got) * 1000
        p99 = got[min(len(got) - 1, round(0.99 * len(got)) - 1)] * 1000
        details = {"frames": len(got), "max_ms": round(got[-1] * 1000, 1)}
        figures.append(
            Figure(
                f"follow-latency-{kind}-p50",
                f"replay --follow ({kind}): record to print, median",
                round(p50, 1),
                "ms",
                wstail="replay --follow of a capture record writes",
                details=details,
            )
        )
        figures.append(
            Figure(
                f"follow-latency-{kind}-p99",
                f"replay --follow ({kind}): record to print, 99th percentile",
                round(p99, 1),
                "ms",
                goal=250.0,
                op="<=",
                wstail="replay --follow of a capture record writes",
                details=details,
            )
        )
    return figures
