"""Peak RSS of the full replays (those of the timed replay runs when they ran)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from bench.common import (
    CAPTURE,
    CAPTURE_GZ,
    NDJSON,
    Before,
    Context,
    Figure,
    Install,
    alternate,
    log,
    run_timed,
    shell,
)


def _peak_mib(cmd: list[str]) -> float:
    return run_timed(cmd).maxrss_kib / 1024


def run(ctx: Context) -> list[Figure]:
    """Peak RSS (max over the runs) of replay CAPTURE, CAPTURE.gz and NDJSON."""
    cases: list[tuple[str, str, Callable[[Install], list[str]], str]] = [
        (
            "rss-capture",
            "peak RSS replay CAPTURE",
            lambda w: [w.wstail, "replay", str(CAPTURE)],
            "replay-capture",
        ),
        (
            "rss-capture-gz",
            "peak RSS replay CAPTURE.gz",
            lambda w: [w.wstail, "replay", str(CAPTURE_GZ)],
            "replay-capture-gz",
        ),
        (
            "rss-ndjson",
            "peak RSS replay NDJSON",
            lambda w: [w.wstail, "replay", str(NDJSON)],
            "replay-full",
        ),
    ]
    timed = {fig.id: fig for fig in ctx.figures if "wstail_peak_rss_mib" in fig.details}
    figures = []
    for ident, title, make, timed_id in cases:
        cmds = {install.who: make(install) for install in ctx.installs}
        peaks: dict[str, list[float]]
        if timed_id in timed:
            done = timed[timed_id]
            peaks = {"wstail": [done.details["wstail_peak_rss_mib"]]}
            if done.before is not None:
                peaks["before"] = [done.before.details["wstail_peak_rss_mib"]]
        else:
            log(f"{ident}")
            sides = {who: partial(_peak_mib, cmd) for who, cmd in cmds.items()}
            peaks = alternate(sides, max(1, min(ctx.runs, 2))).samples
        figure = Figure(
            ident,
            title,
            max(peaks["wstail"]),
            "MiB",
            64.0,
            "<=",
            wstail=f"{max(peaks['wstail']):.1f} MiB",
            details={"cmd": shell(cmds["wstail"]), "peaks_mib": peaks["wstail"]},
        )
        if ctx.before and "before" in peaks:
            figure.before = Before(
                max(peaks["before"]),
                f"{max(peaks['before']):.1f} MiB",
                {
                    "rev": ctx.before.label,
                    "cmd": shell(cmds["before"]),
                    "peaks_mib": peaks["before"],
                },
            )
        figures.append(figure)
    return figures
