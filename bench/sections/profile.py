"""cProfile of the replay and live cases: bench/results/profile-*.txt."""

from __future__ import annotations

import pstats
from pathlib import Path

from bench.common import (
    CAPTURE,
    LIVE_FRAMES,
    LIVE_NODE,
    LIVE_PUBLIC,
    NDJSON,
    PYTHON,
    RESULTS,
    THRESHOLD,
    Context,
    Server,
    count_lines,
    log,
    run_timed,
)


def profile(ctx: Context) -> None:
    """cProfile (top functions by cumulative and own time) of the main cases."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    expr = f"event == 'trade' && data.price > `{THRESHOLD}`"
    cases = [
        ("replay-event", ["replay", "-e", "trade", str(NDJSON)]),
        ("replay-filter", ["replay", "-f", expr, str(NDJSON)]),
        ("replay-full", ["replay", str(NDJSON)]),
        ("replay-query", ["replay", "-q", "data.price", str(NDJSON)]),
        ("replay-capture", ["replay", str(CAPTURE)]),
    ]
    for name, args in cases:
        log(f"profile: {name}")
        prof = ctx.work / f"{name}.prof"
        run_timed([PYTHON, "-m", "cProfile", "-o", str(prof), "-m", "wstail", *args])
        write_profile(prof, RESULTS / f"profile-{name}.txt")
    for mode, capture, count_args in (
        ("node", LIVE_NODE, ["node"]),
        ("eio3", LIVE_PUBLIC, ["public", "--eio", "3"]),
        ("eio4", LIVE_PUBLIC, ["public", "--eio", "4"]),
    ):
        log(f"profile: live-{mode}")
        # pings every 5 s: a profiled client is slow, and python-engineio gives up
        # when it has had nothing to send (no pong) for 30 s
        server = Server(mode, capture, LIVE_FRAMES, ping_ms=5_000)
        try:
            scheme = "ws" if mode == "node" else "http"
            path = "/ws" if mode == "node" else ""
            want = LIVE_FRAMES if mode == "node" else ctx.expected_public(ctx.new)[0]
            prof = ctx.work / f"live-{mode}.prof"
            out = ctx.work / f"live-{mode}.out"
            cmd = [PYTHON, "-m", "cProfile", "-o", str(prof), "-m", "wstail", "tail", *count_args]
            cmd += ["--url", f"{scheme}://127.0.0.1:{server.port}{path}", "-n", str(want)]
            run = run_timed([*cmd, "--compact", "--retries", "0"], out, timeout=300)
            got = count_lines(out)
            if got != want:  # cProfile exits 0 whatever the program's exit code
                log(
                    f"profile: live-{mode} printed {got} of {want} envelopes: "
                    f"{run.stderr.strip()[-300:]}"
                )
            write_profile(prof, RESULTS / f"profile-live-{mode}.txt")
        finally:
            server.close()
    log(f"profiles written to {RESULTS}/profile-*.txt")


def write_profile(prof: Path, dest: Path) -> None:
    """The 30 top functions by cumulative and by own time."""
    with open(dest, "w") as out:
        stats = pstats.Stats(str(prof), stream=out)
        stats.strip_dirs()
        out.write("== by cumulative time ==\n")
        stats.sort_stats("cumulative").print_stats(30)
        out.write("== by own time ==\n")
        stats.sort_stats("tottime").print_stats(30)
