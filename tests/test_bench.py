"""The benchmark package (bench/): imports without side effects, alternate(), bench/run --help."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODULES = [
    "bench",
    "bench.__main__",
    "bench.gen",
    "bench.common",
    "bench.install",
    "bench.runner",
    "bench.sections",
    *(
        f"bench.sections.{path.stem}"
        for path in sorted((ROOT / "bench" / "sections").glob("*.py"))
        if path.stem != "__init__"
    ),
]

# Run in a fresh interpreter: notes what importing every bench module changed
# (signal handlers, threads, atexit hooks, sys.path, cwd) and what it asked the
# OS for (audit events: processes, files opened for writing, directories).
PROBE = """
import atexit, json, os, signal, sys, threading
events = []
WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

def hook(event, args):
    if event in ("subprocess.Popen", "os.system", "os.fork", "os.forkpty", "os.posix_spawn",
                 "os.exec", "os.mkdir", "os.rename", "os.remove", "os.symlink", "shutil.rmtree",
                 "tempfile.mkstemp", "tempfile.mkdtemp", "signal.signal"):
        events.append([event, repr(args)[:200]])
    elif event == "open" and args[0] != 0:
        mode, flags = args[1], args[2]
        if (mode and any(c in str(mode) for c in "wax+")) or (flags & WRITE):
            events.append([event, repr(args)[:200]])

sigs = [s for s in signal.Signals if s not in (signal.SIGKILL, signal.SIGSTOP)]
handlers = {s.name: repr(signal.getsignal(s)) for s in sigs}
threads, hooks = threading.active_count(), atexit._ncallbacks()
path, cwd = list(sys.path), os.getcwd()
sys.addaudithook(hook)
import importlib
for name in json.loads(sys.argv[1]):
    importlib.import_module(name)
print(json.dumps({
    "events": events,
    "handlers": {s.name: repr(signal.getsignal(s)) for s in sigs} == handlers,
    "threads": threading.active_count() - threads,
    "atexit": atexit._ncallbacks() - hooks,
    "path": sys.path == path,
    "cwd": os.getcwd() == cwd,
}))
"""


def test_importing_the_bench_modules_does_nothing(tmp_path: Path) -> None:
    """Importing every bench module installs no handler, starts nothing, writes no file."""
    before = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "bench").rglob("*"))
    done = subprocess.run(
        [sys.executable, "-B", "-c", PROBE, json.dumps(MODULES)],
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found == {
        "events": [],
        "handlers": True,
        "threads": 0,
        "atexit": 0,
        "path": True,
        "cwd": True,
    }
    assert list(tmp_path.iterdir()) == []
    assert sorted(str(p.relative_to(ROOT)) for p in (ROOT / "bench").rglob("*")) == before


@pytest.fixture
def common(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """bench.common, importable from the repository root."""
    monkeypatch.syspath_prepend(str(ROOT))
    yield importlib.import_module("bench.common")


def recorder(calls: list[str], who: str, value: float = 0.0) -> Callable[[], float]:
    """A side that notes its turn and returns `value`."""

    def side() -> float:
        """One run of `who`."""
        calls.append(who)
        return value

    return side


def test_alternate_two_sides_take_turns_going_first(common: ModuleType) -> None:
    """Two sides run A B, B A, A B ...: each goes first every other round."""
    calls: list[str] = []
    result = common.alternate({"a": recorder(calls, "a"), "b": recorder(calls, "b")}, 4)
    assert calls == ["a", "b", "b", "a", "a", "b", "b", "a"]
    assert result.order == calls
    assert {who: len(samples) for who, samples in result.samples.items()} == {"a": 4, "b": 4}


def test_alternate_three_sides_rotate(common: ModuleType) -> None:
    """Three sides (new, baseline, before) rotate: each goes first once in three rounds."""
    calls: list[str] = []
    sides = {who: recorder(calls, who) for who in ("new", "baseline", "before")}
    common.alternate(sides, 3)
    assert calls == [
        *("new", "baseline", "before"),
        *("baseline", "before", "new"),
        *("before", "new", "baseline"),
    ]


def test_alternate_one_side_repeats(common: ModuleType) -> None:
    """A lone side (no baseline, no --against) simply runs `runs` times."""
    calls: list[str] = []
    result = common.alternate({"a": recorder(calls, "a", 2.0)}, 3)
    assert calls == ["a", "a", "a"]
    assert result.values("a") == [2.0, 2.0, 2.0]


def test_alternate_warmup_runs_first_and_is_not_a_sample(common: ModuleType) -> None:
    """warmup=True runs each side once, in order, before the timed rounds; kept apart."""
    calls: list[str] = []
    values = iter([100.0, 200.0, 1.0, 2.0, 3.0, 4.0])

    def side(who: str) -> Callable[[], float]:
        """A side whose results come from `values` in call order."""

        def run() -> float:
            """One run."""
            calls.append(who)
            return next(values)

        return run

    result = common.alternate({"a": side("a"), "b": side("b")}, 2, warmup=True)
    assert calls == ["a", "b", "a", "b", "b", "a"]
    assert result.warmup == {"a": 100.0, "b": 200.0}
    assert result.samples == {"a": [1.0, 4.0], "b": [2.0, 3.0]}
    assert result.order == ["a", "b", "b", "a"]


def test_alternate_warmup_callables_and_check(common: ModuleType) -> None:
    """A warm-up mapping runs its own callables; check sees their results before any timed run."""
    calls: list[str] = []
    seen: list[dict[str, Any]] = []

    def check(first: dict[str, Any]) -> str:
        """Note the warm-ups and what had run by then."""
        seen.append(dict(first))
        calls.append("check")
        return "checked"

    result = common.alternate(
        {"a": recorder(calls, "a"), "b": recorder(calls, "b")},
        1,
        warmup={"a": lambda: "out-a", "b": lambda: "out-b"},
        check=check,
    )
    assert seen == [{"a": "out-a", "b": "out-b"}]
    assert calls == ["check", "a", "b"]
    assert result.checked == "checked"


def test_alternate_check_stops_before_timing(common: ModuleType) -> None:
    """A check that raises (outputs differ) stops the figure before any timed run."""
    calls: list[str] = []

    def check(_first: dict[str, Any]) -> None:
        """Outputs differ."""
        raise common.BenchError("outputs differ")

    with pytest.raises(common.BenchError):
        common.alternate({"a": recorder(calls, "a")}, 3, warmup=True, check=check)
    assert calls == ["a"]


def test_alternate_medians(common: ModuleType) -> None:
    """median() is each side's own median, of the samples or of a key of them."""
    runs = iter([5.0, 1.0, 9.0, 2.0, 1.0, 3.0, 7.0, 4.0, 2.0, 8.0])
    result = common.alternate({"a": lambda: next(runs), "b": lambda: next(runs)}, 5)
    # order a b, b a, a b, b a, a b
    assert result.samples == {"a": [5.0, 2.0, 1.0, 4.0, 2.0], "b": [1.0, 9.0, 3.0, 7.0, 8.0]}
    assert result.median("a") == 2.0
    assert result.median("b") == 7.0
    walls = common.alternate({"a": lambda: common.Run(0.5, 0, 0, "")}, 3)
    assert walls.median("a", key=lambda run: run.wall) == 0.5


