"""JMESPath compiled to closures: parse once, then evaluate without a tree walk.

`compile_expression` turns the tree from jmespath's own parser into nested Python
closures, one per node, built once. Evaluating one is plain function calls: no
visitor dispatch, no node dictionaries. The hot shapes of a stream filter get
closures of their own: a chain of fields is one `try: v.get(a).get(b)`, a
comparison against a literal is specialised on the literal's type (compare.py),
and `&&` / `||` between comparisons use Python's `and` / `or` directly.

Results are those of `jmespath.search` (the reference) for every expression and
every JSON document, with four deliberate differences, all where the reference
either crashes or defers a certain error:

- an ordering comparison between a string and a number is null, as the spec
  says; the reference raises Python's TypeError;
- a built-in function that fails with a bare Python error inside jmespath
  (`max_by`/`min_by` over keys of mixed types, `ceil`/`floor` of infinity or
  NaN) raises `FunctionError`, a `JMESPathError`, instead of that error;
- unknown functions, wrong argument counts and a slice step of 0 are
  `ExpressionError`s from `compile_expression`, not errors at evaluation;
- float subclasses (`ExactNumber`) are numbers for the built-in functions too;
  the reference's type check goes by class name and rejects them.

Evaluation may raise `jmespath.exceptions.JMESPathError` (mostly
`JMESPathTypeError`, e.g. `abs('x')`), exactly where the reference raises. A
caller filtering a stream treats such a record as null, that is as not
matching: wrap the compiled function with `safe`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jmespath import exceptions

from wstail.filters.compare import compile_comparator
from wstail.filters.functions import BUILTINS, FunctionError
from wstail.filters.parse import ExpressionError, Node, parse_expression
from wstail.filters.values import ExpressionRef, is_false

__all__ = ["Evaluator", "ExpressionError", "FunctionError", "compile_expression", "safe"]

Evaluator = Callable[[Any], Any]


def compile_expression(text: str) -> Evaluator:
    """Compile a JMESPath expression into a function of one JSON value."""
    return _compile(parse_expression(text))


def safe(evaluate: Evaluator) -> Evaluator:
    """Wrap a compiled expression so that an evaluation error gives None (null)."""

    def evaluate_or_null(value: Any) -> Any:
        try:
            return evaluate(value)
        except exceptions.JMESPathError:
            return None

    return evaluate_or_null


def _compile(node: Node) -> Evaluator:
    return _COMPILERS[node["type"]](node)


def _identity(value: Any) -> Any:
    return value


def _compile_identity(node: Node) -> Evaluator:
    return _identity


def _compile_literal(node: Node) -> Evaluator:
    constant = node["value"]

    def literal(value: Any) -> Any:
        return constant

    return literal


def _compile_field(node: Node) -> Evaluator:
    return _field_chain((node["value"],))


def _field_chain(names: tuple[str, ...]) -> Evaluator:
    # `.get` on anything but an object raises AttributeError: null, as in the reference.
    if len(names) == 1:
        (a,) = names

        def field(value: Any) -> Any:
            try:
                return value.get(a)
            except AttributeError:
                return None

        return field
    if len(names) == 2:
        a, b = names

        def field2(value: Any) -> Any:
            try:
                return value.get(a).get(b)
            except AttributeError:
                return None

        return field2
    if len(names) == 3:
        a, b, c = names

        def field3(value: Any) -> Any:
            try:
                return value.get(a).get(b).get(c)
            except AttributeError:
                return None

        return field3

    def fields(value: Any) -> Any:
        try:
            for name in names:
                value = value.get(name)
        except AttributeError:
            return None
        return value

    return fields


def _compile_chain(node: Node) -> Evaluator:
    """subexpression, index_expression and pipe: each child applied to the last result."""
    children = node["children"]
    if all(child["type"] == "field" for child in children):
        return _field_chain(tuple(child["value"] for child in children))
    steps = tuple(_compile(child) for child in children)
    if len(steps) == 2:
        first, second = steps

        def chain2(value: Any) -> Any:
            return second(first(value))

        return chain2

    def chain(value: Any) -> Any:
        for step in steps:
            value = step(value)
        return value

    return chain


def _compile_index(node: Node) -> Evaluator:
    position = node["value"]

    def index(value: Any) -> Any:
        if isinstance(value, list):
            try:
                return value[position]
            except IndexError:
                return None
        return None

    return index


def _compile_slice(node: Node) -> Evaluator:
    span = slice(*node["children"])

    def slice_(value: Any) -> Any:
        return value[span] if isinstance(value, list) else None

    return slice_


def _compile_projection(node: Node) -> Evaluator:
    left, right = (_compile(child) for child in node["children"])
    if right is _identity:

        def project_items(value: Any) -> Any:
            base = left(value)
            if not isinstance(base, list):
                return None
            return [item for item in base if item is not None]

        return project_items

    def project(value: Any) -> Any:
        base = left(value)
        if not isinstance(base, list):
            return None
        return [result for result in map(right, base) if result is not None]

    return project


def _compile_value_projection(node: Node) -> Evaluator:
    left, right = (_compile(child) for child in node["children"])

    def project_values(value: Any) -> Any:
        base = left(value)
        try:
            items = base.values()
        except AttributeError:
            return None
        return [result for result in map(right, items) if result is not None]

    return project_values


def _compile_filter_projection(node: Node) -> Evaluator:
    left, right, condition = (_compile(child) for child in node["children"])
    if not _yields_bool_or_none(node["children"][2]):
        test = condition

        def condition(value: Any) -> Any:
            return not is_false(test(value))

    if right is _identity:

        def filter_items(value: Any) -> Any:
            base = left(value)
            if not isinstance(base, list):
                return None
            return [item for item in base if condition(item) and item is not None]

        return filter_items

    def filter_project(value: Any) -> Any:
        base = left(value)
        if not isinstance(base, list):
            return None
        collected = []
        for item in base:
            if condition(item):
                result = right(item)
                if result is not None:
                    collected.append(result)
        return collected

    return filter_project


def _compile_flatten(node: Node) -> Evaluator:
    (child,) = (_compile(child) for child in node["children"])

    def flatten(value: Any) -> Any:
        base = child(value)
        if not isinstance(base, list):
            return None
        merged: list[Any] = []
        for item in base:
            if isinstance(item, list):
                merged.extend(item)
            else:
                merged.append(item)
        return merged

    return flatten


def _compile_multi_select_list(node: Node) -> Evaluator:
    parts = tuple(_compile(child) for child in node["children"])

    def multi_select_list(value: Any) -> Any:
        if value is None:
            return None
        return [part(value) for part in parts]

    return multi_select_list


def _compile_multi_select_dict(node: Node) -> Evaluator:
    parts = tuple((child["value"], _compile(child["children"][0])) for child in node["children"])

    def multi_select_dict(value: Any) -> Any:
        if value is None:
            return None
        return {key: part(value) for key, part in parts}

    return multi_select_dict


def _compile_key_val_pair(node: Node) -> Evaluator:
    return _compile(node["children"][0])


def _compile_and(node: Node) -> Evaluator:
    left_node, right_node = node["children"]
    left, right = _compile(left_node), _compile(right_node)
    if _yields_bool_or_none(left_node):
        # Python and JMESPath agree on the truth of true, false and null.
        def and_bool(value: Any) -> Any:
            return left(value) and right(value)

        return and_bool

    def and_(value: Any) -> Any:
        matched = left(value)
        if is_false(matched):
            return matched
        return right(value)

    return and_


def _compile_or(node: Node) -> Evaluator:
    left_node, right_node = node["children"]
    left, right = _compile(left_node), _compile(right_node)
    if _yields_bool_or_none(left_node):

        def or_bool(value: Any) -> Any:
            return left(value) or right(value)

        return or_bool

    def or_(value: Any) -> Any:
        matched = left(value)
        if is_false(matched):
            return right(value)
        return matched

    return or_


def _compile_not(node: Node) -> Evaluator:
    child_node = node["children"][0]
    child = _compile(child_node)
    if _yields_bool_or_none(child_node):

        def not_bool(value: Any) -> bool:
            return not child(value)

        return not_bool

    def not_(value: Any) -> bool:
        return is_false(child(value))

    return not_


def _compile_comparator(node: Node) -> Evaluator:
    return compile_comparator(node, _compile)


def _compile_function(node: Node) -> Evaluator:
    name = node["value"]
    arguments = tuple(_compile(child) for child in node["children"])
    call = BUILTINS[name].call

    def function(value: Any) -> Any:
        resolved = [argument(value) for argument in arguments]
        try:
            return call(*resolved)
        except exceptions.JMESPathError:
            raise
        except (TypeError, ValueError, ArithmeticError) as error:
            raise FunctionError(f"{name}() failed: {error}") from error

    return function


def _compile_expref(node: Node) -> Evaluator:
    reference = ExpressionRef(_compile(node["children"][0]))

    def expref(value: Any) -> Any:
        return reference

    return expref


_COMPILERS: dict[str, Callable[[Node], Evaluator]] = {
    "and_expression": _compile_and,
    "comparator": _compile_comparator,
    "current": _compile_identity,
    "expref": _compile_expref,
    "field": _compile_field,
    "filter_projection": _compile_filter_projection,
    "flatten": _compile_flatten,
    "function_expression": _compile_function,
    "identity": _compile_identity,
    "index": _compile_index,
    "index_expression": _compile_chain,
    "key_val_pair": _compile_key_val_pair,
    "literal": _compile_literal,
    "multi_select_dict": _compile_multi_select_dict,
    "multi_select_list": _compile_multi_select_list,
    "not_expression": _compile_not,
    "or_expression": _compile_or,
    "pipe": _compile_chain,
    "projection": _compile_projection,
    "slice": _compile_slice,
    "subexpression": _compile_chain,
    "value_projection": _compile_value_projection,
}

_BOOLEAN_FUNCTIONS = frozenset({"contains", "ends_with", "starts_with"})


def _yields_bool_or_none(node: Node) -> bool:
    """Whether a node always evaluates to true, false or null (or raises)."""
    kind = node["type"]
    if kind in ("comparator", "not_expression"):
        return True
    if kind in ("and_expression", "or_expression"):
        return all(_yields_bool_or_none(child) for child in node["children"])
    if kind == "literal":
        return node["value"] is None or isinstance(node["value"], bool)
    if kind == "function_expression":
        return node["value"] in _BOOLEAN_FUNCTIONS
    return False
