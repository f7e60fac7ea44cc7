"""Realistic captures for the tests, from bench/gen.py's seeded generators."""

from __future__ import annotations

import importlib.util
import random
from functools import cache
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


@cache
def bench_gen() -> ModuleType:
    """bench/gen.py, loaded once, whose seeded generators make realistic captures."""
    spec = importlib.util.spec_from_file_location("bench_gen", ROOT / "bench" / "gen.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_node_capture(path: Path, frames: int, seed: int = 7) -> Path:
    """A node capture of `frames` pretty-printed text frames, one a second, at `path`."""
    gen = bench_gen()
    rng = random.Random(seed)
    peers = [gen._qm(rng) for _ in range(5)]
    lines = [gen.compact(gen.HEADER_NODE)]
    for index in range(frames):
        message = gen.node_message(rng, index, gen.START_EPOCH + index, peers)
        lines.append(gen.capture_line(index * 1000, "text", gen.pretty(message)))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
