"""The JMESPath compiler against the official compliance suite and the reference interpreter."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jmespath
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jmespath import exceptions, functions
from jmespath.visitor import Options, TreeInterpreter, Visitor

from wstail.filters.expression import (
    ExpressionError,
    FunctionError,
    compile_expression,
    safe,
)
from wstail.filters.prefilter import literal_event_names
from wstail.jsonexact import ExactNumber

COMPLIANCE_DIR = Path(__file__).parent / "jmespath_compliance"

# The suite checks jmespath's deprecated `foo` literal (a JSON string without quotes).
pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")

# Errors the compiler reports from compile_expression rather than at evaluation.
COMPILE_TIME_ERRORS = {"syntax", "invalid-arity", "unknown-function", "invalid-value"}


# -- the reference, with wstail's documented deviations ---------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class _SpecFunctions(functions.Functions):
    """jmespath's functions, with escaping Python errors turned into FunctionError."""

    def call_function(self, function_name: str, resolved_args: Iterable[Any]) -> Any:
        try:
            return super().call_function(function_name, resolved_args)
        except exceptions.JMESPathError:
            raise
        except (TypeError, ValueError, ArithmeticError) as error:
            raise FunctionError(str(error)) from error


class _SpecInterpreter(TreeInterpreter):
    """jmespath's interpreter, but `'a' < 1` is null (the spec) instead of a TypeError."""

    def visit_comparator(self, node: Any, value: Any) -> Any:
        if node["value"] not in ("eq", "ne"):
            left = self.visit(node["children"][0], value)
            right = self.visit(node["children"][1], value)
            if (isinstance(left, str) and _is_number(right)) or (
                _is_number(left) and isinstance(right, str)
            ):
                return None
        return super().visit_comparator(node, value)


def _reference(expression: str, data: Any) -> Any:
    parsed = jmespath.compile(expression)
    interpreter = _SpecInterpreter(Options(custom_functions=_SpecFunctions()))
    return interpreter.visit(parsed.parsed, data)


def _canonical(value: Any) -> str:
    """A text that tells 1, 1.0 and true apart, which == does not; key order ignored."""
    if isinstance(value, dict):
        # merge() can build keys that are not strings, so sort their reprs.
        items = sorted(f"{key!r}: {_canonical(item)}" for key, item in value.items())
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_canonical(item) for item in value) + "]"
    return f"{type(value).__name__}({value!r})"


def _outcome(evaluate: Any, data: Any) -> tuple[str, str]:
    try:
        return ("value", _canonical(evaluate(data)))
    except exceptions.JMESPathError as error:
        return ("error", type(error).__name__)


# -- the compliance suite -----------------------------------------------------------


def _compliance_cases() -> list[Any]:
    cases = []
    for path in sorted(COMPLIANCE_DIR.glob("*.json")):
        groups = json.loads(path.read_text(encoding="utf-8"))
        number = 0
        for group in groups:
            for case in group["cases"]:
                number += 1
                cases.append(pytest.param(group["given"], case, id=f"{path.stem}-{number}"))
    return cases


COMPLIANCE_CASES = _compliance_cases()


def test_compliance_suite_is_complete() -> None:
    """Every upstream compliance file is present and the table holds several hundred cases."""
    names = {path.stem for path in COMPLIANCE_DIR.glob("*.json")}
    assert names >= {
        "basic",
        "benchmarks",
        "boolean",
        "current",
        "escape",
        "filters",
        "functions",
        "identifiers",
        "indices",
        "literal",
        "multiselect",
        "pipe",
        "slice",
        "syntax",
        "unicode",
        "wildcard",
    }
    assert len(COMPLIANCE_CASES) > 800


@pytest.mark.parametrize(("given_document", "case"), COMPLIANCE_CASES)
def test_compliance_case(given_document: Any, case: dict[str, Any]) -> None:
    """A compliance case gives the expected result or error, as jmespath.search does."""
    expression = case["expression"]
    if "bench" in case:
        _assert_same_as_reference(expression, given_document)
    elif "result" in case:
        compiled = compile_expression(expression)
        result = compiled(given_document)
        assert result == case["result"]
        assert _canonical(result) == _canonical(case["result"])
        if "deviation" not in case:
            assert _canonical(result) == _canonical(jmespath.search(expression, given_document))
    elif case["error"] in COMPILE_TIME_ERRORS:
        with pytest.raises(ExpressionError):
            compile_expression(expression)
        with pytest.raises(ValueError):
            jmespath.search(expression, given_document)
    else:
        compiled = compile_expression(expression)
        with pytest.raises(exceptions.JMESPathError) as raised:
            compiled(given_document)
        if "deviation" in case:
            with pytest.raises(Exception):  # noqa: B017 - the reference crashes in Python
                jmespath.search(expression, given_document)
        else:
            with pytest.raises(type(raised.value)):
                jmespath.search(expression, given_document)


