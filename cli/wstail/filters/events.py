"""-e/-x: globs on the event name."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from fnmatch import translate


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
