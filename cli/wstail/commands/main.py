"""The `wstail` group and `main()`, which maps every outcome to one exit code."""

from __future__ import annotations

import errno
import os
import sys
from typing import Any

from wstail import __version__

EPILOG = """\b
Examples:
  wstail tail public -e trade -q data.price
  wstail record -o 'paymium-%Y%m%dT%H.jsonl.gz' --rotate-every 1h public
  wstail replay --speed 10 capture.jsonl.gz | ./consumer

\b
Exit codes: 0 done, 1 internal error, 2 usage error, 3 could not connect,
4 bad input file, 5 output failed (disk full, file too large, I/O error),
124 idle timeout, 130 interrupted."""


COMMANDS = {
    "tail": "wstail.commands.tail:tail",
    "record": "wstail.commands.record:record",
    "replay": "wstail.commands.replay:replay",
    "index": "wstail.commands.index:index",
    "completion": "wstail.commands.completion:completion",
}


class PipeClosed(Exception):
    """The reader of stdout or stderr went away (`| head`): a quiet end, exit 0."""


class _PipeClosedIsAnEnd:
    """A broken pipe inside as PipeClosed: Click would make it exit 1, even when not standalone.

    (A class, not contextlib's decorator: `wstail --version` imports this module.)
    """

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, exc: BaseException | None, trace: object) -> None:
        if isinstance(exc, OSError) and exc.errno == errno.EPIPE:
            raise PipeClosed from None


def _build_cli(environment: Any = None) -> Any:
    import click

    class LazyGroup(click.Group):
        """Imports a subcommand's module only when that command is used (fast start-up)."""

        def list_commands(self, ctx: click.Context) -> list[str]:
            return list(COMMANDS)

        def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
            target = COMMANDS.get(cmd_name)
            if target is None:
                return None
            module_name, attr = target.split(":")
            command: click.Command = getattr(__import__(module_name, fromlist=[attr]), attr)
            name_envvars(command, f"WSTAIL_{cmd_name.upper()}")
            return command

        def resolve_command(
            self, ctx: click.Context, args: list[str]
        ) -> tuple[str | None, click.Command | None, list[str]]:
            """The command named by args[0]; a misspelt one is answered with the closest."""
            from .sourcegroup import resolve_or_suggest

            return resolve_or_suggest(self, ctx, args)

        def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
            """Parse the group's options (--help, --version print here), pipes minded."""
            with _PipeClosedIsAnEnd():
                return super().parse_args(ctx, args)

        def invoke(self, ctx: click.Context) -> Any:
            """Run the command; a closed stdout or stderr leaves as PipeClosed."""
            with _PipeClosedIsAnEnd():
                return super().invoke(ctx)

    @click.group(
        cls=LazyGroup,
        context_settings={"help_option_names": ["-h", "--help"]},
        epilog=EPILOG,
    )
    @click.version_option(__version__, "-V", "--version", prog_name="wstail")
    @click.option(
        "--debug",
        is_flag=True,
        help="Show tracebacks of internal errors (and replay's fast path counts).",
    )
    @click.pass_context
    def cli(ctx: click.Context, debug: bool) -> None:
        """Tap live Socket.IO and WebSocket feeds as normalized NDJSON.

        Every message becomes one JSON envelope per line on stdout, filtered
        by event name or JMESPath; sessions can be recorded and replayed.
        """
        if environment is not None:
            ctx.meta["wstail.environment"] = environment
        if debug:
            import logging

            logging.basicConfig(
                level=logging.DEBUG,
                stream=sys.stderr,
                format="wstail: debug: %(name)s: %(message)s",
            )

    return cli


# Options that only come from the command line: a leftover variable must never turn a
# cron job into a help screen, a demo, or an overwrite.
COMMAND_LINE_ONLY = frozenset({"help", "version", "debug", "demo", "force"})


def envvar_name(prefix: str, option: Any) -> str:
    """WSTAIL_<COMMAND>_<SUBCOMMAND>_<OPTION>, OPTION being the long option's name."""
    longest = max(option.opts, key=len).lstrip("-")
    return f"{prefix}_{longest.upper().replace('-', '_')}"