def _assert_same_as_reference(expression: str, data: Any) -> None:
    try:
        compiled = compile_expression(expression)
    except ExpressionError:
        with pytest.raises(ValueError):
            _reference(expression, data)
        return
    try:
        expected = ("value", _canonical(_reference(expression, data)))
    except exceptions.JMESPathError as error:
        expected = ("error", type(error).__name__)
    assert _outcome(compiled, data) == expected


# -- the differential property test --------------------------------------------------

NAMES = st.sampled_from(["a", "b", "c", "event"])

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([0.0, -0.0, 1.0, 0.5, 2.5, -1.5]),
    st.floats(-1e3, 1e3, allow_nan=False),
    st.sampled_from(["", "a", "b", "ab", "trade"]),
)

DOCUMENTS = st.one_of(
    st.dictionaries(
        NAMES,
        st.recursive(
            SCALARS,
            lambda inner: st.one_of(
                st.lists(inner, max_size=4), st.dictionaries(NAMES, inner, max_size=4)
            ),
            max_leaves=10,
        ),
        max_size=4,
    ),
    st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4), max_leaves=6),
)

LITERALS = st.sampled_from(
    [
        "`0`",
        "`1`",
        "`1.0`",
        "`2`",
        "`-1.5`",
        "`true`",
        "`false`",
        "`null`",
        "'a'",
        "'b'",
        "''",
        "`[]`",
        "`[1, 2]`",
        "`{}`",
        '`{"a": 1}`',
        '`"trade"`',
    ]
)

BOUNDS = st.one_of(st.just(""), st.integers(-4, 4).map(str))
STEPS = st.one_of(st.just(""), st.sampled_from(["-2", "-1", "1", "2"]))
SLICES = st.builds(
    lambda start, stop, step, stepped: f"{start}:{stop}" + (f":{step}" if stepped else ""),
    BOUNDS,
    BOUNDS,
    STEPS,
    st.booleans(),
)

UNARY_FUNCTIONS = st.sampled_from(
    [
        "abs",
        "avg",
        "ceil",
        "floor",
        "keys",
        "length",
        "max",
        "min",
        "not_null",
        "reverse",
        "sort",
        "sum",
        "to_array",
        "to_number",
        "to_string",
        "type",
        "values",
    ]
)
BINARY_FUNCTIONS = st.sampled_from(
    ["contains", "ends_with", "join", "merge", "not_null", "starts_with"]
)
BY_FUNCTIONS = st.sampled_from(["max_by", "min_by", "sort_by"])
COMPARATORS = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])


def _extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds("{}.{}".format, inner, NAMES),
        st.builds("{}[{}]".format, inner, st.integers(-3, 3)),
        st.builds("{}[{}]".format, inner, SLICES),
        st.builds("{}[*]".format, inner),
        st.builds("{}[*].{}".format, inner, NAMES),
        st.builds("{}.*".format, inner),
        st.builds("{}[]".format, inner),
        st.builds("{}[?{}]".format, inner, inner),
        st.builds("{} {} {}".format, inner, COMPARATORS, inner),
        st.builds("{} && {}".format, inner, inner),
        st.builds("{} || {}".format, inner, inner),
        st.builds("!{}".format, inner),
        st.builds("({})".format, inner),
        st.builds("{} | {}".format, inner, inner),
        st.builds("[{}, {}]".format, inner, inner),
        st.builds("{}.[{}, {}]".format, inner, inner, inner),
        st.builds("{{a: {}, b: {}}}".format, inner, inner),
        st.builds("{}({})".format, UNARY_FUNCTIONS, inner),
        st.builds("{}({}, {})".format, BINARY_FUNCTIONS, inner, inner),
        st.builds("{}({}, &{})".format, BY_FUNCTIONS, inner, inner),
        st.builds("map(&{}, {})".format, inner, inner),
    )


