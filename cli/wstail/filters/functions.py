"""JMESPath's built-in functions, with ExactNumber a number, written against no library internals.

Each function checks its arguments the way the specification (and the reference,
`jmespath`) does, in argument order: top-level type, then the element types of an
array. Failures raise `jmespath.exceptions.JMESPathTypeError` exactly where the
reference does. Arity is checked once, when an expression is compiled, from
`BUILTINS`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from typing import Any

from jmespath import exceptions

from wstail.filters.values import ExpressionRef, type_name


class FunctionError(exceptions.JMESPathError):
    """A built-in function failed with a plain Python error (the reference lets it escape)."""


def _check(name: str, value: Any, types: Sequence[str]) -> None:
    """Raise the reference's type error unless `value` is one of `types` (with element types)."""
    kind = type_name(value)
    element_types = []
    for allowed in types:
        top, _, element = allowed.partition("-")
        if kind == top:
            if not element:
                return
            element_types.append(element)
    if not element_types:
        raise exceptions.JMESPathTypeError(name, value, kind, list(types))
    if len(element_types) == 1:
        wanted = element_types[0]
        for item in value:
            if type_name(item) != wanted:
                raise exceptions.JMESPathTypeError(name, item, type(item).__name__, list(types))
    elif value:
        # Several element types allowed: the first element decides for all.
        first = type_name(value[0])
        if first not in element_types:
            raise exceptions.JMESPathTypeError(name, value[0], type(value[0]).__name__, list(types))
        for item in value:
            if type_name(item) != first:
                raise exceptions.JMESPathTypeError(name, item, type(item).__name__, list(types))


def _abs(arg: Any) -> Any:
    _check("abs", arg, ("number",))
    return abs(arg)


def _avg(arg: Any) -> Any:
    _check("avg", arg, ("array-number",))
    return sum(arg) / len(arg) if arg else None


def _ceil(arg: Any) -> Any:
    _check("ceil", arg, ("number",))
    return math.ceil(arg)


def _contains(subject: Any, search: Any) -> Any:
    _check("contains", subject, ("array", "string"))
    return search in subject


def _ends_with(subject: Any, suffix: Any) -> Any:
    _check("ends_with", subject, ("string",))
    _check("ends_with", suffix, ("string",))
    return subject.endswith(suffix)


def _floor(arg: Any) -> Any:
    _check("floor", arg, ("number",))
    return math.floor(arg)


def _join(separator: Any, array: Any) -> Any:
    _check("join", separator, ("string",))
    _check("join", array, ("array-string",))
    return separator.join(array)


def _keys(arg: Any) -> Any:
    _check("keys", arg, ("object",))
    return list(arg.keys())


def _length(arg: Any) -> Any:
    _check("length", arg, ("string", "array", "object"))
    return len(arg)


def _map(expref: Any, array: Any) -> Any:
    _check("map", expref, ("expref",))
    _check("map", array, ("array",))
    return [expref.evaluate(item) for item in array]


def _max(arg: Any) -> Any:
    _check("max", arg, ("array-number", "array-string"))
    return max(arg) if arg else None


def _merge(*arguments: Any) -> Any:
    # As in the reference, only the first argument's type is checked.
    _check("merge", arguments[0], ("object",))
    merged: dict[Any, Any] = {}
    for argument in arguments:
        merged.update(argument)
    return merged


def _min(arg: Any) -> Any:
    _check("min", arg, ("array-number", "array-string"))
    return min(arg) if arg else None


def _not_null(*arguments: Any) -> Any:
    for argument in arguments:
        if argument is not None:
            return argument
    return None


def _reverse(arg: Any) -> Any:
    _check("reverse", arg, ("array", "string"))
    return arg[::-1] if isinstance(arg, str) else list(reversed(arg))


def _sort(arg: Any) -> Any:
    _check("sort", arg, ("array-string", "array-number"))
    return sorted(arg)


def _starts_with(subject: Any, prefix: Any) -> Any:
    _check("starts_with", subject, ("string",))
    _check("starts_with", prefix, ("string",))
    return subject.startswith(prefix)


def _sum(arg: Any) -> Any:
    _check("sum", arg, ("array-number",))
    return sum(arg)


