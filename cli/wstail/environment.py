"""The one object that owns the process's streams: stdout, stderr, TTY-ness, colour, writers.

Built once in `main` (httpie's Environment is the model) and handed down, so
nothing below the commands reads `sys.stdout` or `os.environ` to decide
how output looks.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import BinaryIO, TextIO

from wstail.pipeline import CompiledOptions, Stream, StreamOptions, Window
from wstail.sinks import (
    BackgroundWriter,
    NullWriter,
    OutputWriter,
    RecordWriter,
    buffered_stdout,
)
from wstail.terminal import Terminal


@dataclass(frozen=True, slots=True)
class OutputStyle:
    """--pretty/--compact, --color (with --no-color folded in) and --stats."""

    pretty: bool | None = None
    color: str = "auto"
    stats: bool = False


@dataclass(slots=True)
class Environment:
    """The process's streams and what they are (a terminal or not), decided once."""

    stdout: BinaryIO
    stderr: TextIO
    stdout_isatty: bool
    environ: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_system(cls) -> Environment:
        """The real process: stdout for bytes (buffered), sys.stderr, os.environ."""
        try:
            isatty = sys.stdout.isatty()
        except (AttributeError, ValueError):
            isatty = False
        return cls(buffered_stdout(), sys.stderr, isatty, os.environ)

    def terminal(self, style: OutputStyle) -> Terminal:
        """How output looks: pretty and colour from the options, the TTY and NO_COLOR."""
        terminal = Terminal.detect(
            style.pretty, style.color, self.stdout_isatty, dict(self.environ)
        )
        terminal.stderr = self.stderr
        return terminal

    def stream(
        self,
        options: StreamOptions,
        style: OutputStyle,
        *,
        live: bool = False,
        block: bool = True,
        printing: bool = True,
        window: Window | None = None,
    ) -> Stream:
        """The stream of one run, writing to stdout.

        `live`: a background writer thread, so a stalled reader never stalls
        the socket; `block`: write in blocks rather than per batch;
        `printing` False: envelopes are counted, not printed (record
        without --tee). Lifecycle lines go to stderr unless --meta prints them.
        """
        compiled = CompiledOptions.build(options)
        for warning in compiled.warnings:
            self.stderr.write(f"wstail: {warning}\n")
        terminal = self.terminal(style)
        writer: RecordWriter
        if not printing:
            writer = NullWriter()
        elif live:
            writer = BackgroundWriter(self.stdout, rs=options.seq, warn=self.stderr)
        else:
            writer = OutputWriter(self.stdout, block=block and not terminal.pretty, rs=options.seq)
        return Stream(
            options=options,
            compiled=compiled,
            writer=writer,
            terminal=terminal,
            meta_stderr=self.stderr if live or not printing else None,
            window=window,
            tally=style.stats,
        )

    def print_stats(self, stream: Stream) -> None:
        """The per-event count summary of --stats, on stderr."""
        counts = stream.counts
        total = sum(counts.values())
        width = max([len(name) for name in counts] + [5])
        lines = [f"{name:<{width}}  {count}" for name, count in sorted(counts.items())]
        lines.append(f"{'total':<{width}}  {total}")
        self.stderr.write("\n".join(lines) + "\n")
