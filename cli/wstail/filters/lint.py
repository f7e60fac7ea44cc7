"""Warnings for filters that are valid but almost surely not what was meant.

Pure: each function returns the warning lines; the caller writes them to stderr.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from wstail.filters.events import is_glob

# The top-level fields of every envelope (README.md, "The envelope").
ENVELOPE_FIELDS = frozenset({"seq", "recv_ts", "source", "event", "event_ts", "data"})

_COMPARATORS = frozenset({"eq", "ne", "lt", "lte", "gt", "gte"})
# Tokens after which a quoted identifier goes on as a path (`"a".b`, `"a"[0]`).
_PATH_CONTINUES = frozenset({"dot", "lbracket", "filter", "flatten", "lparen"})
_OPENS = frozenset({"lbracket", "filter", "lbrace"})
_CLOSES = frozenset({"rbracket", "rbrace"})


def quoted_identifier_warnings(text: str, option: str) -> list[str]:
    """Warn about `event == "trade"`: a double-quoted name compared is a field, not a string.

    Only at the top level of the expression (inside `[?...]` the fields are an
    item's), and only for names no envelope has: `"data" == ...` is meant.
    """
    from wstail.filters.parse import tokens

    found = tokens(text)
    warnings: list[str] = []
    depth = 0
    for index, token in enumerate(found):
        kind = token["type"]
        if kind in _OPENS:
            depth += 1
        elif kind in _CLOSES:
            depth -= 1
        if kind != "quoted_identifier" or depth or token["value"] in ENVELOPE_FIELDS:
            continue
        before = found[index - 1]["type"] if index else "start"
        after = found[index + 1]["type"]
        if after in _PATH_CONTINUES or before == "dot":
            continue
        if before in _COMPARATORS or after in _COMPARATORS:
            name = token["value"]
            if not name.isprintable():
                continue  # a name that cannot be shown on one line is left alone
            warnings.append(
                f'warning: {option}: "{name}" is a field name in JMESPath, not a string; '
                f"write '{name}' to compare with the string"
            )
    return warnings


def unknown_event_warnings(patterns: Iterable[str], option: str, known: Sequence[str]) -> list[str]:
    """Warn about a plain event name (no glob) that no feed emits, naming the closest ones."""
    warnings = []
    for pattern in patterns:
        # Node notification types are open-ended: notification.<anything> may come.
        if not pattern or is_glob(pattern) or pattern in known:
            continue
        if pattern.startswith("notification."):
            continue
        import difflib

        close = difflib.get_close_matches(pattern, known, n=3)
        hint = f" (did you mean {' or '.join(close)}?)" if close else ""
        # One line whatever the name holds.
        shown = pattern if pattern.isprintable() else repr(pattern)
        warnings.append(f"warning: {option} {shown}: no feed emits this event{hint}")
    return warnings


def stream_warnings(
    events: Sequence[str], excludes: Sequence[str], expressions: Iterable[tuple[str, str]]
) -> list[str]:
    """Every warning for a run's STREAM options, each once, in option order.

    `events`/`excludes` are the -e/-x patterns (comma lists split);
    `expressions` pairs an option name with a JMESPath text that compiles.
    """
    from wstail.events import EVENT_NAMES

    found = [
        *unknown_event_warnings(events, "-e", EVENT_NAMES),
        *unknown_event_warnings(excludes, "-x", EVENT_NAMES),
    ]
    for option, text in expressions:
        found.extend(quoted_identifier_warnings(text, option))
    return list(dict.fromkeys(found))
