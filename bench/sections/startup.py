"""Start-up: `wstail --version` and a tiny replay, median wall time in ms."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from bench.common import (
    NDJSON,
    PYTHON,
    Before,
    Context,
    Figure,
    Install,
    alternate,
    head,
    log,
    run_timed,
    shell,
)


def _ms(cmd: list[str]) -> float:
    return run_timed(cmd).wall * 1000


def run(ctx: Context) -> list[Figure]:
    """`wstail --version`, a 10-line replay and `python -c pass` (the floor): median ms."""
    tiny = head(NDJSON, 10, "tiny.ndjson")
    count = max(10, ctx.runs * 3)
    cases: list[tuple[str, str, Callable[[Install], list[str]] | list[str], float | None]] = [
        ("startup-version", "wstail --version", lambda w: [w.wstail, "--version"], 80.0),
        (
            "startup-replay",
            "wstail replay (10 lines)",
            lambda w: [w.wstail, "replay", str(tiny)],
            None,
        ),
        # not wstail's: measured once, whatever --against
        ("startup-python", "python -c pass (floor)", [PYTHON, "-c", "pass"], None),
    ]
    figures = []
    for ident, title, make, goal in cases:
        if callable(make):
            cmds = {install.who: make(install) for install in ctx.installs}
        else:
            cmds = {"wstail": make}
        log(f"{ident}: {count} runs")
        timed = alternate(
            {who: partial(_ms, cmd) for who, cmd in cmds.items()},
            count,
            warmup=True,
        )
        med = timed.median("wstail")
        figure = Figure(
            ident,
            title,
            med,
            "ms",
            goal,
            "<=",
            wstail=f"{med:.1f} ms",
            details={"cmd": shell(cmds["wstail"]), "ms": timed.values("wstail")},
        )
        if "before" in cmds and ctx.before:
            med_o = timed.median("before")
            figure.before = Before(
                med_o,
                f"{med_o:.1f} ms",
                {
                    "rev": ctx.before.label,
                    "cmd": shell(cmds["before"]),
                    "ms": timed.values("before"),
                },
            )
        figures.append(figure)
    return figures
