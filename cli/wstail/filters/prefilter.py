"""The event pre-filter: which `event` names a -f expression can possibly keep."""

from __future__ import annotations

from wstail.filters.parse import Node, parse_expression


def literal_event_names(text: str) -> frozenset[str] | None:
    """The `event` names an expression can be truthy for, or None if not provably limited.

    For `event == 'trade' && data.price > \\`205\\`` this is {'trade'}: a record
    whose top-level `event` field is not one of them can be skipped unseen.
    Raises ExpressionError for an expression `compile_expression` would refuse.
    """
    return _event_names(parse_expression(text))


def _is_event_field(node: Node) -> bool:
    if node["type"] == "field":
        return bool(node["value"] == "event")
    if node["type"] == "subexpression":
        children = node["children"]
        return (
            len(children) == 2 and children[0]["type"] == "current" and _is_event_field(children[1])
        )
    return False


def _event_literal(node: Node) -> str | None:
    """The string L when `node` compares the top-level event with L, else None."""
    left, right = node["children"]
    for field, literal in ((left, right), (right, left)):
        if (
            _is_event_field(field)
            and literal["type"] == "literal"
            and type(literal["value"]) is str
        ):
            return str(literal["value"])
    return None


def _event_names(node: Node) -> frozenset[str] | None:
    kind = node["type"]
    if kind == "comparator" and node["value"] == "eq":
        name = _event_literal(node)
        return None if name is None else frozenset((name,))
    if kind == "not_expression":
        # !(event != 'a') is event == 'a'.
        child = node["children"][0]
        if child["type"] == "comparator" and child["value"] == "ne":
            name = _event_literal(child)
            return None if name is None else frozenset((name,))
        return None
    if kind == "and_expression":
        # Truthy only if both sides are: either side's limit holds.
        left, right = (_event_names(child) for child in node["children"])
        if left is None:
            return right
        if right is None:
            return left
        return left & right
    if kind == "or_expression":
        # Truthy if either side is: both sides need a limit.
        left, right = (_event_names(child) for child in node["children"])
        if left is None or right is None:
            return None
        return left | right
    return None
