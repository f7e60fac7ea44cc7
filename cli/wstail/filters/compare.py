"""Comparisons compiled to closures, specialised for the hot shape `field <op> literal`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wstail.filters.parse import Node
from wstail.filters.values import ORDERINGS, SWAPPED, equals, is_number, ordered

Evaluator = Callable[[Any], Any]
Compiler = Callable[[Node], Evaluator]


def compile_comparator(node: Node, compile_node: Compiler) -> Evaluator:
    """`a == b`, `a < b`...: one closure, `compile_node` compiling the operands."""
    op = node["value"]
    left_node, right_node = node["children"]
    if right_node["type"] == "literal":
        return _compare_with_literal(op, left_node, right_node["value"], False, compile_node)
    if left_node["type"] == "literal":
        return _compare_with_literal(op, right_node, left_node["value"], True, compile_node)
    left, right = compile_node(left_node), compile_node(right_node)
    if op == "eq":

        def equal(value: Any) -> bool:
            return equals(left(value), right(value))

        return equal
    if op == "ne":

        def not_equal(value: Any) -> bool:
            return not equals(left(value), right(value))

        return not_equal
    compare = ORDERINGS[op]

    def in_order(value: Any) -> bool | None:
        return ordered(compare, left(value), right(value))

    return in_order


def _compare_with_literal(
    op: str, node: Node, constant: Any, literal_first: bool, compile_node: Compiler
) -> Evaluator:
    if op in ("eq", "ne"):
        return _equality_with_literal(node, constant, op == "ne", compile_node)
    compare = ORDERINGS[SWAPPED[op] if literal_first else op]
    other = compile_node(node)
    if is_number(constant):

        def order_number(value: Any) -> bool | None:
            found = other(value)
            kind = type(found)
            if kind is float or kind is int:
                return compare(found, constant)
            return ordered(compare, found, constant)

        return order_number

    def order_other(value: Any) -> bool | None:
        return ordered(compare, other(value), constant)

    return order_other


def _equality_with_literal(
    node: Node, constant: Any, negate: bool, compile_node: Compiler
) -> Evaluator:
    if constant is None or isinstance(constant, bool):
        # Only null is null, only true is true: no number equals them in JMESPath.
        match = compile_node(node)
        if negate:

            def is_not(value: Any) -> bool:
                return match(value) is not constant

            return is_not

        def is_(value: Any) -> bool:
            return match(value) is constant

        return is_
    if is_number(constant) and constant in (0, 1):
        match = compile_node(node)

        def equal_number(value: Any) -> bool:
            found = match(value)
            return found == constant and not isinstance(found, bool)

        if negate:

            def not_equal_number(value: Any) -> bool:
                return not equal_number(value)

            return not_equal_number
        return equal_number
    # A string, array, object or other number: plain == is JMESPath equality.
    if node["type"] == "field":
        name = node["value"]
        if negate:

            def field_not_equal(value: Any) -> bool:
                try:
                    return bool(value.get(name) != constant)
                except AttributeError:
                    return True

            return field_not_equal

        def field_equal(value: Any) -> bool:
            try:
                return bool(value.get(name) == constant)
            except AttributeError:
                return False

        return field_equal
    match = compile_node(node)
    if negate:

        def not_equal(value: Any) -> bool:
            return bool(match(value) != constant)

        return not_equal

    def equal(value: Any) -> bool:
        return bool(match(value) == constant)

    return equal
