"""Pieces both normalizers share: items, safe decoding, numbers and times."""

from __future__ import annotations

import re
from typing import Any

import orjson

from wstail.envelope import epoch_to_us, iso_time_seen, time_to_us
from wstail.jsonexact import ExactNumber, dumps, loads_exact, number_from_string, risky

__all__ = [
    "BAD_FRAME",
    "UNKNOWN",
    "PLAIN_NUMBER",
    "BadFrame",
    "Item",
    "bad_frame",
    "decode_json",
    "decode_once",
    "decoded_exactly",
    "event_time",
    "to_boolean",
    "to_number",
]

Item = tuple[str, str, int | None, Any]
"""(source, event, event_us, data): one envelope to be, without seq and receive time."""

BAD_FRAME = "meta.bad_frame"
UNKNOWN = "unknown"


class BadFrame(ValueError):
    """A frame that cannot be decoded; `reason` says why in a few words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def bad_frame(source: str, reason: str, text: str) -> Item:
    """A `meta.bad_frame` item holding the text as received."""
    return (source, BAD_FRAME, None, {"reason": reason, "frame": _printable(text)})


def _printable(text: str) -> str:
    # A str from a replayed capture may hold lone surrogates, which no JSON
    # encoder accepts: spell them as escapes instead of losing the frame.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def decode_once(text: str) -> Any:
    """The fast way of decoding: orjson's value, or None where only decode_json will do.

    The exactness check of decode_json (a float from a text with a risky
    number, see jsonexact) then rides on the normalizer's own walk of the
    value: the walk appends to a list of its own call for each float it
    meets; call `decoded_exactly(text, floats)` once it is over, and take
    the general way (decode_json, from the text again) when it says no.
    Texts that could hold lone surrogates (non-ASCII, `\\u` escapes) and
    invalid JSON give None.
    """
    if not text.isascii() or "\\u" in text:
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None


def decoded_exactly(text: str, floats: list[None]) -> bool:
    """After decode_once and a walk of all of its value (which put each float it met in
    `floats`): whether every number kept its digits."""
    return not (floats and risky(text))


def decode_json(text: str) -> Any:
    """Decode JSON text exactly, or raise BadFrame.

    Beyond loads_exact, refuse what decodes but could not be serialized again
    inside an envelope: lone surrogates (the standard-library path of
    loads_exact accepts `"\\ud800"`). Depth is no concern of the output:
    jsonexact.dumps writes any depth the decoders read.
    """
    if not text.isascii():  # isascii() is O(1); a str from a capture may hold lone surrogates
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise BadFrame("lone surrogate in a string") from None
    try:
        value = loads_exact(text)
    except RecursionError:
        raise BadFrame("JSON nested too deeply") from None
    except ValueError as error:
        # Valid JSON nested beyond the decoders' limits (orjson: "depth limit
        # exceeded") is not invalid: say what it is.
        message = str(error)
        deep = "depth limit" in message or "nested too deeply" in message
        raise BadFrame("JSON nested too deeply" if deep else "invalid JSON") from None
    if "\\u" in text and ("\\ud" in text or "\\uD" in text):
        try:
            dumps(value)
        except Exception as error:  # orjson.JSONEncodeError
            if "surrogate" in str(error):
                raise BadFrame("lone surrogate in a string") from None
            raise BadFrame("JSON that cannot be written again") from None
    return value


# A decimal string a double (or an int) holds as written: at most 16 characters,
# so at most 15 digits once a point is among them.
PLAIN_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?", re.ASCII).fullmatch


def to_number(text: str) -> Any:
    """The JSON number a decimal string spells, with every digit; the string itself if none."""
    if len(text) <= 16 and PLAIN_NUMBER(text) is not None:  # amounts and prices
        return float(text) if "." in text else int(text)
    if not text.isascii():  # str.isdigit() accepts "٣" and "²"
        return text
    try:
        number = number_from_string(text)
    except ValueError:
        # int() refuses more than 4300 digits; the text already matched the
        # JSON number grammar, so it is a number that keeps its digits.
        return ExactNumber(text)
    return text if number is None else number


def to_boolean(text: str) -> Any:
    """True or False for "true"/"false"; the string itself otherwise."""
    if text == "true":
        return True
    if text == "false":
        return False
    return text


def event_time(value: Any) -> int | None:
    """Microseconds from a time field of any unit, or None; never raises."""
    kind = type(value)
    if kind is int and 0 < value < 100_000_000_000:  # seconds, as epoch_to_us reads them
        return value * 1_000_000
    if kind is str:
        us = iso_time_seen(value)  # the times of one second repeat
        if us is not None:
            return us
    try:
        if kind is int or kind is float:  # the common case, without time_to_us's dispatch
            return epoch_to_us(value)
        if value is None:
            return None
        return time_to_us(value)
    except (ArithmeticError, ValueError, TypeError):  # round(inf) in epoch_to_us
        return None
