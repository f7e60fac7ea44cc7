"""Capture replay (raw frames through the normalizers) against jq's normalize.jq and orjson."""

from __future__ import annotations

import json
from pathlib import Path

from bench.common import (
    CAPTURE,
    CAPTURE_GZ,
    CAPTURE_JQ_LINES,
    NODE_CAPTURE,
    NORMALIZE_JQ,
    ORJSON_LOOP,
    PYTHON,
    Context,
    Figure,
    head,
)
from bench.sections.replay import Pair, time_pair


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


def jq_head() -> Path:
    """The capture's first CAPTURE_JQ_LINES lines (+ the header line), jq's share of it."""
    return head(CAPTURE, CAPTURE_JQ_LINES + 1, "public_head.jsonl")


def pairs() -> list[Pair]:
    """Capture replay against jq and a bare orjson loop."""
    loop = [PYTHON, str(ORJSON_LOOP), str(CAPTURE)]
    first = jq_head()
    return [
        Pair(
            "replay-capture-jq",
            "replay CAPTURE vs jq normalize.jq",
            ["replay", str(first)],
            ["jq", "-nc", "-f", str(NORMALIZE_JQ), str(first)],
            "jq",
            12.0,
            note=f"the first {CAPTURE_JQ_LINES:,} lines of public.jsonl; bench/normalize.jq "
            "makes the same envelopes (checked equal as JSON values)",
            check=same_envelopes,
        ),
        Pair(
            "replay-capture",
            "replay CAPTURE vs orjson loop (floor)",
            ["replay", str(CAPTURE)],
            loop,
            "orjson",
            None,
            same_count=False,
            note="a floor, not a rival: orjson.loads + orjson.dumps per line, no normalizing",
        ),
        Pair(
            "replay-capture-gz",
            "replay CAPTURE.gz vs orjson loop",
            ["replay", str(CAPTURE_GZ)],
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
            ["replay", str(NODE_CAPTURE)],
            [PYTHON, str(ORJSON_LOOP), str(NODE_CAPTURE)],
            "orjson",
            None,
            same_count=False,
            note="node capture: pretty-printed text frames (HTML-unescaped, walletUpdate per coin)",
            max_runs=2,
        ),
    ]


def run(ctx: Context) -> list[Figure]:
    """The capture replay figures."""
    return [time_pair(pair, ctx) for pair in pairs()]
