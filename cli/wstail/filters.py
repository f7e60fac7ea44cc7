"""Which envelopes pass: event globs, JMESPath filters, and the query projection."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fnmatch import translate
from typing import Any

from wstail.exitcodes import UsageError

Predicate = Callable[[Any], bool]


def compile_jmespath(text: str, option: str) -> Callable[[Any], Any]:
    """Compile a JMESPath expression; a bad one is a usage error pointing at the column."""
    from wstail.jmes import ExpressionError, compile_expression, safe

    try:
        return safe(compile_expression(text))
    except ExpressionError as exc:
        raise UsageError(f"{option}: {exc.args[0]}\n{exc.caret()}") from None


def is_truthy(value: Any) -> bool:
    """JMESPath truthiness: false, null, empty strings, lists and objects are false."""
    if value is None or value is False:
        return False
    if isinstance(value, (str, list, dict)):
        return len(value) > 0
    return True


def _glob_regex(patterns: Sequence[str]) -> re.Pattern[str] | None:
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{translate(p)})" for p in patterns))


@dataclass(slots=True)
class EventFilter:
    """-e/-x globs on the event name, decided once per distinct name."""

    include: Sequence[str] = ()
    exclude: Sequence[str] = ()
    _include_re: re.Pattern[str] | None = field(init=False, default=None)
    _exclude_re: re.Pattern[str] | None = field(init=False, default=None)
    _cache: dict[str, bool] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._include_re = _glob_regex(self.include)
        self._exclude_re = _glob_regex(self.exclude)

    @property
    def is_trivial(self) -> bool:
        """Whether every event passes."""
        return not self.include and not self.exclude

    def allows(self, event: str) -> bool:
        """Whether an event name passes -e and -x."""
        verdict = self._cache.get(event)
        if verdict is None:
            verdict = (self._include_re is None or self._include_re.match(event) is not None) and (
                self._exclude_re is None or self._exclude_re.match(event) is None
            )
            if len(self._cache) < 4096:
                self._cache[event] = verdict
        return verdict

    def literal_names(self) -> frozenset[str] | None:
        """The exact event names -e can match when every -e is a plain name, else None."""
        if not self.include or any(set(p) & set("*?[") for p in self.include):
            return None
        return frozenset(self.include)


def event_names_needed(events: EventFilter, filter_texts: Sequence[str]) -> frozenset[str] | None:
    """Event names an envelope must have to pass, when provable; None when any may pass."""
    names = events.literal_names()
    if not filter_texts:
        return names
    from wstail.jmes import literal_event_names

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
