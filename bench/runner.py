"""wstail benchmark (issues 5, 12): wstail against jq, websocat, socket.io-client, orjson.

    bench/run                 # set up, generate data, time everything (~5 min)
    bench/run --quick         # one timed run each (~2 min)
    bench/run --runs 9        # more runs per figure
    bench/run --only replay,startup,rss,live   # a subset (ids: replay, capture,
                              # startup, imports, rss, live, serve)
    bench/run --soak          # only the soak: an hour of frames at 1,000/s in ~2 min
    bench/run --profile       # cProfile of the replay and live cases into bench/results/
    bench/run --only ceiling  # what issue 12's anchors would give with free normalizing
    bench/run --regen         # regenerate bench/data first (seeded: same bytes)
    bench/run --against main~3   # also time REV's wstail (a temporary worktree), same runs

Prints a table (ratio = baseline time / wstail time: above 1 wstail is faster)
and writes every figure, its goal and pass/fail to bench/results/latest.json
(soak: bench/results/soak.json). Exit 0 whatever the figures; 1 when the bench
itself could not run (a tool missing, a server that did not start).

The machine is shared and noisy: each figure is the median of several runs,
and wstail and its baseline are run alternately (A B A B ...) so that both
see the same noise. Every run is preceded by one untimed run whose output is
kept and checked (same line counts as the baseline, no frame lost).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import re
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import gen
from bench.common import (
    CAPTURE,
    CAPTURE_GZ,
    LIVE_NODE,
    LIVE_PUBLIC,
    NDJSON,
    NODE_CAPTURE,
    RESULTS,
    ROOT,
    THRESHOLD,
    BenchError,
    Context,
    Figure,
    check_output,
    install_cleanup,
    log,
    print_table,
)
from bench.install import Against, generate, setup
from bench.sections import (
    capture,
    ceiling,
    follow,
    imports,
    live,
    python,
    replay,
    rss,
    seek,
    serve,
    startup,
)
from bench.sections.profile import profile
from bench.sections.soak import soak

# the sections of a full run, in the table's order
SECTIONS: dict[str, Callable[[Context], list[Figure]]] = {
    "replay": replay.run,
    "capture": capture.run,
    "seek": seek.run,
    "startup": startup.run,
    "imports": imports.run,
    "rss": rss.run,
    "live": live.run,
    "serve": serve.run,
    "python": python.run,
    "follow": follow.run,
}
EXTRA_SECTIONS: dict[str, Callable[[Context], list[Figure]]] = {
    "ceiling": ceiling.run,  # only when asked for by --only
}
LIVE_SECTIONS = {"live", "serve", "ceiling"}


def parser() -> argparse.ArgumentParser:
    """bench/run's command line."""
    doc = __doc__ or ""
    names = ",".join([*SECTIONS, *EXTRA_SECTIONS])
    parser = argparse.ArgumentParser(
        prog="bench/run",
        description=doc.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=doc.split("\n\n", 1)[1],
    )
    parser.add_argument("--runs", type=int, default=5, help="timed runs per figure (median)")
    parser.add_argument("--quick", action="store_true", help="one timed run per figure")
    parser.add_argument("--only", help=f"comma-separated sections: {names}")
    parser.add_argument("--soak", action="store_true", help="run the soak only")
    parser.add_argument("--soak-seconds", type=float, default=120.0)
    parser.add_argument("--soak-rate", type=int, default=30_000)
    parser.add_argument("--profile", action="store_true", help="write cProfile reports only")
    parser.add_argument(
        "--regen",
        action="store_true",
        help="regenerate bench/data (public.ndjson is wstail's own output: redo it after "
        "normalizer changes)",
    )
    parser.add_argument(
        "--against",
        metavar="REV",
        help="also time the wstail of git revision REV (checked out into a temporary "
        "worktree with its own .venv) in the same alternations: columns before and "
        "new/before",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; see the module docstring."""
    cli = parser()
    args = cli.parse_args(argv)
    runs = 1 if args.quick else max(1, args.runs)
    live_runs = min(runs, 3)
    # websocat's own rate swings most between runs: tail node takes them all.
    node_runs = runs
    sections = set(SECTIONS if not args.only else args.only.split(","))
    unknown = sections - {*SECTIONS, *EXTRA_SECTIONS}
    if unknown:
        cli.error(f"--only: unknown section(s) {', '.join(sorted(unknown))}")
    if args.against and (args.soak or args.profile):
        cli.error("--against: times the table's figures, not --soak or --profile")
    install_cleanup()
    started = time.perf_counter()
    against = ""
    try:
        versions = setup(need_live=bool(args.soak or args.profile or sections & LIVE_SECTIONS))
        generate(args.regen)
        RESULTS.mkdir(parents=True, exist_ok=True)
        with (
            tempfile.TemporaryDirectory(prefix="wstail-bench-") as tmp,
            contextlib.ExitStack() as stack,
        ):
            ctx = Context(runs, live_runs, node_runs, Path(tmp))
            if args.against:
                ctx.before = stack.enter_context(Against(args.against))
                against = ctx.before.label
            if args.profile:
                profile(ctx)
                return 0
            if args.soak:
                result = soak(args.soak_seconds, args.soak_rate)
                result["versions"] = versions
                (RESULTS / "soak.json").write_text(json.dumps(result, indent=2) + "\n")
                summary = {
                    k: v
                    for k, v in result.items()
                    if k not in ("rss_samples", "stderr_tail", "versions")
                }
                print(json.dumps(summary, indent=2))
                return 0
            for name, section in {**SECTIONS, **EXTRA_SECTIONS}.items():
                if name in sections:
                    ctx.figures += section(ctx)
            figures = ctx.figures
    except BenchError as exc:
        log(f"error: {exc}")
        return 1
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    elapsed = time.perf_counter() - started
    print_table(figures, against=bool(against))
    failing = [f.id for f in figures if f.passed is False]
    print(
        f"\n{len(figures)} figures, {sum(f.passed is True for f in figures)} pass, "
        f"{len(failing)} fail ({', '.join(failing) or 'none'}); {elapsed:.0f} s, "
        f"median of {runs} run(s) ({live_runs} for tail public, {node_runs} for tail node)"
    )
    if against:
        print(
            f"before: wstail at {against}, run in the same alternations; new/before: this "
            "tree's figure over before's (better is the goal's direction: >= up, <= down)"
        )
    report: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "git": _git_head(),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "versions": versions,
        "runs": runs,
        "live_runs": live_runs,
        "node_runs": node_runs,
        "elapsed_s": elapsed,
        "data": _data_facts(),
        "figures": [f.as_json() for f in figures],
        "failing": failing,
    }
    if against:
        report["against"] = against
    dest = RESULTS / ("latest.json" if not args.only else "partial.json")
    dest.write_text(json.dumps(report, indent=2) + "\n")
    print(f"results: {dest.relative_to(ROOT)}")
    return 0


def _git_head() -> str:
    try:
        head = check_output(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]).strip()
        dirty = check_output(["git", "-C", str(ROOT), "status", "--porcelain", "cli"]).strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def _data_facts() -> dict[str, Any]:
    facts: dict[str, Any] = {"seed": 5, "price_threshold": THRESHOLD}
    for path in (NDJSON, CAPTURE, CAPTURE_GZ, NODE_CAPTURE, LIVE_PUBLIC, LIVE_NODE):
        facts[path.name] = {"bytes": path.stat().st_size}
    facts[NDJSON.name]["lines"] = gen.NDJSON_LINES
    facts[NDJSON.name]["mean_line_bytes"] = NDJSON.stat().st_size / gen.NDJSON_LINES
    events: dict[str, int] = {}
    above = 0
    pattern = re.compile(rb'"event":"([^"]+)"')
    price = re.compile(rb'"data":\{"price":([0-9.]+)')
    with open(NDJSON, "rb") as lines:
        for line in lines:
            found = pattern.search(line)
            name = found[1].decode() if found else "?"
            events[name] = events.get(name, 0) + 1
            if name == "trade":
                value = price.search(line)
                above += bool(value and float(value[1]) > THRESHOLD)
    facts[NDJSON.name]["events"] = events
    facts[NDJSON.name]["trades_above_threshold"] = above
    return facts
