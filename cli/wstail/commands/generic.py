"""The options of generic feeds (`tail ws URL`, `tail sio URL`), and --feed FILE.toml.

A feed file holds the same settings as the command line, its keys the long
option names (`url`, `send`, `emit`, `namespace`, `each`, `event-name`,
`header`...); the command line overrides it. It becomes Click's default
map, so every value goes through the option's own type.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from typing import Any, TypeVar

import click

from wstail.exitcodes import UsageError
from wstail.feeds import Feed
from wstail.normalize.generic import Rules

F = TypeVar("F", bound=Callable[..., Any])


def rule_options(func: F) -> F:
    """--each --event-name --event-time: how messages become envelopes (tail, record, replay)."""
    options = [
        click.option(
            "--each",
            metavar="EXPR",
            help="JMESPath giving a list: each element its own envelope (e.g. data).",
        ),
        click.option(
            "--event-name",
            metavar="EXPR",
            help="JMESPath naming the event, read from the element, then the whole message "
            "(default: 'message'; Socket.IO: the event's name).",
        ),
        click.option(
            "--event-time",
            metavar="EXPR",
            help="JMESPath giving event_ts: epoch s/ms/µs/ns or RFC 3339 (else null).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def generic_options(feed: Feed) -> Callable[[F], F]:
    """URL, what is sent (--send; --emit, --namespace, --path), --name, the rules, --feed."""

    def decorate(func: F) -> F:
        options: list[Callable[[F], F]] = [
            click.argument("url", required=False, metavar="URL"),
            click.option(
                "--feed",
                "feed_file",
                type=click.Path(dir_okay=False),
                is_eager=True,
                expose_value=False,
                callback=_load_feed_file,
                metavar="FILE.toml",
                help="Read these settings from a TOML file (keys: the long option names); "
                "the command line overrides it.",
            ),
        ]
        if feed.protocol == "websocket":
            options.append(
                click.option(
                    "--send",
                    "sends",
                    multiple=True,
                    metavar="TEXT",
                    help="Send TEXT after every connect and reconnect (repeatable, in order): "
                    "a subscription.",
                )
            )
        else:
            options += [
                click.option(
                    "--namespace",
                    metavar="NS",
                    help="Socket.IO namespace to join (default: the URL's path, else /).",
                ),
                click.option(
                    "--path",
                    metavar="PATH",
                    help="Socket.IO path on the server (default: /socket.io/).",
                ),
                click.option(
                    "--emit",
                    "emits",
                    nargs=2,
                    multiple=True,
                    metavar="EVENT JSON",
                    help="Emit EVENT with the JSON argument after every connect (repeatable, "
                    "in order): a subscription.",
                ),
            ]
        options.append(
            click.option(
                "--name",
                metavar="NAME",
                help="The envelopes' source (default: the URL's host[:port]"
                + ("[/namespace]" if feed.protocol == "socketio" else "")
                + ").",
            )
        )
        for option in reversed(options):
            func = option(func)
        return rule_options(func)

    return decorate


def rules_of(params: dict[str, Any]) -> Rules:
    """The --each/--event-name/--event-time of a command's options (empty ones left out)."""
    each, name, time = (params.get(key) or None for key in ("each", "event_name", "event_time"))
    return Rules(each, name, time)


