"""Which envelopes pass: event globs and every -f expression; the compile of -f/-q/--until."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from wstail.exitcodes import UsageError
from wstail.filters.events import EventFilter


def is_truthy(value: Any) -> bool:
    """JMESPath truthiness: false, null, empty strings, lists and objects are false."""
    if value is None or value is False:
        return False
    if isinstance(value, (str, list, dict)):
        return len(value) > 0
    return True


def compile_jmespath(text: str, option: str) -> Callable[[Any], Any]:
    """Compile a JMESPath expression; a bad one is a usage error pointing at the column."""
    # Imported here: jmespath loads only when an expression is given.
    from wstail.filters.expression import ExpressionError, compile_expression, safe

    hint = jq_hint(text)
    if hint is not None:
        raise UsageError(f"{option} {text!r}: {hint}")
    try:
        return safe(compile_expression(text))
    except ExpressionError as exc:
        raise UsageError(f"{option}: {exc.args[0]}\n{exc.caret()}") from None


def jq_hint(text: str) -> str | None:
    """What to write instead of a jq path (`.data.price`), or None if `text` is not one.

    No JMESPath expression starts with a dot, so this never refuses a valid one.
    """
    stripped = text.strip()
    if not stripped.startswith("."):
        return None
    rest = stripped[1:].lstrip()
    if not rest:
        return "JMESPath has no '.': the whole envelope is '@'"
    return f"drop the leading dot: {rest}"


def event_names_needed(events: EventFilter, filter_texts: Sequence[str]) -> frozenset[str] | None:
    """Event names an envelope must have to pass, when provable; None when any may pass."""
    names = events.literal_names()
    if not filter_texts:
        return names
    from wstail.filters.prefilter import literal_event_names

    for text in filter_texts:
        from_filter = literal_event_names(text)
        if from_filter is not None:
            names = from_filter if names is None else names & from_filter
    return names


@dataclass(slots=True)
class EnvelopeFilter:
    """All the STREAM filters together: globs, then every -f expression."""

    events: EventFilter
    predicates: list[Callable[[Any], Any]] = field(default_factory=list)

    @property
    def is_trivial(self) -> bool:
        """Whether every envelope passes."""
        return self.events.is_trivial and not self.predicates

    def passes(self, envelope: dict[str, Any]) -> bool:
        """Whether an envelope passes every filter."""
        if not self.events.allows(envelope["event"]):
            return False
        for predicate in self.predicates:
            if not is_truthy(predicate(envelope)):
                return False
        return True
