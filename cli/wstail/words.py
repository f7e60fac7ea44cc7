"""Counts in words, for messages: `1 retry`, `2 retries`, `1 bad line`."""

from __future__ import annotations


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """A count and its noun, in the plural unless one (`plural`, else the noun and an s)."""
    if number == 1:
        return f"1 {noun}"
    return f"{number} {plural if plural is not None else noun + 's'}"
