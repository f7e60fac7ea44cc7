"""Seeking (issue 25): `replay --from` at 90% of a capture, first envelope printed (-n 1).

The 300k-frame public capture plain, .gz and .zst as `record` writes them,
each with its index (bench/gen.py); then the same for a 3M-frame capture
generated here and not kept, reported without a goal.
"""

from __future__ import annotations

import random
import time
from functools import partial
from pathlib import Path

from bench import gen
from bench.common import CAPTURE, Context, Figure, alternate, log, run_timed, shell

GOAL_S = 0.3
BIG_FRAMES = 3_000_000


def _from_at(capture: Path, share: float) -> str:
    """The receive time (RFC 3339) of the frame `share` of the way into a plain capture."""
    with open(capture, "rb") as handle:
        lines = handle.readlines()
    line = lines[int(len(lines) * share)]
    offset = line[1 : line.index(b",")].decode()
    seconds, _, micro = offset.partition(".")
    whole = gen.START_EPOCH + int(seconds)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{micro}Z"


def _s(cmd: list[str], out: Path) -> float:
    return run_timed(cmd, out).wall


def _figures(ctx: Context, captures: list[Path], tag: str, goal: float | None) -> list[Figure]:
    start = _from_at(captures[0], 0.9)
    figures = []
    for capture, kind in zip(captures, ("plain", "gz", "zst"), strict=True):
        ident = f"seek-{tag}-{kind}"
        cmd = [ctx.new.wstail, "replay", "--from", start, "-n", "1", str(capture)]
        out = ctx.work / f"{ident}.out"
        log(f"{ident}: {ctx.runs} runs")
        timed = alternate({"wstail": partial(_s, cmd, out)}, ctx.runs, warmup=True)
        if not out.read_bytes().startswith(b'{"seq":'):
            raise RuntimeError(f"{ident}: no envelope printed")
        med = timed.median("wstail")
        figures.append(
            Figure(
                ident,
                f"replay --from (90%) -n 1, {tag} {kind}",
                med,
                "s",
                goal,
                "<=",
                wstail=f"{med * 1000:.0f} ms",
                details={"cmd": shell(cmd), "s": timed.values("wstail")},
            )
        )
    return figures


def run(ctx: Context) -> list[Figure]:
    """The 300k-frame capture's three forms (goal 0.3 s), then a 3M-frame one (report)."""
    small = [CAPTURE, Path(f"{CAPTURE}.gz"), Path(f"{CAPTURE}.zst")]
    figures = _figures(ctx, small, "300k", GOAL_S)
    big = ctx.work / "big.jsonl"
    log(f"seek: generating a {BIG_FRAMES:,}-frame capture and its indexes")
    gen.write_public(big, ctx.work / "big-live.jsonl", random.Random(11), BIG_FRAMES)
    (ctx.work / "big-live.jsonl").unlink()
    try:
        captures = gen.write_indexed_public([ctx.new.wstail], big)
        figures += _figures(ctx, captures, "3M", None)
    finally:
        for path in ctx.work.glob("big.jsonl*"):
            path.unlink()
    return figures
