"""The Python API: replay() against `wstail replay`, read_captures on 1 and 2 worker processes."""

from __future__ import annotations

import json
import subprocess
from functools import partial
from pathlib import Path

from bench.common import (
    BENCH,
    CAPTURE,
    PYTHON,
    ROOT,
    BenchError,
    Context,
    Figure,
    alternate,
    count_lines,
    log,
    run_timed,
    shell,
)

PYAPI = str(BENCH / "pyapi.py")
PARTS = 8  # the bench capture split in parts, as a rotated recording's


def _ensure_dask() -> None:
    """The extra wstail[dask] is installed in the venv (pip, when missing)."""
    probe = subprocess.run([PYTHON, "-c", "import dask.distributed, pandas"], capture_output=True)
    if probe.returncode != 0:
        log("python: installing the extra wstail[dask]")
        subprocess.run(
            [PYTHON, "-m", "pip", "install", "-q", "-e", f"{ROOT}[dask]"], check=True, timeout=900
        )


def _case(*args: str) -> dict[str, float]:
    """One bench/pyapi.py case: its JSON line."""
    done = subprocess.run([PYTHON, PYAPI, *args], capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise BenchError(f"pyapi.py {' '.join(args[:2])} failed:\n{done.stderr[-2000:]}")
    result: dict[str, float] = json.loads(done.stdout.splitlines()[-1])
    return result


def run(ctx: Context) -> list[Figure]:
    """api-replay: envelopes/s of replay() over the CLI's; dask-2-workers: 2 processes over 1."""
    figures = []
    # replay(): the same capture the replay section prints, in processes of their own
    cli_out = ctx.work / "api-cli.out"
    # The API is one process: the like-for-like baseline is `replay -j 1`; the default
    # (-j: every core on a capture this big) is measured too, as a report.
    cli = [ctx.new.wstail, "replay", "-j", "1", str(CAPTURE)]
    cli_default = [ctx.new.wstail, "replay", str(CAPTURE)]
    api = [PYTHON, PYAPI, "replay", str(CAPTURE)]
    log(f"api-replay: {ctx.runs} runs")
    timed = alternate(
        {
            "cli": lambda: run_timed(cli).wall,
            "api": lambda: run_timed(api).wall,
            "default": lambda: run_timed(cli_default).wall,
        },
        ctx.runs,
        warmup={
            "cli": lambda: run_timed(cli, cli_out),
            "api": partial(_case, "replay", str(CAPTURE)),
        },
    )
    envelopes = count_lines(cli_out)
    cli_out.unlink()
    if timed.warmup["api"]["envelopes"] != envelopes:
        raise BenchError(
            f"replay() gave {timed.warmup['api']['envelopes']} envelopes, the CLI {envelopes}"
        )
    cli_rate = envelopes / timed.median("cli")
    api_rate = envelopes / timed.median("api")
    default_rate = envelopes / timed.median("default")
    figures.append(
        Figure(
            "api-replay",
            "wstail.replay() envelopes/s over `wstail replay -j 1` to a pipe (public.jsonl)",
            api_rate / cli_rate,
            "x",
            0.8,
            wstail=f"{api_rate:,.0f} env/s",
            baseline=f"{cli_rate:,.0f} env/s (CLI, one process)",
            details={"cmd": shell(api), "cli": shell(cli), "envelopes": envelopes},
        )
    )
    figures.append(
        Figure(
            "api-replay-default-j",
            "wstail.replay() envelopes/s over `wstail replay` (default -j: every core)",
            api_rate / default_rate,
            "x",
            None,
            wstail=f"{api_rate:,.0f} env/s",
            baseline=f"{default_rate:,.0f} env/s (CLI, -j 2)",
            details={"cmd": shell(api), "cli": shell(cli_default), "envelopes": envelopes},
        )
    )
    # read_captures: the capture in parts, counted by 1 and by 2 worker processes
    _ensure_dask()
    parts_dir = ctx.work / "parts"
    parts_dir.mkdir(exist_ok=True)
    split = _case("split", str(CAPTURE), str(parts_dir), str(PARTS))
    parts = [str(path) for path in sorted(parts_dir.glob("part-*.jsonl"))]
    log(f"dask-2-workers: {ctx.runs} runs of {PARTS} parts")
    counted = alternate({str(n): partial(_case, "dask", str(n), *parts) for n in (1, 2)}, ctx.runs)
    for who in ("1", "2"):
        for result in counted.samples[who]:
            if result["envelopes"] != envelopes:  # what `wstail replay` printed of the whole
                raise BenchError(
                    f"read_captures counted {result['envelopes']}, the CLI printed {envelopes}"
                )
    one = counted.median("1", key=lambda result: result["seconds"])
    two = counted.median("2", key=lambda result: result["seconds"])
    figures.append(
        Figure(
            "dask-2-workers",
            f"read_captures().count(), public.jsonl in {PARTS} parts: 2 worker processes over 1",
            one / two,
            "x",
            1.6,
            wstail=f"{two:.2f} s on 2 workers",
            baseline=f"{one:.2f} s on 1 worker",
            details={"envelopes": envelopes, "parts": PARTS, "numbered": split["envelopes"]},
        )
    )
    for path in parts:
        Path(path).unlink()
    return figures
