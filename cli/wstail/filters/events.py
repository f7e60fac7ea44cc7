"""-e/-x: globs on the event name, each option a glob or a comma list of them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from fnmatch import translate

_GLOB_CHARS = frozenset("*?[")


def is_glob(pattern: str) -> bool:
    """Whether a pattern has glob characters (else it names one event exactly)."""
    return not _GLOB_CHARS.isdisjoint(pattern)


def split_patterns(values: Sequence[str]) -> tuple[str, ...]:
    """Every -e/-x value split at commas (`-e trade,depth`), blanks around names dropped."""
    # Click splits an environment value of a repeatable option at spaces: the
    # comma list is the one form every way of giving the option shares.
    return tuple(part.strip() for value in values for part in value.split(","))


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
        self.include = split_patterns(self.include)
        self.exclude = split_patterns(self.exclude)
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
        if not self.include or any(is_glob(p) for p in self.include):
            return None
        return frozenset(self.include)