def emits_of(values: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """--emit pairs, each argument checked to be JSON (a usage error naming it otherwise)."""
    from wstail.jsonexact import loads_exact

    for event, argument in values:
        if not event:
            raise UsageError("--emit needs an event name: --emit EVENT JSON")
        try:
            loads_exact(argument)
        except ValueError:
            raise UsageError(
                f"--emit {event}: the argument is not JSON: {argument[:60]!r}"
                " (quote a string: '\"text\"')"
            ) from None
    return values


def name_of(params: dict[str, Any]) -> str | None:
    """--name, checked: a printable, non-empty name."""
    name = params.get("name")
    if name is None:
        return None
    if not name.strip() or not name.isprintable():
        raise UsageError(f"--name {name!r}: give a printable, non-empty name")
    return str(name)


# --feed FILE.toml


def _load_feed_file(ctx: click.Context, param: click.Parameter, path: str | None) -> None:
    """Read the feed file into the command's defaults (the command line still wins)."""
    if path is None or ctx.resilient_parsing:
        return
    settings = read_feed_file(path, ctx.command)
    defaults = dict(ctx.default_map or {})
    for key, (param_name, value, line) in settings.items():
        target = _param(ctx.command, param_name)
        assert target is not None
        try:
            defaults[param_name] = typed = target.type_cast_value(ctx, value)
            _check(param_name, typed)
        except click.BadParameter as bad:
            raise UsageError(f"{path}:{line}: {key}: {bad.message}") from None
        except UsageError as bad:  # a rule, --emit or --name: the option's own message
            raise UsageError(f"{path}:{line}: {bad}") from None
    ctx.default_map = defaults


def _check(param_name: str, value: Any) -> None:
    """What the command would refuse of a file's value, refused at its line (UsageError)."""
    if param_name in _RULE_KEYS and value:
        from wstail.filters import compile_jmespath

        compile_jmespath(value, _RULE_KEYS[param_name])
    elif param_name == "emits":
        emits_of(tuple(value))
    elif param_name == "name":
        name_of({"name": value})


_RULE_KEYS = {"each": "--each", "event_name": "--event-name", "event_time": "--event-time"}


def read_feed_file(path: str, command: click.Command) -> dict[str, tuple[str, Any, int]]:
    """The settings of a feed file: key -> (the option's parameter name, value, line).

    A file that cannot be read, is not TOML, or has an unknown key or a value
    of the wrong shape is a usage error naming the file, line and key.
    """
    import tomllib

    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise UsageError(f"--feed {path}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
        table = tomllib.loads(text)
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not a TOML feed file (not UTF-8 text)") from None
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = re.search(r"\(at line (\d+), column \d+\)", message)
        where = f":{found.group(1)}" if found else ""
        reason = message[: found.start()].strip() if found else message
        raise UsageError(f"{path}{where}: not valid TOML: {reason}") from None
    names = _long_names(command)
    settings: dict[str, tuple[str, Any, int]] = {}
    for key, value in table.items():
        line = _line_of(text, key)
        param_name = names.get(key)
        if param_name is None:
            close = difflib.get_close_matches(key, list(names), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            if key in _SUBSCRIBE_KEYS and _SUBSCRIBE_KEYS[key] in names:
                hint = f" (this feed subscribes with {_SUBSCRIBE_KEYS[key]!r})"
            raise UsageError(f"{path}:{line}: unknown key {key!r}{hint}")
        try:
            settings[key] = (param_name, _shaped(_param(command, param_name), value), line)
        except ValueError as bad:
            raise UsageError(f"{path}:{line}: {key}: {bad}") from None
    return settings


_SUBSCRIBE_KEYS = {"send": "emit", "emit": "send"}  # the other kind's way of subscribing


def _long_names(command: click.Command) -> dict[str, str]:
    """The keys a feed file may use: each parameter's long option name (and `url`)."""
    names: dict[str, str] = {}
    for param in command.params:
        if param.name in (None, "feed_file", "demo", "speed", "help"):
            continue
        if isinstance(param, click.Argument):
            names[param.name] = param.name
            continue
        for opt in param.opts:
            if opt.startswith("--"):
                names[opt[2:]] = param.name
    if "header" in names:
        names["headers"] = names["header"]
    return names


def _param(command: click.Command, name: str) -> click.Parameter | None:
    return next((param for param in command.params if param.name == name), None)


def _shaped(param: click.Parameter | None, value: Any) -> Any:
    """A TOML value in the shape the option takes; ValueError says what was expected."""
    import orjson

    if param is None:
        raise ValueError("not an option of this command")
    multiple = getattr(param, "multiple", False)
    if param.name == "emits":
        pairs = list(value.items()) if isinstance(value, dict) else value
        if not isinstance(pairs, list) or not all(
            isinstance(pair, (list, tuple)) and len(pair) == 2 and isinstance(pair[0], str)
            for pair in pairs
        ):
            raise ValueError('expected a table {event = argument} or a list of ["event", argument]')
        return [
            (event, argument if isinstance(argument, str) else orjson.dumps(argument).decode())
            for event, argument in pairs
        ]
    if param.name == "headers" and isinstance(value, dict):
        return [f"{name}: {content}" for name, content in value.items()]
    if multiple:
        items = value if isinstance(value, list) else [value]
        if param.name == "sends":  # a table is a JSON message, written compact
            return [item if isinstance(item, str) else _json(item) for item in items]
        if not all(isinstance(item, (str, int, float)) for item in items):
            raise ValueError("expected a string or a list of strings")
        return [str(item) for item in items]
    if isinstance(value, (dict, list)):
        raise ValueError("expected a single value")
    if param.type is click.STRING and not isinstance(value, str):  # url, name, the rules...
        raise ValueError(f"expected a string, not {value!r}")
    return value


def _json(value: Any) -> str:
    """A TOML value as compact JSON text."""
    import orjson

    return orjson.dumps(value).decode()


def _line_of(text: str, key: str) -> int:
    """The line where a top-level key is set (1 if it cannot be told)."""
    pattern = re.compile(rf"^\s*(?:{re.escape(key)}|\"{re.escape(key)}\"|'{re.escape(key)}')\s*=")
    for number, line in enumerate(text.splitlines(), 1):
        if pattern.match(line):
            return number
    header = re.compile(rf"^\s*\[\s*{re.escape(key)}\s*\]")
    for number, line in enumerate(text.splitlines(), 1):
        if header.match(line):
            return number
    return 1