EXPRESSIONS = st.recursive(
    st.one_of(NAMES, LITERALS, st.sampled_from(["@", "*", "[]", "[*]"])),
    _extend,
    max_leaves=8,
)


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expression=EXPRESSIONS, document=DOCUMENTS)
def test_compiled_matches_reference(expression: str, document: Any) -> None:
    """Random expressions on random documents: same value or same error as the reference."""
    _assert_same_as_reference(expression, document)


# -- hot paths ----------------------------------------------------------------------

TRADE_FILTER = "event == 'trade' && data.price > `205`"


def _frame(seq: int, event: str, price: Any) -> dict[str, Any]:
    return {
        "seq": seq,
        "recv_ts": "2024-05-01T12:00:00.000000Z",
        "source": "paymium.public",
        "event": event,
        "event_ts": None,
        "data": {"price": price, "traded_btc": 0.1, "timestamp": seq, "currency": "EUR"},
    }


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (_frame(1, "trade", 210.5), True),
        (_frame(1, "trade", 205), False),
        (_frame(1, "trade", ExactNumber("205.50000000000000001")), True),
        (_frame(1, "trade", "210"), None),
        (_frame(1, "trade", True), None),
        (_frame(1, "trade", None), None),
        (_frame(1, "ticker", 300), False),
        ({"event": "trade"}, None),
        ({"event": "trade", "data": [1]}, None),
        ([], False),
        (None, False),
        ("trade", False),
    ],
)
def test_trade_filter(document: Any, expected: Any) -> None:
    """The typical stream filter gives the reference's value on odd records too."""
    assert compile_expression(TRADE_FILTER)(document) is expected
    assert _reference(TRADE_FILTER, document) is expected


@pytest.mark.parametrize(
    "expression",
    [
        "a == `1`",
        "a == `0`",
        "a != `1`",
        "a == `true`",
        "a != `false`",
        "a == `null`",
        "a != `null`",
        "a == 'x'",
        "a != 'x'",
        "a == `[1]`",
        "a == `2.5`",
        "`1` == a",
        "`true` != a",
        "a > `1`",
        "`1` > a",
        "a <= `1.0`",
        "`2` >= a",
        "a < 'b'",
        "'b' <= a",
        "a > `true`",
        "a == b",
        "a != b",
        "a < b",
        "b.c == `1`",
    ],
)
@pytest.mark.parametrize(
    "value",
    [None, True, False, 0, 1, 1.0, 0.0, -0.0, 2, 2.5, "x", "a", "", [], [1], [True], {}, {"c": 1}],
)
def test_comparator_specialisations(expression: str, value: Any) -> None:
    """Each specialised comparison agrees with the reference for every kind of value."""
    for document in ({"a": value, "b": 1}, {"a": 1, "b": value}, {"b": {"c": value}}):
        _assert_same_as_reference(expression, document)


def test_exact_numbers_are_numbers() -> None:
    """ExactNumber compares as a number and is a number for the built-in functions."""
    price = ExactNumber("210.50000000000000001")
    document = {"data": {"price": price}, "prices": [ExactNumber("1e400"), 3, price]}
    assert compile_expression("data.price > `205`")(document) is True
    assert compile_expression("data.price == `210.5`")(document) is True
    assert compile_expression("abs(data.price)")(document) == 210.5
    assert compile_expression("type(data.price)")(document) == "number"
    assert compile_expression("max(prices)")(document) == float("inf")
    assert compile_expression("sort(prices)[0]")(document) == 3
    assert compile_expression("sort_by(prices[].{p: @}, &p)[0].p")(document) == 3
    assert compile_expression("max_by(prices[].{p: @}, &p).p")(document) == float("inf")
    with pytest.raises(FunctionError):
        compile_expression("floor(prices[0])")(document)


def test_evaluation_walks_no_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    """Compiled expressions, exprefs included, never call jmespath's tree interpreter."""
    document = {"people": [{"age": 3, "name": "x"}, {"age": 1, "name": "y"}], "event": "a"}
    compiled = [
        compile_expression(text)
        for text in [
            "sort_by(people, &age)[].name",
            "map(&age, people)",
            "max_by(people, &age).name",
            "people[?age > `1`].name | [0]",
            "event == 'a' && length(people) == `2`",
            "people[*].{n: name, a: age}",
        ]
    ]

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("tree interpreter called")

    monkeypatch.setattr(Visitor, "visit", refuse)
    monkeypatch.setattr(TreeInterpreter, "visit", refuse)
    assert [evaluate(document) for evaluate in compiled] == [
        ["y", "x"],
        [3, 1],
        "x",
        "x",
        True,
        [{"n": "x", "a": 3}, {"n": "y", "a": 1}],
    ]


