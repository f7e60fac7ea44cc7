"""JSON that never changes a number: exact decoding, decimal strings to numbers.

orjson is fast but turns integers beyond 64 bits and decimals with more than
~15 significant digits into the nearest double, and reads `1e-400` as 0.0.
`loads_exact` takes orjson's path only when the text provably holds no such
number, and otherwise parses with the standard library, keeping every digit
in an `ExactNumber`: a float (so JMESPath compares it as a number) that
serializes as the digits received.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

__all__ = [
    "NUMBER_SHAPES",
    "RISKY_SHAPES",
    "ExactNumber",
    "JSONDecodeError",
    "dumps",
    "json_default",
    "loads_exact",
    "number_from_string",
    "risky",
]

JSONDecodeError = json.JSONDecodeError

# A number token that a double may not hold: 16+ digits (the decimal point may
# sit among them), or an exponent of 3+ digits. Found inside strings too, which
# only sends that text down the exact (slower) path. Looked for in the text's
# bytes with digits and points all made "9", e/E "e" and signs "+": three
# substring searches, where a regular expression costs ~5x as much.
NUMBER_SHAPES = bytes.maketrans(b"0123456789.eE-", b"99999999999ee+")
RISKY_SHAPES = (b"9" * 16, b"e999", b"e+999")
_LONG_RUN, _EXPONENT, _SIGNED_EXPONENT = RISKY_SHAPES

# JSON's number grammar: a string of this form is a decimal string.
_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?", re.ASCII)

_INT64_MIN = -(2**63)
_UINT64_MAX = 2**64 - 1


class ExactNumber(float):
    """A number a double cannot print back: compares as a float, prints its digits."""

    __slots__ = ("text",)
    text: str

    def __new__(cls, text: str) -> ExactNumber:
        try:
            value = float(text)
        except OverflowError:  # pragma: no cover - float() returns inf instead
            value = float("inf")
        number = super().__new__(cls, value)
        number.text = text
        return number

    def __repr__(self) -> str:
        return self.text

    def __reduce__(self) -> tuple[Any, ...]:
        return (ExactNumber, (self.text,))


def _exact_float(text: str) -> float:
    value = float(text)
    if value not in (float("inf"), float("-inf")):
        try:
            if Decimal(repr(value)) == Decimal(text):
                return value
        except InvalidOperation:  # pragma: no cover - text is a JSON number
            pass
    return ExactNumber(text)


def _exact_int(text: str) -> int | float:
    if len(text) <= 18:
        return int(text)
    if len(text) > 21:  # beyond 64 bits for sure; int() refuses > 4300 digits anyway
        return ExactNumber(text)
    value = int(text)
    return value if _INT64_MIN <= value <= _UINT64_MAX else ExactNumber(text)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_exact_decoder = json.JSONDecoder(
    parse_float=_exact_float, parse_int=_exact_int, parse_constant=_reject_constant
)


def has_float(value: Any) -> bool:
    """Whether a list or dict holds a float at any depth (orjson's value of a JSON text)."""
    # orjson reads integers beyond 64 bits as floats too: no float, nothing rounded.
    stack = [value]
    while stack:
        node = stack.pop()
        for item in node.values() if type(node) is dict else node:
            kind = type(item)
            if kind is float:
                return True
            if kind is dict or kind is list:
                stack.append(item)
    return False


def risky(text: str | bytes) -> bool:
    """Whether a JSON text may hold a number a double cannot: 16+ digits or a 3-digit exponent."""
    data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    shapes = data.translate(NUMBER_SHAPES)
    return _LONG_RUN in shapes or _EXPONENT in shapes or _SIGNED_EXPONENT in shapes


def _decode_exact(text: str | bytes) -> Any:
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    try:
        return _exact_decoder.decode(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def loads_exact(text: str | bytes) -> Any:
    """Decode JSON text, keeping every digit of every number.

    orjson decodes first; only a result holding a float, from a text with a
    number a double may not hold, is decoded again exactly. Raises ValueError
    on invalid JSON, NaN and Infinity included.
    """
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        # orjson refuses 1e400 ("number is infinity"); the exact decoder reads it.
        if not risky(text):
            raise
        return _decode_exact(text)
    kind = type(value)
    if (kind is float or ((kind is dict or kind is list) and has_float(value))) and risky(text):
        return _decode_exact(text)
    return value


def number_from_string(text: str) -> int | float | None:
    """The number a decimal string spells, with no change of value; None if not one."""
    if len(text) <= 15 and text.isascii() and text.isdigit():
        return int(text) if text[0] != "0" or text == "0" else None
    if _DECIMAL.fullmatch(text) is None:
        return None
    if "e" in text or "E" in text:
        return _exact_float(text)
    if "." not in text:
        return _exact_int(text)
    if len(text) <= 16:  # a point among at most 15 digits: a double holds it
        return float(text)
    return _exact_float(text)


def json_default(obj: Any) -> Any:
    """orjson `default`: exact numbers as their digits, big ints likewise."""
    if isinstance(obj, ExactNumber):
        return orjson.Fragment(obj.text)
    if isinstance(obj, int):
        return orjson.Fragment(str(obj))
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def dumps(obj: Any, option: int = 0) -> bytes:
    """Serialize compactly with orjson, keeping exact numbers exact; any depth.

    `option` is 0 or orjson.OPT_INDENT_2.
    """
    try:
        return orjson.dumps(obj, default=json_default, option=option)
    except orjson.JSONEncodeError:
        # orjson refuses ints beyond 64 bits before calling `default`, and
        # documents nested deeper than 254 levels: write those without it.
        return _dumps_any_depth(obj, indent=bool(option & orjson.OPT_INDENT_2))


def _scalar(value: Any) -> bytes:
    if isinstance(value, int) and not isinstance(value, bool):
        if not _INT64_MIN <= value <= _UINT64_MAX:
            return str(value).encode("ascii")
    return orjson.dumps(value, default=json_default)


def _dumps_any_depth(obj: Any, indent: bool) -> bytes:
    """The text orjson writes (compact or OPT_INDENT_2), with a loop instead of recursion.

    Containers and big ints here; every other value goes through orjson, so
    strings, floats and exact numbers read exactly as orjson writes them.
    Raises orjson.JSONEncodeError (a TypeError) on what orjson refuses.
    """
    out: list[bytes] = []
    # One entry per open container: its remaining items, whether it is an
    # object, and how many items were written.
    stack: list[tuple[Iterator[Any], bool, list[int]]] = []
    value = obj
    while True:
        if isinstance(value, dict) and value:
            out.append(b"{")
            stack.append((iter(value.items()), True, [0]))
        elif isinstance(value, (list, tuple)) and value:
            out.append(b"[")
            stack.append((iter(value), False, [0]))
        elif isinstance(value, (dict, list, tuple)):
            out.append(b"{}" if isinstance(value, dict) else b"[]")
        else:
            out.append(_scalar(value))
        while stack:
            items, is_object, written = stack[-1]
            item = next(items, _END)
            depth = len(stack)
            if item is _END:
                stack.pop()
                if indent:
                    out.append(b"\n" + b"  " * (depth - 1))
                out.append(b"}" if is_object else b"]")
                continue
            if written[0]:
                out.append(b",")
            written[0] += 1
            if indent:
                out.append(b"\n" + b"  " * depth)
            if is_object:
                key, value = item
                if not isinstance(key, str):
                    raise orjson.JSONEncodeError("Dict key must be str")
                out.append(orjson.dumps(key))
                out.append(b": " if indent else b":")
            else:
                value = item
            break
        else:
            return b"".join(out)


_END: Any = object()
