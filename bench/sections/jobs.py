"""`replay -j` (issue 25): worker processes against one process, against jq, and their memory.

Run with the replay section. These figures measure this tree only (an older
wstail has no -j): with --against they have no `before`.
"""

from __future__ import annotations

import os
import subprocess
import time
from functools import partial

from bench.common import (
    CAPTURE,
    CAPTURE_JQ_LINES,
    NORMALIZE_JQ,
    WSTAIL,
    Context,
    Figure,
    alternate,
    log,
    shell,
)
from bench.sections.capture import jq_head, same_envelopes
from bench.sections.replay import Pair, time_pair

_SAMPLE_S = 0.02  # how often the process tree's memory is looked at


def pairs() -> list[Pair]:
    """-j 2 against -j 1 on the capture, and against normalize.jq on its head."""
    first = jq_head()
    return [
        Pair(
            "replay-jobs",
            "replay -j 2 CAPTURE vs -j 1",
            ["replay", "-j", "2", str(CAPTURE)],
            [WSTAIL, "replay", "-j", "1", str(CAPTURE)],
            "-j 1",
            1.7,
            note="two worker processes and the parent against one process, same output",
            against=False,
        ),
        Pair(
            "replay-jobs-jq",
            "replay -j 2 CAPTURE vs jq normalize.jq",
            ["replay", "-j", "2", str(first)],
            ["jq", "-nc", "-f", str(NORMALIZE_JQ), str(first)],
            "jq",
            10.0,
            note=f"the first {CAPTURE_JQ_LINES:,} lines of public.jsonl, as replay-capture-jq",
            check=same_envelopes,
            against=False,
        ),
    ]


def tree_pss_kib(root: int) -> int:
    """The proportional set size of a process and its descendants now, in KiB (0 once gone)."""
    total = 0
    pending = [root]
    while pending:
        pid = pending.pop()
        try:
            with open(f"/proc/{pid}/smaps_rollup") as rollup:
                for line in rollup:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as children:
                    pending += [int(child) for child in children.read().split()]
        except (OSError, ValueError):
            continue  # it ended meanwhile
    return total


def peak_tree_mib(cmd: list[str]) -> float:
    """The highest memory (PSS, shared pages split) of `cmd` and its workers, sampled, in MiB."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, tree_pss_kib(proc.pid))
        time.sleep(_SAMPLE_S)
    if proc.returncode != 0:
        raise RuntimeError(f"{shell(cmd)} exited {proc.returncode}")
    return peak / 1024


def memory(ctx: Context) -> Figure:
    """Peak memory of the whole -j 2 process tree over -j 1's (PSS, so shared pages count once)."""
    log("rss-jobs")
    cmds = {jobs: [ctx.new.wstail, "replay", "-j", jobs, str(CAPTURE)] for jobs in ("1", "2")}
    sides = {jobs: partial(peak_tree_mib, cmd) for jobs, cmd in cmds.items()}
    peaks = alternate(sides, max(1, min(ctx.runs, 2))).samples
    one, two = max(peaks["1"]), max(peaks["2"])
    return Figure(
        "rss-jobs",
        "peak memory replay -j 2 / -j 1",
        two / one,
        "x",
        3.0,
        "<=",
        wstail=f"{two:.1f} MiB",
        baseline=f"{one:.1f} MiB -j 1",
        details={
            "cmd": shell(cmds["2"]),
            "baseline_cmd": shell(cmds["1"]),
            "peaks_mib": peaks["2"],
            "baseline_peaks_mib": peaks["1"],
            "note": "PSS of the parent and its workers, sampled every 20 ms",
        },
    )


def run(ctx: Context) -> list[Figure]:
    """The -j figures."""
    return [*(time_pair(pair, ctx) for pair in pairs()), memory(ctx)]
