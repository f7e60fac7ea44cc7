"""Imports: whether replay (with every STREAM option kind) imports the network stacks."""

from __future__ import annotations

from functools import partial
from typing import Any

from bench.common import (
    CAPTURE,
    NDJSON,
    THRESHOLD,
    Before,
    Context,
    Figure,
    Run,
    alternate,
    head,
    run_timed,
)

FORBIDDEN_IMPORTS = ("socketio", "engineio", "aiohttp")


def imported(stderr: str) -> dict[str, int]:
    """The modules `python -X importtime` reported, with their cumulative microseconds."""
    modules: dict[str, int] = {}
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        parts = line.split("|")
        try:
            cumulative = int(parts[1])
        except ValueError:
            continue
        modules[parts[2].strip()] = cumulative
    return modules


def _facts(run: Run) -> tuple[list[str], dict[str, Any]]:
    """The forbidden top-level packages imported, and what else the report keeps."""
    modules = imported(run.stderr)
    tops = {name.split(".")[0] for name in modules}
    bad = sorted(name for name in FORBIDDEN_IMPORTS if name in tops)
    heavy = sorted(((us, name) for name, us in modules.items() if "." not in name), reverse=True)[
        :8
    ]
    return bad, {
        "forbidden_imported": bad,
        "modules": len(modules),
        "heaviest_top_level_ms": {name: us / 1000 for us, name in heavy},
        "also_imported": sorted(
            t for t in ("websockets", "zstandard", "jmespath", "click") if t in tops
        ),
    }


def _verdict(bad: list[str]) -> str:
    return ", ".join(bad) if bad else "none of socketio/engineio/aiohttp"


def run(ctx: Context) -> list[Figure]:
    """One `python -X importtime -m wstail ...` per case (and per wstail with --against)."""
    tiny_cap = head(CAPTURE, 20, "tiny.jsonl")
    tiny = head(NDJSON, 10, "tiny.ndjson")
    expr = f"data.price > `{THRESHOLD}`"
    cases = [
        ("imports-replay", "replay NDJSON", ["replay", str(tiny)]),
        ("imports-replay-capture", "replay CAPTURE", ["replay", str(tiny_cap)]),
        (
            "imports-replay-options",
            "replay -e -f -q CAPTURE",
            ["replay", "-e", "trade", "-f", expr, "-q", "data.price", str(tiny_cap)],
        ),
        ("imports-version", "--version", ["--version"]),
    ]
    figures = []
    for ident, title, args in cases:
        sides = {
            install.who: partial(
                run_timed, [install.python, "-X", "importtime", "-m", "wstail", *args]
            )
            for install in ctx.installs
        }
        runs = alternate(sides, 1).samples
        bad, details = _facts(runs["wstail"][0])
        figure = Figure(
            ident,
            f"imports of {title}",
            float(len(bad)),
            "forbidden",
            0,
            "<=",
            wstail=_verdict(bad),
            details=details,
        )
        if ctx.before:
            bad_o, details_o = _facts(runs["before"][0])
            figure.before = Before(
                float(len(bad_o)), _verdict(bad_o), {"rev": ctx.before.label, **details_o}
            )
        figures.append(figure)
    return figures
