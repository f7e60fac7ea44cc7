"""Shared fixtures: the fixture files and the real `wstail` command line run in-process."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from wstail.commands.main import run
from wstail.fastpaths import STRICT_VARIABLE
from wstail.jsonexact import loads_exact
from wstail.pipeline import CompiledOptions, Stream, StreamOptions, Window
from wstail.sinks import OutputWriter
from wstail.terminal import Terminal

TESTS = Path(__file__).resolve().parent
DATA = TESTS / "data"
SAMPLE = TESTS / "data" / "public_synthetic.jsonl"  # frozen: tests pin its content


@dataclass(frozen=True)
class Result:
    """What one `wstail` run left behind: exit code, stdout bytes, stderr text."""

    code: int
    stdout: bytes
    stderr: str

    @property
    def records(self) -> list[Any]:
        """The stdout lines, decoded exactly."""
        return [loads_exact(line) for line in self.stdout.splitlines()]


Wstail = Callable[..., Result]


@pytest.fixture(scope="session", autouse=True)
def strict_fast_paths() -> Iterator[None]:
    """The whole suite runs with strict fast paths: a well-formed line that takes a general
    way is an internal error (FastPathMissed), so a broken fast path fails tests."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(STRICT_VARIABLE, "1")
        yield


@pytest.fixture
def wstail() -> Wstail:
    """Run `wstail ARGS...` through main's exit-code mapping, stdin/stdout/env isolated."""

    def invoke(
        *args: str | Path, input: bytes | None = None, env: dict[str, str | None] | None = None
    ) -> Result:
        """One run of `wstail ARGS...`."""
        with CliRunner().isolation(input=input, env=env) as (out, err, _):
            code = run([str(arg) for arg in args])
            sys.stdout.flush()
            sys.stderr.flush()
        return Result(code, out.getvalue(), err.getvalue().decode())

    return invoke


def make_stream(window: Window | None = None, **options: Any) -> tuple[Stream, io.BytesIO]:
    """A Stream with these STREAM options writing plain NDJSON to a buffer (flushed per batch)."""
    opts = StreamOptions(**options)
    out = io.BytesIO()
    stream = Stream(
        options=opts,
        compiled=CompiledOptions.build(opts),
        writer=OutputWriter(out, block=False, rs=opts.seq),
        terminal=Terminal(pretty=False, color=False, stderr=io.StringIO()),
        window=window,
    )
    return stream, out


@pytest.fixture(scope="session")
def node_modules() -> None:
    """The pinned socket.io servers and clients are installed (npm install when missing).

    Modules whose tests all run Node.js peers ask for it with
    `pytestmark = pytest.mark.usefixtures("node_modules")`, single tests by name.
    """
    from helpers.sio_peers import ensure_node_modules

    ensure_node_modules()
