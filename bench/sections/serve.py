"""tail public against `wstail replay --serve --speed 1000000`: one run each, report only."""

from __future__ import annotations

import datetime
import json
import os
import re
import subprocess
import time
from functools import partial
from pathlib import Path
from typing import Any

from bench.common import (
    LIVE_PUBLIC,
    Before,
    BenchError,
    Context,
    Figure,
    Install,
    alternate,
    envelope_digest,
    forget,
    log,
    run_timed,
    start,
)


def recv_span_s(path: Path) -> float | None:
    """Seconds between the first and last envelope's recv_ts (client-side)."""
    with open(path, "rb") as handle:
        first = handle.readline()
        if not first:
            return None
        handle.seek(max(0, os.path.getsize(path) - 4096))
        last = handle.read().splitlines()[-1]

    def stamp(line: bytes) -> float:
        text = json.loads(line)["recv_ts"]
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()

    return stamp(last) - stamp(first)


def serve_run(install: Install, eio: str, ctx: Context) -> dict[str, Any]:
    """`install`'s replay --serve of the live capture, read by its own tail public."""
    log(f"live-serve-eio{eio}" + ("" if install.who == "wstail" else f" ({install.who})"))
    want_lines, want_digest = ctx.expected_public(install)
    err = open(ctx.work / f"serve{eio}.err", "w+")  # noqa: SIM115
    serve = [install.wstail, "replay", "--serve", "127.0.0.1:0", "--eio", eio]
    proc = start(
        [*serve, "--speed", "1000000", str(LIVE_PUBLIC)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=err,
    )
    try:
        port = None
        for _ in range(200):
            err.seek(0)
            found = re.search(r"http://127\.0\.0\.1:(\d+)", err.read())
            if found:
                port = int(found[1])
                break
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        if port is None:
            err.seek(0)
            raise BenchError(f"replay --serve did not start: {err.read()[-500:]}")
        out = ctx.work / f"serve{eio}.out"
        cmd = [install.wstail, "tail", "public", "--url", f"http://127.0.0.1:{port}"]
        cmd += ["--eio", eio, "-n", str(want_lines), "--compact", "--retries", "0"]
        run = run_timed(cmd, out, timeout=240, ok=(0, 3, 124))
        lines, digest = envelope_digest(out)
        span = recv_span_s(out)
        out.unlink()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        forget(proc)
        err.close()
    return {
        "rate": lines / span if span else None,
        "exact": lines == want_lines and digest == want_digest,
        "lines": lines,
        "rc": run.rc,
        "wall_s": run.wall,
    }


def _shown(result: dict[str, Any]) -> str:
    return f"wall {result['wall_s']:.1f} s, rc {result['rc']}, " + (
        "exact" if result["exact"] else "MISMATCH"
    )


def run(ctx: Context) -> list[Figure]:
    """One served run per Engine.IO version (per wstail with --against)."""
    figures = []
    for eio in ("3", "4"):
        sides = {install.who: partial(serve_run, install, eio, ctx) for install in ctx.installs}
        results = {who: runs[0] for who, runs in alternate(sides, 1).samples.items()}
        new = results["wstail"]
        figure = Figure(
            f"live-serve-eio{eio}",
            f"tail public via replay --serve (EIO{eio})",
            new["rate"],
            "env/s",
            None,
            wstail=_shown(new),
            baseline="-",
            details={
                "timing": "envelopes / (last recv_ts - first recv_ts); server and client "
                "share the 2 cores",
                "lines": new["lines"],
                "rc": new["rc"],
                "wall_s": new["wall_s"],
            },
        )
        if ctx.before:
            old = results["before"]
            figure.before = Before(
                old["rate"],
                _shown(old),
                {
                    "rev": ctx.before.label,
                    "lines": old["lines"],
                    "rc": old["rc"],
                    "wall_s": old["wall_s"],
                },
            )
        figures.append(figure)
    return figures
