"""JMESPath compiled to closures: parse once with `jmespath`, then evaluate without a tree walk.

`compile_expression` turns the AST from jmespath's own parser into nested Python
closures, one per node, built once. Evaluating one is plain function calls: no
visitor dispatch, no node dictionaries. The hot shapes of a stream filter get
closures of their own: a chain of fields is one `try: v.get(a).get(b)`, a
comparison against a literal is specialised on the literal's type, and `&&` /
`||` between comparisons use Python's `and` / `or` directly.

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

import operator
from collections.abc import Callable, Iterator
from numbers import Number
from typing import Any, cast

from jmespath import exceptions, functions, lexer, parser

from wstail.jsonexact import ExactNumber

__all__ = [
    "Evaluator",
    "ExpressionError",
    "FunctionError",
    "compile_expression",
    "literal_event_names",
    "safe",
]

Evaluator = Callable[[Any], Any]
Node = dict[str, Any]


class ExpressionError(ValueError):
    """A JMESPath expression that cannot be compiled, with the column at fault."""

    def __init__(self, expression: str, column: int, reason: str) -> None:
        self.expression = expression
        self.column = column  # 1-based
        self.reason = reason
        super().__init__(f"invalid JMESPath expression {expression!r}: {reason} at column {column}")

    def caret(self) -> str:
        """The expression and, under it, a caret at the column: two lines."""
        shown = "".join(ch if ch.isprintable() else " " for ch in self.expression)
        return f"  {shown}\n  {' ' * (self.column - 1)}^"


class FunctionError(exceptions.JMESPathError):
    """A built-in function failed with a plain Python error inside jmespath."""


def safe(evaluate: Evaluator) -> Evaluator:
    """Wrap a compiled expression so that an evaluation error gives None (null)."""

    def evaluate_or_null(value: Any) -> Any:
        try:
            return evaluate(value)
        except exceptions.JMESPathError:
            return None

    return evaluate_or_null


def compile_expression(text: str) -> Evaluator:
    """Compile a JMESPath expression into a function of one JSON value."""
    return _compile(_checked_tree(text))


def literal_event_names(text: str) -> frozenset[str] | None:
    """The `event` names an expression can be truthy for, or None if not provably limited.

    For `event == 'trade' && data.price > \\`205\\`` this is {'trade'}: a record
    whose top-level `event` field is not one of them can be skipped unseen.
    Raises ExpressionError for an expression `compile_expression` would refuse.
    """
    return _event_names(_checked_tree(text))


# -- parsing and compile-time checks -------------------------------------------------


def _checked_tree(text: str) -> Node:
    tree = _parse(text)
    _check_functions(tree, text)
    _check_slices(tree, text)
    return tree


def _parse(text: str) -> Node:
    try:
        # The types-jmespath stubs type nodes too narrowly (every value a str).
        tree = cast(Node, parser.Parser().parse(text).parsed)
    except exceptions.EmptyExpressionError:
        raise ExpressionError(text, 1, "empty expression") from None
    except exceptions.LexerError as error:
        raise ExpressionError(text, error.lexer_position + 1, _lexer_reason(error)) from None
    except exceptions.IncompleteExpressionError:
        raise ExpressionError(text, len(text) + 1, "unexpected end of expression") from None
    except exceptions.ParseError as error:
        raise _parse_error(text, error) from None
    return tree


def _lexer_reason(error: exceptions.LexerError) -> str:
    message = str(error.message)
    if message.startswith("Unknown token"):
        return f"unexpected character {error.lexer_value!r}"
    if message.startswith("Unclosed"):
        return message[0].lower() + message[1:]
    if message.startswith("Bad token"):
        return "invalid JSON literal"
    return f"invalid quoted identifier ({message[0].lower() + message[1:]})"


def _parse_error(text: str, error: exceptions.ParseError) -> ExpressionError:
    if error.token_type == "EOF":
        return ExpressionError(text, len(text) + 1, "unexpected end of expression")
    if str(error.msg).startswith("Quoted identifier"):
        # jmespath reports column 0 here; the quoted name is just before the '('.
        column = next(
            (
                token["start"] + 1
                for token, after in _token_pairs(text)
                if token["type"] == "quoted_identifier" and after["type"] == "lparen"
            ),
            1,
        )
        return ExpressionError(text, column, "a function name cannot be quoted")
    column = error.lex_position + 1
    if error.token_type == "LITERAL":
        return ExpressionError(text, column, "unexpected literal")
    return ExpressionError(text, column, f"unexpected token '{error.token_value}'")


def _token_pairs(text: str) -> Iterator[tuple[Node, Node]]:
    tokens = cast(list[Node], list(lexer.Lexer().tokenize(text)))
    return zip(tokens, tokens[1:], strict=False)


def _in_text_order(node: Node) -> Iterator[Node]:
    """Every node, parents first, children in the order they are written."""
    yield node
    children = node.get("children", ())
    if node["type"] == "filter_projection":
        children = (children[0], children[2], children[1])
    for child in children:
        if isinstance(child, dict):
            yield from _in_text_order(child)


def _check_functions(tree: Node, text: str) -> None:
    calls: dict[str, int] = {}
    for node in _in_text_order(tree):
        if node["type"] != "function_expression":
            continue
        name = node["value"]
        calls[name] = calls.get(name, 0) + 1
        spec = _FUNCTIONS.FUNCTION_TABLE.get(name)
        if spec is None:
            problem: str | None = f"unknown function {name}()"
        else:
            problem = _arity_problem(name, spec["signature"], len(node["children"]))
        if problem is not None:
            raise ExpressionError(text, _call_column(text, name, calls[name]), problem)


def _arity_problem(name: str, signature: tuple[dict[str, Any], ...], count: int) -> str | None:
    expected = len(signature)
    if signature and signature[-1].get("variadic"):
        if count >= expected:
            return None
        at_least = "at least "
    elif count == expected:
        return None
    else:
        at_least = ""
    plural = "" if expected == 1 else "s"
    return f"{name}() takes {at_least}{expected} argument{plural}, got {count}"


def _call_column(text: str, name: str, occurrence: int) -> int:
    seen = 0
    for token, after in _token_pairs(text):
        if token["type"] == "unquoted_identifier" and token["value"] == name:
            if after["type"] == "lparen":
                seen += 1
                if seen == occurrence:
                    return int(token["start"]) + 1
    return 1


def _check_slices(tree: Node, text: str) -> None:
    if any(node["type"] == "slice" and node["children"][2] == 0 for node in _in_text_order(tree)):
        raise ExpressionError(text, _zero_step_column(text), "slice step cannot be 0")


def _zero_step_column(text: str) -> int:
    colons = 0
    for token, after in _token_pairs(text):
        if token["type"] == "lbracket":
            colons = 0
        elif token["type"] == "colon":
            colons += 1
            if colons == 2 and after["type"] == "number" and after["value"] == 0:
                return int(after["start"]) + 1
    return 1


# -- JMESPath values -----------------------------------------------------------------


def _is_false(value: Any) -> bool:
    """JMESPath falsiness: null, false, and empty strings, arrays and objects."""
    return value is None or value is False or (not value and isinstance(value, (str, list, dict)))


def _is_number(value: Any) -> bool:
    kind = type(value)
    if kind is int or kind is float:
        return True
    return kind is not bool and isinstance(value, Number)


def _equals(left: Any, right: Any) -> bool:
    # JSON's true is not the number 1, though Python's True == 1.
    if _is_number(left) and left in (0, 1):
        if isinstance(right, bool):
            return False
    elif _is_number(right) and right in (0, 1) and isinstance(left, bool):
        return False
    return bool(left == right)


_ORDERINGS: dict[str, Callable[[Any, Any], bool]] = {
    "lt": operator.lt,
    "lte": operator.le,
    "gt": operator.gt,
    "gte": operator.ge,
}


def _ordered(compare: Callable[[Any, Any], bool], left: Any, right: Any) -> bool | None:
    """An ordering comparison: numbers with numbers, strings with strings, else null."""
    if _is_number(left):
        return compare(left, right) if _is_number(right) else None
    if isinstance(left, str) and isinstance(right, str):
        return compare(left, right)
    return None


class _Functions(functions.Functions):
    """jmespath's built-in functions, taking float subclasses (ExactNumber) as numbers."""

    _NUMBER_SUBCLASSES = (ExactNumber.__name__,)

    def _get_allowed_pytypes(self, types: Any) -> tuple[list[Any], list[Any]]:
        allowed, subtypes = super()._get_allowed_pytypes(types)  # type: ignore[misc]
        if "float" in allowed:
            allowed = [*allowed, *self._NUMBER_SUBCLASSES]
        subtypes = [
            (*names, *self._NUMBER_SUBCLASSES) if "float" in names else names for names in subtypes
        ]
        return allowed, subtypes

    def _convert_to_jmespath_type(self, pyobject: Any) -> Any:
        if pyobject in self._NUMBER_SUBCLASSES:
            return "number"
        return super()._convert_to_jmespath_type(pyobject)  # type: ignore[misc]


