"""Issue 12's three anchors with normalizing made free (bench/ceiling.py): report only.

The best ratio any normalizer, however fast (compiled included), could give
with the rest of wstail as it is; each against its anchor's baseline,
alternately. Never part of a full run (`--only ceiling`).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from functools import partial
from pathlib import Path

from bench.common import (
    CAPTURE,
    CAPTURE_JQ_LINES,
    CLIENT_OK,
    DATA,
    LIVE_FRAMES,
    LIVE_NODE,
    LIVE_PUBLIC,
    NORMALIZE_JQ,
    SIO_CLIENT,
    WEBSOCAT,
    Before,
    BenchError,
    Context,
    Figure,
    Install,
    Run,
    Server,
    alternate,
    head,
    run_timed,
    window_s,
)


def ceiling_s(run: Run) -> float:
    """The in-process time bench/ceiling.py reports on its last stderr line."""
    last = run.stderr.strip().splitlines()[-1]
    if not last.startswith("ceiling: "):
        raise BenchError(f"bench/ceiling.py did not report its time: {run.stderr[-300:]}")
    return float(last.split()[1])


def _own_time(cmd: list[str]) -> float:
    return ceiling_s(run_timed(cmd))


def _wall(cmd: list[str]) -> float:
    return run_timed(cmd).wall


def _frames_per_s(
    cmd: list[str], server: Server, ctx: Context, who: str, consumer: Sequence[str] | None
) -> float:
    out = ctx.work / f"ceiling-{who}.out"
    run_timed(cmd, out, timeout=180, ok=CLIENT_OK, consumer=consumer)
    rate = LIVE_FRAMES / window_s(server.connection())
    out.unlink()
    return rate


def _rate_figure(
    ctx: Context, id_: str, title: str, rates: dict[str, list[float]], rival: str, anchor: str
) -> Figure:
    med = {who: statistics.median(values) for who, values in rates.items()}
    figure = Figure(
        id_,
        title,
        med["wstail"] / med[rival],
        "x",
        wstail=f"{med['wstail']:,.0f} frames/s",
        baseline=f"{med[rival]:,.0f} frames/s {rival}",
        details={
            "frames_per_s": {who: rates[who] for who in ("wstail", rival)},
            "anchor": anchor,
        },
    )
    if ctx.before:
        figure.before = Before(
            med["before"] / med[rival],
            f"{med['before']:,.0f} frames/s",
            {"rev": ctx.before.label, "frames_per_s": rates["before"]},
        )
    return figure


def _alternate_live(
    ctx: Context,
    server: Server,
    cmds: dict[str, list[str]],
    what: str,
    consumer: Sequence[str] | None = None,
) -> dict[str, list[float]]:
    """Frames per second of each command on `server`, alternately; the server closed after."""
    sides = {
        who: partial(_frames_per_s, cmd, server, ctx, who, consumer) for who, cmd in cmds.items()
    }
    try:
        return alternate(sides, ctx.live_runs, what).samples
    finally:
        server.close()


def run(ctx: Context) -> list[Figure]:
    """The three ceiling figures, `ctx.live_runs` runs each side."""
    first = DATA / "public_head.jsonl"
    if not first.exists():
        first = head(CAPTURE, CAPTURE_JQ_LINES + 1, "public_head.jsonl")
    # the rival second, as without --against: the sides are wstail, rival (, before)
    sides = {"wstail": partial(_own_time, _free(ctx.new, first, ["replay", str(first)]))}
    sides["jq"] = partial(_wall, ["jq", "-nc", "-f", str(NORMALIZE_JQ), str(first)])
    if ctx.before:
        sides["before"] = partial(_own_time, _free(ctx.before, first, ["replay", str(first)]))
    times = alternate(sides, ctx.live_runs, "ceiling: capture").samples
    med = {who: statistics.median(values) for who, values in times.items()}
    capture = Figure(
        "replay-capture-ceiling",
        "replay CAPTURE, normalizing free, vs jq normalize.jq",
        med["jq"] / med["wstail"],
        "x",
        wstail=f"{med['wstail']:.3f} s",
        baseline=f"{med['jq']:.3f} s jq",
        details={
            "timing": "wstail's run inside bench/ceiling.py (interpreter start and "
            "precomputing not counted) vs jq's wall time",
            "wstail_s": times["wstail"],
            "jq_s": times["jq"],
            "anchor": "replay-capture-jq (>= 12x)",
        },
    )
    if ctx.before:
        capture.before = Before(
            med["jq"] / med["before"],
            f"{med['before']:.3f} s",
            {"rev": ctx.before.label, "wstail_s": times["before"]},
        )

    server = Server("eio4", LIVE_PUBLIC, LIVE_FRAMES)
    url = f"http://127.0.0.1:{server.port}"

    def tail_public(install: Install) -> list[str]:
        """`install`'s tail public with free normalizing."""
        count = str(ctx.expected_public(install)[0])
        args = ["tail", "public", "--url", url, "--eio", "4", "-n", count]
        return _free(install, LIVE_PUBLIC, [*args, "--compact", "--retries", "0"])

    cmds = {"wstail": tail_public(ctx.new)}
    cmds["node"] = ["node", str(SIO_CLIENT), "--eio", "4", "--url", url, "--count"]
    cmds["node"] += [str(LIVE_FRAMES)]
    if ctx.before:
        cmds["before"] = tail_public(ctx.before)
    eio4 = _alternate_live(ctx, server, cmds, "ceiling: eio4")

    server = Server("node", LIVE_NODE, LIVE_FRAMES)
    url = f"ws://127.0.0.1:{server.port}/ws"
    args = ["tail", "node", "--url", url, "-n", str(LIVE_FRAMES), "--compact", "--retries", "0"]
    cmds = {"wstail": _free(ctx.new, LIVE_NODE, args)}
    cmds["websocat"] = [WEBSOCAT, "-t", "--no-close", url]
    if ctx.before:
        cmds["before"] = _free(ctx.before, LIVE_NODE, args)
    node = _alternate_live(ctx, server, cmds, "ceiling: node", consumer=["wc", "-l"])
    return [
        capture,
        _rate_figure(
            ctx,
            "live-eio4-ceiling",
            "tail public EIO4, normalizing free, vs socket.io-client 4.x",
            eio4,
            "node",
            "live-eio4-vs-node (>= 1.0x)",
        ),
        _rate_figure(
            ctx,
            "live-node-ceiling",
            "tail node, normalizing free, vs websocat (| wc -l)",
            node,
            "websocat",
            "live-node (>= 0.6x)",
        ),
    ]


def _free(install: Install, capture: Path, args: list[str]) -> list[str]:
    """`install`'s wstail ARGS run by bench/ceiling.py with `capture` precomputed."""
    return [install.python, install.ceiling, str(capture), "--", *args]
