"""Replay against jq (issue 5): wstail and jq doing the same work on public.ndjson.

Also the pair machinery the capture section uses: one untimed checked run of
each side, then alternate() timed runs, the figure baseline / wstail.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from bench import gen
from bench.common import (
    NDJSON,
    THRESHOLD,
    Alternation,
    Before,
    BenchError,
    Context,
    Figure,
    Install,
    Run,
    alternate,
    count_lines,
    log,
    run_timed,
    shell,
)


@dataclass
class Pair:
    """wstail and its baseline doing the same work."""

    id: str
    title: str
    wstail: list[str]  # the command's arguments after `wstail`
    baseline: list[str]
    baseline_name: str
    goal: float | None
    same_count: bool = True  # outputs must have as many lines
    note: str = ""
    max_runs: int | None = None  # report-only figures: fewer runs keep the bench short
    # compares the checked run's outputs (wstail's, the baseline's): why they differ, or ""
    check: Callable[[Path, Path], str] | None = None
    against: bool = True  # measured for --against's wstail too (False: it lacks the option)

    def command(self, install: Install) -> list[str]:
        """The wstail side run by `install`."""
        return [install.wstail, *self.wstail]


def _differs(pair: Pair, out: Path, out_b: Path, lines_b: int) -> str:
    """Why a wstail's checked output is not what the pair expects beside the baseline's, or ""."""
    lines = count_lines(out)
    if pair.same_count and lines != lines_b:
        return f"wstail printed {lines} lines, {pair.baseline_name} {lines_b}"
    return pair.check(out, out_b) if pair.check else ""


def time_pair(pair: Pair, ctx: Context) -> Figure:
    """Median wall times, alternating (with --against's wstail too); one checked run first."""
    cmds = {"wstail": pair.command(ctx.new), "baseline": pair.baseline}
    before = ctx.before if pair.against else None
    if before:
        cmds["before"] = pair.command(before)
    outs = {who: ctx.work / f"{pair.id}.{who}.out" for who in cmds}

    def check(first: dict[str, Run]) -> dict[str, Any]:
        """Line counts (and the pair's own check) of the untimed runs' outputs."""
        lines_b = count_lines(outs["baseline"])
        found = {
            "wstail_lines": count_lines(outs["wstail"]),
            "baseline_lines": lines_b,
            "mismatch": _differs(pair, outs["wstail"], outs["baseline"], lines_b),
            # an older wstail may print other envelopes: noted, not fatal
            "before_mismatch": _differs(pair, outs["before"], outs["baseline"], lines_b)
            if "before" in outs
            else "",
        }
        for out in outs.values():
            out.unlink()
        if found["mismatch"]:
            raise BenchError(f"{pair.id}: {found['mismatch']}")
        return found

    log(f"{pair.id}: checking outputs")
    timed: Alternation[Run] = alternate(
        {who: partial(run_timed, cmd) for who, cmd in cmds.items()},
        min(ctx.runs, pair.max_runs or ctx.runs),
        pair.id,
        warmup={who: partial(run_timed, cmd, outs[who]) for who, cmd in cmds.items()},
        check=check,
    )
    walls = partial(timed.values, key=_wall)
    med_w, med_b = timed.median("wstail", _wall), timed.median("baseline", _wall)
    figure = Figure(
        id=pair.id,
        title=pair.title,
        value=med_b / med_w,
        unit="x",
        goal=pair.goal,
        wstail=f"{med_w:.3f} s",
        baseline=f"{med_b:.3f} s {pair.baseline_name}",
        details={
            "wstail_cmd": shell(cmds["wstail"]),
            "baseline_cmd": shell(pair.baseline),
            "wstail_s": walls("wstail"),
            "baseline_s": walls("baseline"),
            "wstail_median_s": med_w,
            "baseline_median_s": med_b,
            "output_lines": timed.checked["wstail_lines"],
            "baseline_output_lines": timed.checked["baseline_lines"],
            "wstail_peak_rss_mib": _peak_mib(timed, "wstail"),
            "note": pair.note,
        },
    )
    if before:
        med_o = timed.median("before", _wall)
        differs = timed.checked["before_mismatch"]
        figure.before = Before(
            med_b / med_o,
            f"{med_o:.3f} s" + (" (DIFFERS)" if differs else ""),
            {
                "rev": before.label,
                "wstail_cmd": shell(cmds["before"]),
                "wstail_s": walls("before"),
                "wstail_median_s": med_o,
                "wstail_peak_rss_mib": _peak_mib(timed, "before"),
                "differs": differs or None,
            },
        )
    return figure


def _wall(run: Run) -> float:
    return run.wall


def _peak_mib(timed: Alternation[Run], who: str) -> float:
    """`who`'s peak RSS over its checked and timed runs."""
    runs = [timed.warmup[who], *timed.samples[who]]
    return max(run.maxrss_kib for run in runs) / 1024


def pairs() -> list[Pair]:
    """The replay comparisons of issue 5."""
    data = str(NDJSON)
    expr = f"event == 'trade' && data.price > `{THRESHOLD}`"
    return [
        Pair(
            "replay-event",
            "replay -e trade vs jq select",
            ["replay", "-e", "trade", data],
            ["jq", "-c", 'select(.event=="trade")', data],
            "jq",
            4.0,
        ),
        Pair(
            "replay-filter",
            f"replay -f trade && price > {THRESHOLD} vs jq",
            ["replay", "-f", expr, data],
            ["jq", "-c", f'select(.event=="trade" and .data.price > {THRESHOLD})', data],
            "jq",
            1.5,
            note=f"prices random-walk around {gen.BASE_PRICE:.0f} EUR (2026), so the issue's "
            f"threshold 205 is scaled to {THRESHOLD}",
        ),
        Pair(
            "replay-full",
            "replay (all) vs jq -c .",
            ["replay", data],
            ["jq", "-c", ".", data],
            "jq",
            3.0,
        ),
        Pair(
            "replay-query",
            "replay -q data.price vs jq .data.price",
            ["replay", "-q", "data.price", data],
            ["jq", "-c", ".data.price", data],
            "jq",
            None,
        ),
    ]


def run(ctx: Context) -> list[Figure]:
    """The replay figures, then -j's (bench/sections/jobs.py)."""
    from bench.sections import jobs

    return [*(time_pair(pair, ctx) for pair in pairs()), *jobs.run(ctx)]