_FUNCTIONS = _Functions()


class _Expression:
    """An expression reference (`&expr`) in the shape jmespath's functions call back."""

    # jmespath's functions check an expref argument by this class name.
    __slots__ = ("expression",)

    def __init__(self, expression: Evaluator) -> None:
        self.expression = expression

    def visit(self, expression: Evaluator, value: Any) -> Any:
        """Evaluate the referenced expression against `value`."""
        return expression(value)


# -- the compiler --------------------------------------------------------------------


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
            return not _is_false(test(value))

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
        if _is_false(matched):
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
        if _is_false(matched):
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
        return _is_false(child(value))

    return not_


def _compile_comparator(node: Node) -> Evaluator:
    op = node["value"]
    left_node, right_node = node["children"]
    if right_node["type"] == "literal":
        return _compare_with_literal(op, left_node, right_node["value"], literal_first=False)
    if left_node["type"] == "literal":
        return _compare_with_literal(op, right_node, left_node["value"], literal_first=True)
    left, right = _compile(left_node), _compile(right_node)
    if op == "eq":

        def equal(value: Any) -> bool:
            return _equals(left(value), right(value))

        return equal
    if op == "ne":

        def not_equal(value: Any) -> bool:
            return not _equals(left(value), right(value))

        return not_equal
    compare = _ORDERINGS[op]

    def ordered(value: Any) -> bool | None:
        return _ordered(compare, left(value), right(value))

    return ordered