def test_table_keeps_its_columns_and_adds_before_only_when_asked(common: ModuleType) -> None:
    """print_table: the usual six columns; --against adds before and new/before."""
    import io

    fig = common.Figure("x", "replay", 4.0, "x", 3.0, wstail="0.5 s", baseline="2.0 s jq")
    out = io.StringIO()
    common.print_table([fig], out)
    assert out.getvalue().splitlines() == [
        "benchmark  wstail  baseline  figure  goal",
        "---------  ------  --------  ------  --------  ----",
        "replay     0.5 s   2.0 s jq  4.00x   >= 3.00x  PASS",
    ]
    assert "before" not in fig.as_json()
    fig.before = common.Before(2.0, "1.0 s")
    out = io.StringIO()
    common.print_table([fig], out, against=True)
    assert out.getvalue().splitlines()[0].split() == [
        *("benchmark", "wstail", "baseline", "figure", "before", "new/before", "goal"),
    ]
    assert out.getvalue().splitlines()[2].split()[-5:] == ["2.00x", "2.00", ">=", "3.00x", "PASS"]
    assert fig.as_json()["before"] == {"value": 2.0, "new_over_before": 2.0, "wstail": "1.0 s"}


def test_bench_run_help() -> None:
    """bench/run --help exits 0 and lists every option."""
    venv = ROOT / ".venv" / "bin" / "wstail"
    # bench/run makes the project venv when it is missing: then ask the package directly
    cmd = [str(ROOT / "bench" / "run")] if venv.exists() else [sys.executable, "-m", "bench"]
    done = subprocess.run([*cmd, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    for option in (
        *("--runs", "--quick", "--only", "--soak", "--soak-seconds", "--soak-rate"),
        *("--profile", "--regen", "--against"),
    ):
        assert option in done.stdout
    assert "ceiling" in done.stdout


def test_bench_run_rejects_an_unknown_section() -> None:
    """--only with an unknown section is a usage error (exit 2), before any set-up."""
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--only", "replay,nope"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "unknown section(s) nope" in done.stderr
