"""Exit codes (README.md, "Exit codes") and the exceptions that carry them to `main()`."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes, as README.md documents them."""

    OK = 0
    INTERNAL = 1
    USAGE = 2
    CONNECT = 3
    BAD_INPUT = 4
    OUTPUT = 5
    IDLE_TIMEOUT = 124
    INTERRUPTED = 130


class WstailError(Exception):
    """An expected failure: one line for stderr and an exit code, never a traceback."""

    code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, code: ExitCode | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        """The one-line message shown on stderr."""
        return str(self.args[0]) if self.args else ""


class UsageError(WstailError):
    """A bad option or expression (exit 2)."""

    code = ExitCode.USAGE


class ConnectError(WstailError):
    """Could not connect, credentials refused, or retries exhausted (exit 3)."""

    code = ExitCode.CONNECT


class BadInputError(WstailError):
    """An unreadable or corrupt input file (exit 4)."""

    code = ExitCode.BAD_INPUT


class OutputError(WstailError):
    """Writing stdout or a capture failed: disk full, file too large, I/O error (exit 5)."""

    code = ExitCode.OUTPUT


def output_failed(name: str, exc: OSError) -> OutputError:
    """The one line for a failed write to `name` (a path or "stdout"): the system's reason."""
    return OutputError(f"cannot write {name}: {exc.strerror or exc}")


class IdleTimeout(WstailError):
    """No envelope passed the filters for --idle-timeout seconds (exit 124)."""

    code = ExitCode.IDLE_TIMEOUT


class Interrupted(WstailError):
    """Ctrl-C or SIGTERM (exit 130)."""

    code = ExitCode.INTERRUPTED