def _to_array(arg: Any) -> Any:
    return arg if isinstance(arg, list) else [arg]


def _to_number(arg: Any) -> Any:
    if arg is None or isinstance(arg, (list, dict, bool)):
        return None
    if isinstance(arg, (int, float)):
        return arg
    try:
        return int(arg)
    except ValueError:
        try:
            return float(arg)
        except ValueError:
            return None


def _to_string(arg: Any) -> Any:
    if isinstance(arg, str):
        return arg
    return json.dumps(arg, separators=(",", ":"), default=str)


def _type(arg: Any) -> Any:
    kind = type_name(arg)
    # The reference has no name for an expression reference here.
    return None if kind in ("expref", "unknown") else kind


def _values(arg: Any) -> Any:
    _check("values", arg, ("object",))
    return list(arg.values())


def _key_function(name: str, expref: ExpressionRef, allowed: list[str]) -> Callable[[Any], Any]:
    def key(item: Any) -> Any:
        result = expref.evaluate(item)
        kind = type_name(result)
        if kind not in allowed:
            raise exceptions.JMESPathTypeError(name, result, kind, allowed)
        return result

    return key


def _sort_by(array: Any, expref: Any) -> Any:
    _check("sort_by", array, ("array",))
    _check("sort_by", expref, ("expref",))
    if not array:
        return array
    # The first element's key decides whether all keys are numbers or strings.
    required = type_name(expref.evaluate(array[0]))
    if required not in ("number", "string"):
        raise exceptions.JMESPathTypeError("sort_by", array[0], required, ["string", "number"])
    return sorted(array, key=_key_function("sort_by", expref, [required]))


def _min_by(array: Any, expref: Any) -> Any:
    _check("min_by", array, ("array",))
    _check("min_by", expref, ("expref",))
    key = _key_function("min_by", expref, ["number", "string"])
    return min(array, key=key) if array else None


def _max_by(array: Any, expref: Any) -> Any:
    _check("max_by", array, ("array",))
    _check("max_by", expref, ("expref",))
    key = _key_function("max_by", expref, ["number", "string"])
    return max(array, key=key) if array else None


class Builtin:
    """A built-in function and how many arguments it takes."""

    # A plain class: a dataclass would cost startup time for every -f.
    __slots__ = ("arity", "call", "variadic")

    def __init__(self, call: Callable[..., Any], arity: int, variadic: bool = False) -> None:
        self.call = call
        self.arity = arity
        self.variadic = variadic

    def arity_problem(self, name: str, count: int) -> str | None:
        """Why `count` arguments are wrong for this function, or None when they are right."""
        if self.variadic:
            if count >= self.arity:
                return None
            at_least = "at least "
        elif count == self.arity:
            return None
        else:
            at_least = ""
        plural = "" if self.arity == 1 else "s"
        return f"{name}() takes {at_least}{self.arity} argument{plural}, got {count}"


BUILTINS: dict[str, Builtin] = {
    "abs": Builtin(_abs, 1),
    "avg": Builtin(_avg, 1),
    "ceil": Builtin(_ceil, 1),
    "contains": Builtin(_contains, 2),
    "ends_with": Builtin(_ends_with, 2),
    "floor": Builtin(_floor, 1),
    "join": Builtin(_join, 2),
    "keys": Builtin(_keys, 1),
    "length": Builtin(_length, 1),
    "map": Builtin(_map, 2),
    "max": Builtin(_max, 1),
    "max_by": Builtin(_max_by, 2),
    "merge": Builtin(_merge, 1, variadic=True),
    "min": Builtin(_min, 1),
    "min_by": Builtin(_min_by, 2),
    "not_null": Builtin(_not_null, 1, variadic=True),
    "reverse": Builtin(_reverse, 1),
    "sort": Builtin(_sort, 1),
    "sort_by": Builtin(_sort_by, 2),
    "starts_with": Builtin(_starts_with, 2),
    "sum": Builtin(_sum, 1),
    "to_array": Builtin(_to_array, 1),
    "to_number": Builtin(_to_number, 1),
    "to_string": Builtin(_to_string, 1),
    "type": Builtin(_type, 1),
    "values": Builtin(_values, 1),
}