def test_compiled_filter_agrees_with_reference_over_many_frames() -> None:
    """Over 30k frames the compiled trade filter keeps exactly what jmespath keeps.

    Speed is measured by bench/, never asserted here (shared, noisy machines).
    """
    frames = [
        _frame(seq, "trade" if seq % 3 else "ticker", 200.0 + seq % 11) for seq in range(30_000)
    ]
    compiled = compile_expression(TRADE_FILTER)
    reference = jmespath.compile(TRADE_FILTER)
    assert [bool(compiled(f)) for f in frames] == [bool(reference.search(f)) for f in frames]


# -- errors -------------------------------------------------------------------------


def test_expression_error_points_at_the_column() -> None:
    """A syntax error names the expression, the token and a 1-based column, with a caret."""
    with pytest.raises(ExpressionError) as raised:
        compile_expression("data.[]]")
    error = raised.value
    assert str(error) == "invalid JMESPath expression 'data.[]]': unexpected token '[]' at column 6"
    assert error.column == 6
    assert error.expression == "data.[]]"
    assert error.caret() == "  data.[]]\n       ^"
    assert isinstance(error, ValueError)


@pytest.mark.parametrize(
    ("expression", "column", "reason"),
    [
        ("", 1, "empty expression"),
        ("foo[", 5, "unexpected end of expression"),
        ("a == ", 6, "unexpected end of expression"),
        ("a = b", 3, "unexpected character '='"),
        ("a.`1`", 3, "unexpected literal"),
        ("a > 200", 5, "unexpected number 200 (write numbers in backticks: `200`)"),
        ("a > -1.5", 5, "unexpected number -1.5 (write numbers in backticks: `-1.5`)"),
        ("a.'x", 3, "unclosed ' delimiter"),
        ("abs(@, @)", 1, "abs() takes 1 argument, got 2"),
        ("x || not_null()", 6, "not_null() takes at least 1 argument, got 0"),
        ("a | nope(@)", 5, "unknown function nope()"),
        ("abs(@) | abs(@, @)", 10, "abs() takes 1 argument, got 2"),
        ("a[?abs(@) > `1`].abs(@, `1`)", 18, "abs() takes 1 argument, got 2"),
        ('"abs"(@)', 1, "a function name cannot be quoted"),
        ("a[1:2:0]", 7, "slice step cannot be 0"),
        ("a[0:0:0]", 7, "slice step cannot be 0"),
    ],
)
def test_expression_error_reasons(expression: str, column: int, reason: str) -> None:
    """Each kind of bad expression has a clear reason and the right column."""
    with pytest.raises(ExpressionError) as raised:
        compile_expression(expression)
    assert raised.value.column == column
    assert raised.value.reason == reason
    assert str(raised.value).splitlines() == [str(raised.value)]


TOKEN_SOUP = st.lists(
    st.sampled_from(
        ["a", "b", ".", "[", "]", "*", "?", "==", "<", "&&", "||", "!", "(", ")", "{", "}"]
        + [":", ",", "@", "&", "|", " ", "0", "-1", "`1`", "'x'", '"q"', "`", "'", '"', "="]
        + ["#", "\\", "\n", "abs", "sort_by"]
    ),
    min_size=1,
    max_size=10,
).map("".join)


@settings(max_examples=1500, deadline=None)
@given(text=TOKEN_SOUP)
def test_bad_syntax_is_always_an_expression_error(text: str) -> None:
    """Any text either compiles (as in jmespath) or raises ExpressionError with a sane column."""
    try:
        compile_expression(text)
    except ExpressionError as error:
        assert 1 <= error.column <= len(text) + 1
        assert "\n" not in str(error)
        assert len(error.caret().splitlines()) == 2
    else:
        jmespath.compile(text)


def test_expression_error_caret_stays_on_one_line() -> None:
    """A newline inside the expression does not break the message or the caret."""
    with pytest.raises(ExpressionError) as raised:
        compile_expression("a ==\n]")
    assert "\n" not in str(raised.value)
    assert raised.value.caret() == "  a == ]\n       ^"


