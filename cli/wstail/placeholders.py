"""Socket.IO binary events: attachment placeholders in the event text, pure code.

A Socket.IO binary event is the JSON text of its event array, where every
Buffer was replaced by a placeholder, `{"_placeholder":true,"num":0}` (the
attachment's index), followed by the attachments' bytes. wstail keeps the
text exactly as received and the attachments beside it (a `sio` Frame's
`data["attachments"]`, a capture line's fifth element); the envelope's data
has each placeholder replaced by `{"_binary":"<base64>"}`.

Placeholders are found in the text itself (strings skipped), so that every
other byte of the event stays as received: numbers keep their digits.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from typing import Any

__all__ = [
    "BINARY_KEY",
    "attachments_of",
    "check_placeholders",
    "fill_placeholders",
    "filled_text",
    "placeholder_numbers",
    "with_bytes",
    "without_bytes",
]

BINARY_KEY = "_binary"

_WS = r"[ \t\n\r]*"
_NUM = r"(0|[1-9][0-9]{0,8})"
# A JSON string (skipped as is), or a placeholder object in either key order.
_SCAN = re.compile(
    r'"[^"\\]*(?:\\.[^"\\]*)*"'
    rf'|\{{{_WS}"_placeholder"{_WS}:{_WS}true{_WS},{_WS}"num"{_WS}:{_WS}{_NUM}{_WS}\}}'
    rf'|\{{{_WS}"num"{_WS}:{_WS}{_NUM}{_WS},{_WS}"_placeholder"{_WS}:{_WS}true{_WS}\}}',
    re.DOTALL,
)
_MARK = '"_placeholder"'


def _number(match: re.Match[str]) -> int | None:
    """The attachment index of a placeholder match; None for a skipped string."""
    found = match.group(1) or match.group(2)
    return None if found is None else int(found)


def placeholder_numbers(text: str) -> list[int]:
    """The attachment indexes of the placeholders written in `text`, in order."""
    if _MARK not in text:
        return []
    numbers = (_number(match) for match in _SCAN.finditer(text))
    return [number for number in numbers if number is not None]


def fill_placeholders(text: str, attachments: Sequence[bytes]) -> str:
    """`text` with each placeholder replaced by `{"_binary":"<base64>"}`, all else as is.

    A placeholder whose index has no attachment stays as it is.
    """
    if _MARK not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        number = _number(match)
        if number is None or number >= len(attachments):
            return match.group(0)
        encoded = base64.b64encode(attachments[number]).decode("ascii")
        return f'{{"{BINARY_KEY}":"{encoded}"}}'

    return _SCAN.sub(replace, text)


def _is_placeholder(value: dict[str, Any]) -> bool:
    return "_placeholder" in value


def check_placeholders(value: Any, text: str, count: int) -> str | None:
    """Why the placeholders of a decoded binary event (`text` decoded) are bad, or None.

    Each must be `{"_placeholder": true, "num": N}` with 0 <= N < count, written
    the usual way (so that the text can be filled in place).
    """
    numbers: list[int] = []
    stack = [value]
    while stack:  # depth first, in document order: no recursion limit
        item = stack.pop()
        if type(item) is list:
            stack.extend(reversed(item))
        elif type(item) is dict:
            if not _is_placeholder(item):
                stack.extend(reversed(list(item.values())))
                continue
            number = item.get("num")
            if item.keys() != {"_placeholder", "num"} or item["_placeholder"] is not True:
                return "bad attachment placeholder"
            if type(number) is not int or not 0 <= number < count:
                return f"attachment placeholder {number!r} out of range ({count} attachments)"
            numbers.append(number)
    if placeholder_numbers(text) != numbers:
        return "attachment placeholder written in an unusual way"
    return None


def with_bytes(value: Any, attachments: Sequence[bytes]) -> Any:
    """A decoded event with each placeholder replaced by its attachment's bytes."""
    if type(value) is list:
        return [with_bytes(item, attachments) for item in value]
    if type(value) is dict:
        number = value.get("num")
        if (
            value.get("_placeholder") is True
            and type(number) is int
            and 0 <= number < len(attachments)
        ):
            return attachments[number]
        return {key: with_bytes(item, attachments) for key, item in value.items()}
    return value


def without_bytes(value: Any, attachments: list[bytes]) -> Any:
    """A value with each bytes object replaced by a placeholder, appended to `attachments`."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        attachments.append(bytes(value))
        return {"_placeholder": True, "num": len(attachments) - 1}
    if type(value) is list or type(value) is tuple:
        return [without_bytes(item, attachments) for item in value]
    if type(value) is dict:
        return {key: without_bytes(item, attachments) for key, item in value.items()}
    return value


def attachments_of(data: dict[str, Any] | None) -> list[bytes] | None:
    """The attachments a `sio` Frame's data holds, or None for a plain event."""
    if data is None:
        return None
    found = data.get("attachments")
    return found if type(found) is list else None


def filled_text(text: str, data: dict[str, Any] | None) -> str:
    """A `sio` Frame's event text as its envelope reads it: the attachments in `data`
    (a binary event's) in place of their placeholders, base64; a plain event's as is."""
    attachments = attachments_of(data)
    return text if attachments is None else fill_placeholders(text, attachments)