def name_envvars(command: Any, prefix: str) -> None:
    """Give each option of `command` (and its subcommands) its README environment name."""
    import click

    from .options import COMMA_LIST, LINE_LIST

    for param in command.params:
        if not isinstance(param, click.Option):
            continue
        if param.name in COMMAND_LINE_ONLY:
            param.envvar = None
            continue
        if param.envvar is None:
            param.envvar = envvar_name(prefix, param)
        if param.multiple and param.type not in (COMMA_LIST, LINE_LIST):
            param.type = COMMA_LIST
        param.show_envvar = True
    for name, sub in getattr(command, "commands", {}).items():
        name_envvars(sub, f"{prefix}_{name.upper()}")


def main(argv: list[str] | None = None) -> None:
    """Run wstail and exit with the documented exit code; a traceback only with --debug."""
    args = sys.argv[1:] if argv is None else argv
    if args in (["--version"], ["-V"]):  # answer before importing anything heavy
        try:
            sys.stdout.write(f"wstail, version {__version__}\n")
            sys.stdout.flush()
        except BrokenPipeError:
            _to_devnull(sys.stdout)
        raise SystemExit(0)
    import signal

    # A file size limit (ulimit -f) then fails the write with EFBIG, which
    # ends the run with one line and exit 5, instead of killing the process.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    raise SystemExit(run(args))


def run(args: list[str]) -> int:
    """Run the command line and return the exit code."""
    import click

    from wstail.environment import Environment
    from wstail.exitcodes import ExitCode, WstailError
    from wstail.pipeline import StreamDone
    from wstail.sinks import StdoutClosed, silence_stdout

    debug = "--debug" in args
    try:
        _build_cli(Environment.from_system()).main(
            args=args, prog_name="wstail", standalone_mode=False
        )
    except (StreamDone, StdoutClosed, PipeClosed, BrokenPipeError):
        _quiet_streams(silence_stdout)
        return int(ExitCode.OK)
    except WstailError as exc:
        _flush_stdout(silence_stdout)
        _say(f"wstail: {exc.message}\n")
        return int(exc.code)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.exceptions.NoArgsIsHelpError as exc:
        try:
            exc.show()
        except BrokenPipeError:
            _quiet_streams(silence_stdout)
        return int(exc.exit_code)
    except click.ClickException as exc:
        _say(f"wstail: {_one_line(exc)}\n")
        return int(exc.exit_code)
    except (KeyboardInterrupt, click.exceptions.Abort):
        _flush_stdout(silence_stdout)
        _say("wstail: interrupted\n")
        return int(ExitCode.INTERRUPTED)
    except Exception as exc:
        if debug:
            raise
        _say(
            f"wstail: internal error: {type(exc).__name__}: {exc} (run with --debug for details)\n"
        )
        return int(ExitCode.INTERNAL)
    return _flush_stdout(silence_stdout)


def _say(line: str) -> None:
    """The last line on stderr; if its reader went away, nobody is left to tell."""
    try:
        sys.stderr.write(line)
        sys.stderr.flush()
    except (OSError, ValueError):
        _silence_stderr()


def _quiet_streams(silence_stdout: Any) -> None:
    """After a closed pipe: what is left for stdout or stderr goes nowhere, without a word.

    Either stream may be the closed one; whatever the interpreter still
    holds for it would fail loudly at exit (exit 120) without this.
    """
    _flush_stdout(silence_stdout)
    _say("")


def _silence_stderr() -> None:
    """Point stderr at /dev/null, dropping what its buffer holds (its reader is gone)."""
    _to_devnull(sys.stderr)


def _to_devnull(stream: Any) -> None:
    """Point a stream's descriptor at /dev/null and flush what it holds there."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
        stream.flush()
    except (OSError, ValueError):
        pass


def _one_line(exc: Any) -> str:
    """A Click error as one line, pointing at the command's --help for usage errors."""
    message = " ".join(exc.format_message().split()).rstrip(".")
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        message += f" (see '{ctx.command_path} --help')"
    return message


def _flush_stdout(silence: Any) -> int:
    try:
        sys.stdout.flush()
    except (BrokenPipeError, OSError, ValueError):
        silence()
    return 0