def test_runtime_type_error_is_like_the_reference() -> None:
    """abs('x') raises JMESPathTypeError; safe() turns it into null."""
    compiled = compile_expression("abs(a)")
    with pytest.raises(exceptions.JMESPathTypeError):
        compiled({"a": "x"})
    with pytest.raises(exceptions.JMESPathTypeError):
        jmespath.search("abs(a)", {"a": "x"})
    assert safe(compiled)({"a": "x"}) is None
    assert safe(compiled)({"a": -2}) == 2


def test_escaping_python_errors_become_function_errors() -> None:
    """Where jmespath lets a Python error escape, evaluation raises a JMESPathError."""
    mixed = {"people": [{"k": 1}, {"k": "a"}]}
    with pytest.raises(TypeError):
        jmespath.search("max_by(people, &k)", mixed)
    with pytest.raises(FunctionError):
        compile_expression("max_by(people, &k)")(mixed)
    assert safe(compile_expression("max_by(people, &k)"))(mixed) is None
    assert safe(compile_expression("floor(to_number('inf'))"))(None) is None


def test_string_and_number_ordering_is_null() -> None:
    """'a' < 1 is null, as the spec says, where jmespath raises TypeError."""
    assert compile_expression("a < `1`")({"a": "x"}) is None
    assert compile_expression("`1` >= a")({"a": "x"}) is None
    assert compile_expression("a < b")({"a": 1, "b": "x"}) is None
    assert compile_expression("[?@ > `1`]")(["x", 2, 0]) == [2]


# -- the event pre-filter -----------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "names"),
    [
        ("event == 'trade'", {"trade"}),
        ("'trade' == event", {"trade"}),
        ('event == `"trade"`', {"trade"}),
        ("\"event\" == 'trade'", {"trade"}),
        ("@.event == 'trade'", {"trade"}),
        (TRADE_FILTER, {"trade"}),
        ("data.price > `205` && event == 'trade'", {"trade"}),
        ("(event == 'a' || event == 'b') && x", {"a", "b"}),
        ("event == 'a' || event == 'b' || event == 'c'", {"a", "b", "c"}),
        ("(event == 'a' || event == 'b') && (event == 'b' || event == 'c')", {"b"}),
        ("event == 'a' && event == 'b'", set()),
        ("!(event != 'a')", {"a"}),
    ],
)
def test_literal_event_names(expression: str, names: set[str]) -> None:
    """Expressions only truthy for some literal event names report exactly those names."""
    assert literal_event_names(expression) == frozenset(names)


@pytest.mark.parametrize(
    "expression",
    [
        "event != 'trade'",
        "!(event == 'a')",
        "event == 'a' || x",
        "x || event == 'a'",
        "event",
        "data.event == 'a'",
        "event == `1`",
        "event == other",
        "event > 'a'",
        "[?event == 'a']",
        "event == 'a' | @",
        "contains(['a', 'b'], event)",
        "!!(event == 'a')",
    ],
)
def test_literal_event_names_refuses_when_unsure(expression: str) -> None:
    """Anything not provably limited to literal event names gives None."""
    assert literal_event_names(expression) is None


@settings(max_examples=300, deadline=None)
@given(
    expression=st.recursive(
        st.one_of(
            st.sampled_from(["event == 'a'", "event == 'b'", "event != 'a'", "x", "`true`"]),
        ),
        lambda inner: st.one_of(
            st.builds("({}) && ({})".format, inner, inner),
            st.builds("({}) || ({})".format, inner, inner),
            st.builds("!({})".format, inner),
        ),
        max_leaves=6,
    ),
    event=st.sampled_from(["a", "b", "c", None]),
    x=st.sampled_from([True, False, None, 0, "", "s"]),
)
def test_literal_event_names_is_safe(expression: str, event: str | None, x: Any) -> None:
    """A record whose event is outside the reported names never matches."""
    names = literal_event_names(expression)
    if names is not None and event not in names:
        document = {"event": event, "x": x}
        result = compile_expression(expression)(document)
        assert result is None or result is False or result in ("", [], {})


def test_literal_event_names_rejects_bad_syntax() -> None:
    """An expression compile_expression refuses is an ExpressionError here too."""
    with pytest.raises(ExpressionError):
        literal_event_names("event ==")
    with pytest.raises(ExpressionError):
        literal_event_names("event == 'a' && nope(x)")
