"""JMESPath text to a checked syntax tree, with errors that point at the column at fault.

Parsing is jmespath's own (`jmespath.parser.Parser`, `jmespath.lexer.Lexer`, both
public); the tree is its documented dictionary form. Unknown functions, wrong
argument counts and a slice step of 0 are refused here, before any evaluation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, cast

from jmespath import exceptions, lexer, parser

from wstail.filters.functions import BUILTINS

Node = dict[str, Any]

_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")


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


def parse_expression(text: str) -> Node:
    """Parse and check a JMESPath expression; raise ExpressionError if it cannot compile."""
    tree = _parse(text)
    _check_functions(tree, text)
    _check_slices(tree, text)
    return tree


def tokens(text: str) -> list[Node]:
    """jmespath's tokens of a text that lexes, each with its type, value and start."""
    return cast(list[Node], list(lexer.Lexer().tokenize(text)))


def in_text_order(node: Node) -> Iterator[Node]:
    """Every node, parents first, children in the order they are written."""
    yield node
    children = node.get("children", ())
    if node["type"] == "filter_projection":
        children = (children[0], children[2], children[1])
    for child in children:
        if isinstance(child, dict):
            yield from in_text_order(child)


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
    if error.token_type == "NUMBER":
        # `> 200` is what jq users write; JMESPath wants the JSON literal `200`.
        # The lexer reads `1.5` as 1, a dot and 5: the hint shows the number as written.
        written = _NUMBER.match(text, error.lex_position)
        number = written.group() if written else str(error.token_value)
        return ExpressionError(
            text, column, f"unexpected number {number} (write numbers in backticks: `{number}`)"
        )
    return ExpressionError(text, column, f"unexpected token '{error.token_value}'")


def _token_pairs(text: str) -> Iterator[tuple[Node, Node]]:
    found = tokens(text)
    return zip(found, found[1:], strict=False)


def _check_functions(tree: Node, text: str) -> None:
    calls: dict[str, int] = {}
    for node in in_text_order(tree):
        if node["type"] != "function_expression":
            continue
        name = node["value"]
        calls[name] = calls.get(name, 0) + 1
        builtin = BUILTINS.get(name)
        if builtin is None:
            problem: str | None = f"unknown function {name}()"
        else:
            problem = builtin.arity_problem(name, len(node["children"]))
        if problem is not None:
            raise ExpressionError(text, _call_column(text, name, calls[name]), problem)


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
    if any(node["type"] == "slice" and node["children"][2] == 0 for node in in_text_order(tree)):
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
