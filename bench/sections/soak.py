"""Soak: `wstail record` of a node feed at a fixed rate, RSS every second, every frame counted."""

from __future__ import annotations

import gzip
import subprocess
import tempfile
import time
from typing import Any

from bench.common import DATA, LIVE_NODE, WSTAIL, Server, forget, log, shell, start, window_s


def rss_mib(pid: int) -> float | None:
    """A process's resident set from /proc, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def soak(seconds: float, rate: int) -> dict[str, Any]:
    """`wstail record` of a node feed at `rate` frames/s for `seconds`: RSS every second, counts."""
    frames = int(seconds * rate)
    out = DATA / "soak.jsonl.gz"
    out.unlink(missing_ok=True)
    server = Server("node", LIVE_NODE, frames, rate)
    cmd = [WSTAIL, "record", "-o", str(out), "node"]
    cmd += ["--url", f"ws://127.0.0.1:{server.port}/ws", "-n", str(frames), "--retries", "0"]
    log(f"soak: {frames:,} frames at {rate:,}/s ({frames / 1000 / 3600:.2f} h at 1,000/s)")
    samples: list[tuple[float, float]] = []
    begin = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = start(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        try:
            deadline = begin + seconds * 3 + 60  # far slower than asked, or stuck: stop
            while proc.poll() is None:
                if time.perf_counter() > deadline:
                    log("soak: wstail record is far behind or stuck: stopping it")
                    proc.terminate()
                    proc.wait()
                    break
                value = rss_mib(proc.pid)
                if value is not None:
                    samples.append((round(time.perf_counter() - begin, 1), value))
                if len(samples) % 15 == 0 and samples:
                    log(f"soak: {samples[-1][0]:.0f} s, RSS {samples[-1][1]:.1f} MiB")
                time.sleep(1.0)
            wall = time.perf_counter() - begin
            rc = proc.returncode
            stats = server.connection(timeout=15)
        finally:
            server.close()
            if proc.poll() is None:
                proc.terminate()
                proc.wait()
            forget(proc)
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    log("soak: counting the capture's frames")
    text_frames = other = 0
    with gzip.open(out, "rb") as capture:
        capture.readline()
        for line in capture:
            if line.split(b",", 2)[1] == b'"text"':
                text_frames += 1
            else:
                other += 1
    rss_values = [value for _, value in samples]
    settled = [value for t, value in samples if t >= 10] or rss_values
    half = len(settled) // 2
    growth = (max(settled[half:]) - max(settled[:half])) if half else 0.0
    result = {
        "frames_sent": stats["sent"],
        "frames_in_capture": text_frames,
        "other_capture_lines": other,
        "all_accounted_for": text_frames == stats["sent"] == frames and rc == 0,
        "rc": rc,
        "wall_s": wall,
        "achieved_frames_per_s": stats["sent"] / window_s(stats),
        "target_frames_per_s": rate,
        "rss_min_mib": min(rss_values) if rss_values else None,
        "rss_max_mib": max(rss_values) if rss_values else None,
        "rss_min_after_10s_mib": min(settled) if settled else None,
        "rss_growth_second_half_mib": growth,
        "flat": growth <= 4.0 and (max(rss_values) if rss_values else 0) <= 64,
        "capture_bytes": out.stat().st_size,
        "cmd": shell(cmd),
        "rss_samples": samples,
        "stderr_tail": stderr[-500:],
    }
    out.unlink()
    return result