def _compare_with_literal(op: str, node: Node, constant: Any, literal_first: bool) -> Evaluator:
    if op in ("eq", "ne"):
        return _equality_with_literal(node, constant, negate=op == "ne")
    compare = _ORDERINGS[op]
    if literal_first:
        # `5 < x` is `x > 5`.
        compare = _ORDERINGS[{"lt": "gt", "lte": "gte", "gt": "lt", "gte": "lte"}[op]]
    other = _compile(node)
    if _is_number(constant):

        def order_number(value: Any) -> bool | None:
            found = other(value)
            kind = type(found)
            if kind is float or kind is int:
                return compare(found, constant)
            return _ordered(compare, found, constant)

        return order_number

    def order_other(value: Any) -> bool | None:
        return _ordered(compare, other(value), constant)

    return order_other


def _equality_with_literal(node: Node, constant: Any, negate: bool) -> Evaluator:
    if constant is None or isinstance(constant, bool):
        # Only null is null, only true is true: no number equals them in JMESPath.
        match = _compile(node)
        if negate:

            def is_not(value: Any) -> bool:
                return match(value) is not constant

            return is_not

        def is_(value: Any) -> bool:
            return match(value) is constant

        return is_
    if _is_number(constant) and constant in (0, 1):
        match = _compile(node)

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
    match = _compile(node)
    if negate:

        def not_equal(value: Any) -> bool:
            return bool(match(value) != constant)

        return not_equal

    def equal(value: Any) -> bool:
        return bool(match(value) == constant)

    return equal


def _compile_function(node: Node) -> Evaluator:
    name = node["value"]
    arguments = tuple(_compile(child) for child in node["children"])
    call = _FUNCTIONS.call_function

    def function(value: Any) -> Any:
        resolved = [argument(value) for argument in arguments]
        try:
            return call(name, resolved)
        except exceptions.JMESPathError:
            raise
        except (TypeError, ValueError, ArithmeticError) as error:
            raise FunctionError(f"{name}() failed: {error}") from error

    return function


def _compile_expref(node: Node) -> Evaluator:
    reference = _Expression(_compile(node["children"][0]))

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


# -- the event pre-filter ------------------------------------------------------------


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
