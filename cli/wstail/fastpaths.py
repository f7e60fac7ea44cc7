"""Fast paths kept honest: how many lines each way took, and a strict mode for the tests.

A fast path (replay's capture and NDJSON short ways, the Socket.IO codec's
orjson decode) reads the common line and leaves the rest to a general way
that gives the same output. A fast path that stopped being taken would only
show as lost speed, so each run owns one `FastPaths`: the readers count what
they offered the fast way and what took the general way, `wstail --debug
replay` prints it, and in strict mode (`WSTAIL_STRICT_FAST_PATHS=1`, a
developer switch the test suite turns on) a well-formed line that took the
general way raises `FastPathMissed`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from wstail.exitcodes import UsageError
from wstail.words import counted

STRICT_VARIABLE = "WSTAIL_STRICT_FAST_PATHS"
SHORT_WAYS_VARIABLE = "WSTAIL_DEV_SHORT_WAYS"  # "0": replay every line on its own
BLOCK_SIZE_VARIABLE = "WSTAIL_DEV_BLOCK_SIZE"  # bytes replay asks of an input per read
INDEX_VARIABLE = "WSTAIL_DEV_INDEX"  # "0": --from/--to read captures from their start
INDEX_EVERY_VARIABLE = "WSTAIL_DEV_INDEX_EVERY"  # bytes between index checkpoints (tests)


class FastPathMissed(RuntimeError):
    """Strict mode: a well-formed line took the general way (the fast path is broken)."""


@dataclass(slots=True)
class FastPaths:
    """One run's counts of the ways lines took; `strict` makes a missed fast path an error.

    `lines` counts the lines a fast way was offered (a whole block at a time,
    nothing per line), `general` those of them that took the general way
    (blank, bad, binary events, lifecycle lines and what orjson refuses
    included), `missed` those that took it although the fast way should
    have read them.
    """

    strict: bool = False
    lines: int = 0
    general: int = 0
    missed: int = 0

    @classmethod
    def of_run(cls, environ: Mapping[str, str]) -> FastPaths:
        """A run's counts, strict when WSTAIL_STRICT_FAST_PATHS is set (but to "0")."""
        return cls(strict=_strict(environ))

    @property
    def fast(self) -> int:
        """The lines the fast way read."""
        return self.lines - self.general

    def miss(self, where: str, line: bytes | str) -> None:
        """A well-formed line took the general way: count it; raise in strict mode."""
        self.missed += 1
        if self.strict:
            shown = line[:120]
            raise FastPathMissed(f"{where}: a well-formed line took the general way: {shown!r}")

    def summary(self) -> str:
        """One line for --debug: `fast path: N lines, general way: M`."""
        text = f"fast path: {counted(self.fast, 'line')}, general way: {self.general}"
        if self.missed:
            text += f" ({self.missed} of them well-formed: a fast path is broken)"
        return text


@dataclass(frozen=True, slots=True)
class DeveloperSwitches:
    """The developer switches of a run, read once from its environment (docs/architecture.md)."""

    strict: bool = False
    short_ways: bool = True
    block_size: int | None = None
    index: bool = True
    index_every: int | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> DeveloperSwitches:
        """The switches the environment sets; UsageError for a block size that is no size."""
        block_size = _bytes(environ, BLOCK_SIZE_VARIABLE)
        return cls(
            strict=_strict(environ),
            short_ways=environ.get(SHORT_WAYS_VARIABLE, "") != "0",
            block_size=block_size,
            index=environ.get(INDEX_VARIABLE, "") != "0",
            index_every=_bytes(environ, INDEX_EVERY_VARIABLE),
        )


def _bytes(environ: Mapping[str, str], variable: str) -> int | None:
    """A number of bytes a variable sets (None: unset); UsageError for one that is no size."""
    size = environ.get(variable, "").strip()
    if not size:
        return None
    if not size.isdigit() or int(size) < 1:
        raise UsageError(f"{variable}={size!r}: expected a number of bytes")
    return int(size)


def _strict(environ: Mapping[str, str]) -> bool:
    return environ.get(STRICT_VARIABLE, "") not in ("", "0")


__all__ = [
    "BLOCK_SIZE_VARIABLE",
    "INDEX_EVERY_VARIABLE",
    "INDEX_VARIABLE",
    "SHORT_WAYS_VARIABLE",
    "STRICT_VARIABLE",
    "DeveloperSwitches",
    "FastPathMissed",
    "FastPaths",
]
