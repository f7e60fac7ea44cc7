"""JMESPath's view of JSON values: truth, numbers, types, equality and ordering."""

from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Callable
from numbers import Number
from typing import Any

from wstail.jsonexact import ExactNumber


class ExpressionRef:
    """An expression reference (`&expr`), as the `*_by` functions and `map()` receive it."""

    __slots__ = ("evaluate",)

    def __init__(self, evaluate: Callable[[Any], Any]) -> None:
        self.evaluate = evaluate


# By exact class, as jmespath's type checks go by class name; ExactNumber is a number.
_TYPE_NAMES: dict[type, str] = {
    bool: "boolean",
    list: "array",
    dict: "object",
    OrderedDict: "object",
    type(None): "null",
    str: "string",
    int: "number",
    float: "number",
    ExactNumber: "number",
    ExpressionRef: "expref",
}


def type_name(value: Any) -> str:
    """The JMESPath type of a value ('number', 'string', ..., 'expref'), or 'unknown'."""
    return _TYPE_NAMES.get(type(value), "unknown")


def is_false(value: Any) -> bool:
    """JMESPath falsiness: null, false, and empty strings, arrays and objects."""
    return value is None or value is False or (not value and isinstance(value, (str, list, dict)))


def is_number(value: Any) -> bool:
    """Whether a value is a JSON number (booleans are not)."""
    kind = type(value)
    if kind is int or kind is float:
        return True
    return kind is not bool and isinstance(value, Number)


def equals(left: Any, right: Any) -> bool:
    """JMESPath equality."""
    # JSON's true is not the number 1, though Python's True == 1.
    if is_number(left) and left in (0, 1):
        if isinstance(right, bool):
            return False
    elif is_number(right) and right in (0, 1) and isinstance(left, bool):
        return False
    return bool(left == right)


ORDERINGS: dict[str, Callable[[Any, Any], bool]] = {
    "lt": operator.lt,
    "lte": operator.le,
    "gt": operator.gt,
    "gte": operator.ge,
}

# `5 < x` is `x > 5`.
SWAPPED = {"lt": "gt", "lte": "gte", "gt": "lt", "gte": "lte"}


def ordered(compare: Callable[[Any, Any], bool], left: Any, right: Any) -> bool | None:
    """An ordering comparison: numbers with numbers, strings with strings, else null."""
    if is_number(left):
        return compare(left, right) if is_number(right) else None
    if isinstance(left, str) and isinstance(right, str):
        return compare(left, right)
    return None
