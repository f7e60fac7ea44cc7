"""Shared option bundles (decorators) and their conversion to option objects."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from wstail.environment import Environment, OutputStyle
from wstail.pipeline import StreamOptions
from wstail.rows import TableKind

F = TypeVar("F", bound=Callable[..., Any])


class CommaList(click.types.StringParamType):
    """A repeatable string option whose environment variable is a comma list."""

    name = "text"
    envvar_list_splitter = ","

    def split_envvar_value(self, rv: str) -> list[str]:
        """The list's items, stripped, empty ones dropped."""
        return [item.strip() for item in rv.split(self.envvar_list_splitter) if item.strip()]


class LineList(CommaList):
    """A repeatable string option whose environment variable holds one value per line."""

    envvar_list_splitter = "\n"


# -e/-x from the environment are comma lists; JMESPath and headers contain commas,
# so -f and -H take one value per line.
COMMA_LIST = CommaList()
LINE_LIST = LineList()


def _apply(options: list[Callable[[F], F]]) -> Callable[[F], F]:
    def decorate(func: F) -> F:
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


def _complete_event(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    from click.shell_completion import CompletionItem

    from wstail.events import complete_event

    return [CompletionItem(name) for name in complete_event(incomplete)]


def stream_options(func: F) -> F:
    """-e -x -f -q -r -n --until --idle-timeout --duration --raw --meta --seq and the output."""
    return _apply(
        [
            click.option(
                "-e",
                "--event",
                "events",
                multiple=True,
                metavar="GLOB",
                shell_complete=_complete_event,
                help="Keep events matching the glob (repeatable or a comma list; any keeps).",
            ),
            click.option(
                "-x",
                "--exclude",
                "excludes",
                multiple=True,
                metavar="GLOB",
                shell_complete=_complete_event,
                help="Drop events matching the glob (repeatable or a comma list).",
            ),
            click.option(
                "-f",
                "--filter",
                "filters",
                multiple=True,
                type=LINE_LIST,
                metavar="EXPR",
                help="Keep envelopes for which the JMESPath EXPR is truthy "
                "(repeatable; all must hold).",
            ),
            click.option(
                "-q",
                "--query",
                metavar="EXPR",
                help="Print the JMESPath result instead of the envelope.",
            ),
            click.option(
                "-r", "--raw-output", is_flag=True, help="Print string results of --query unquoted."
            ),
            click.option(
                "-n",
                "--count",
                type=click.IntRange(min=1),
                metavar="N",
                help="Exit 0 after N envelopes passed the filters.",
            ),
            click.option(
                "--until",
                metavar="EXPR",
                help="Exit 0 right after the first envelope for which EXPR is truthy.",
            ),
            click.option(
                "--idle-timeout",
                type=click.FloatRange(min=0, min_open=True),
                metavar="SECONDS",
                help="Exit 124 when no envelope passed the filters for that long.",
            ),
            click.option(
                "--duration",
                type=click.FloatRange(min=0),
                metavar="SECONDS",
                help="Exit 0 after that long.",
            ),
            click.option(
                "--raw", is_flag=True, help="Print frames as received instead of envelopes."
            ),
            click.option(
                "--meta",
                is_flag=True,
                help="Also print lifecycle envelopes (meta.*), through -e/-x/-f and -q as any "
                "other (never counted by -n, --until, --stats). Without it: live, a line on "
                "stderr each.",
            ),
            click.option(
                "--seq", "rs", is_flag=True, help="Frame records as RFC 7464 JSON text sequences."
            ),
            click.option(
                "--pretty/--compact",
                " /-c",
                default=None,
                help="Indent output, or not (default: pretty on a terminal; tail: one line).",
            ),
            click.option(
                "--tsv",
                is_flag=True,
                help="Print -q's result as a tab-separated row: an array's items or an object's "
                "values (jq's @tsv escaping; null is empty, nested values are JSON).",
            ),
            click.option(
                "--csv",
                is_flag=True,
                help="Print -q's result as a comma-separated row, RFC 4180 quoting (as --tsv).",
            ),
            click.option(
                "--oneline",
                is_flag=True,
                help="One compact, coloured line per envelope (like jq -c -C).",
            ),
            click.option(
                "--color",
                type=click.Choice(["auto", "always", "never"]),
                default="auto",
                show_default=True,
                help="Colour output; NO_COLOR turns auto off.",
            ),
            click.option("--no-color", is_flag=True, help="Same as --color never."),
            click.option(
                "--stats", is_flag=True, help="Print a per-event count summary on stderr at exit."
            ),
        ]
    )(func)


def stream_settings(params: dict[str, Any]) -> StreamOptions:
    """StreamOptions from the parsed command-line parameters; UsageError for a bad mix."""
    return StreamOptions(
        events=params["events"],
        excludes=params["excludes"],
        filters=params["filters"],
        query=params["query"],
        raw_output=params["raw_output"],
        count=params["count"],
        until=params["until"],
        idle_timeout=params["idle_timeout"],
        duration=params["duration"],
        raw=params["raw"],
        meta=params["meta"],
        seq=params["rs"],
        table=table_kind(params),
    )


def _typed(name: str) -> bool:
    """Whether the option `name` was given on the command line (not by its variable)."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return True
    return ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE


def table_kind(params: dict[str, Any]) -> TableKind | None:
    """--tsv or --csv, checked against the options they cannot go with."""
    from wstail.exitcodes import UsageError

    if params["tsv"] and params["csv"]:
        raise UsageError("--tsv and --csv cannot be combined")
    option = "--tsv" if params["tsv"] else "--csv" if params["csv"] else None
    if option is None:
        return None
    if not params["query"]:
        if not _typed(option.lstrip("-")):
            return None  # from the environment: a setting for the runs with -q, not a mistake
        raise UsageError(f"{option} needs -q EXPR: it prints the query's result as a row")
    clashes = [
        flag
        for key, flag in (
            ("raw", "--raw"),
            ("pretty", "--pretty"),
            ("oneline", "--oneline"),
            ("rs", "--seq"),
        )
        if params[key]
    ]
    if clashes:
        raise UsageError(f"{option} cannot be combined with {', '.join(clashes)}")
    return "tsv" if params["tsv"] else "csv"


def output_style(params: dict[str, Any], pretty_default: bool | None = None) -> OutputStyle:
    """--pretty/--compact/--oneline, the effective --color (--no-color wins) and --stats.

    `pretty_default` is the layout when neither is given (None: pretty on a terminal).
    """
    from wstail.exitcodes import UsageError

    color = "never" if params["no_color"] else str(params["color"])
    pretty = params["pretty"]
    if params["oneline"]:
        if pretty:
            raise UsageError("--oneline and --pretty cannot be combined")
        # like jq -c -C: colour even into a pipe, unless colour was turned off
        return OutputStyle(
            pretty=False, color="always" if color == "auto" else color, stats=params["stats"]
        )
    if pretty is None:
        pretty = pretty_default
    return OutputStyle(pretty=pretty, color=color, stats=params["stats"])


def environment() -> Environment:
    """The run's Environment, built once by `main` (or from the system, outside it)."""
    ctx = click.get_current_context(silent=True)
    env = ctx.find_root().meta.get("wstail.environment") if ctx is not None else None
    return env if isinstance(env, Environment) else Environment.from_system()
