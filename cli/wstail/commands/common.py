"""Building the stream a command runs: options compiled, terminal decided, writer made."""

from __future__ import annotations

import sys
from typing import Any

from wstail.pipeline import CompiledOptions, Stream
from wstail.sinks import BackgroundWriter, OutputWriter, RecordWriter
from wstail.terminal import Terminal

from .options import build_stream_options, color_choice


def build_stream(
    params: dict[str, Any], *, block: bool, meta_to_stderr: bool, live: bool = False
) -> Stream:
    """A Stream writing to stdout, from a command's parsed STREAM options."""
    options = build_stream_options(params)
    compiled = CompiledOptions.build(options)
    terminal = Terminal.detect(params["pretty"], color_choice(params))
    writer: RecordWriter
    if live:
        writer = BackgroundWriter(rs=options.seq)
    else:
        writer = OutputWriter(block=block and not terminal.pretty, rs=options.seq)
    return Stream(
        options=options,
        compiled=compiled,
        writer=writer,
        terminal=terminal,
        meta_stderr=sys.stderr if meta_to_stderr else None,
    )


def print_stats(stream: Stream) -> None:
    """The per-event count summary of --stats, on stderr."""
    total = sum(stream.counts.values())
    width = max([len(name) for name in stream.counts] + [5])
    lines = [f"{name:<{width}}  {count}" for name, count in sorted(stream.counts.items())]
    lines.append(f"{'total':<{width}}  {total}")
    sys.stderr.write("\n".join(lines) + "\n")
