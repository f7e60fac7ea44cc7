"""Any feed's messages to items, by the rules a user gives (`tail ws URL`, `tail sio URL`).

Pure code. A message is the frame's JSON with every digit kept; a text that
is not JSON becomes a JSON string, a binary frame `{"_binary": "<base64>"}`.
For Socket.IO, the message is the event's argument (the list of arguments
when there are several, null with none) and the event name the Socket.IO
event's.

The rules, each a JMESPath expression (`Rules`):
- `each`: a list of elements, each its own envelope, in order; a message for
  which it gives anything but a list is one envelope of the whole message.
- `event_name`: the event (a string); read from the element first, then from
  the whole message; anything else gives the default (`message` for
  WebSocket frames, the Socket.IO event's name).
- `event_time`: `event_ts`, read the same way; a number (epoch seconds,
  milliseconds, microseconds or nanoseconds, told apart by size) or an
  RFC 3339 / ISO 8601 string; anything else gives null, never an error.

Event names beginning with `meta.` are wstail's own (lifecycle envelopes):
a feed's such name is kept behind an underscore (`_meta.x`).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from wstail.frames import Frame
from wstail.jsonexact import has_float, risky
from wstail.normalize import normalize_frame, normalizer_failed
from wstail.normalize.common import BadFrame, Item, bad_frame, decode_json, event_time
from wstail.placeholders import filled_text

__all__ = ["DEFAULT_EVENT", "GenericNormalizer", "Rules"]

DEFAULT_EVENT = "message"
"""The event name of a WebSocket message that no --event-name names."""

_RULE_OPTIONS = {"each": "--each", "event_name": "--event-name", "event_time": "--event-time"}


@dataclass(frozen=True, slots=True)
class Rules:
    """How a generic feed's messages become envelopes: --each, --event-name, --event-time."""

    each: str | None = None
    event_name: str | None = None
    event_time: str | None = None

    def as_header(self) -> dict[str, str]:
        """The rules given, for a capture header (keys as the options' long names)."""
        given = {"each": self.each, "event-name": self.event_name, "event-time": self.event_time}
        return {key: value for key, value in given.items() if value is not None}

    @classmethod
    def of_header(cls, feed: dict[str, Any]) -> Rules:
        """The rules a capture header's `feed` object holds (what is not a string is left out)."""

        def text(key: str) -> str | None:
            value = feed.get(key)
            return value if isinstance(value, str) and value else None

        return cls(text("each"), text("event-name"), text("event-time"))

    def replaced(self, other: Rules) -> Rules:
        """These rules with every rule `other` gives put in their place."""
        return Rules(
            other.each if other.each is not None else self.each,
            other.event_name if other.event_name is not None else self.event_name,
            other.event_time if other.event_time is not None else self.event_time,
        )


Compiled = Callable[[Any], Any]


class GenericNormalizer:
    """A generic feed's normalizer: frames (or their texts) to items, by its rules; never raises.

    `frame` is the general way (any Frame), `text` and `event` the short ways
    of replay and the live WebSocket path (a text frame's text, a Socket.IO
    event array's text); all three give the same items.
    """

    __slots__ = ("_each", "_name", "_time", "rules", "source")

    def __init__(self, rules: Rules, source: str) -> None:
        from wstail.filters import compile_jmespath  # jmespath loads only with a rule

        self.rules = rules
        self.source = source
        compiled: list[Compiled | None] = []
        for key, option in _RULE_OPTIONS.items():
            text = getattr(rules, key)
            compiled.append(None if text is None else compile_jmespath(text, option))
        self._each, self._name, self._time = compiled

    def __repr__(self) -> str:
        return f"GenericNormalizer({self.rules!r}, {self.source!r})"

    def frame(self, frame: Frame, source: str) -> list[Item]:
        """The items of any frame of the feed (the `Normalizer` signature)."""
        kind = frame.kind
        payload = frame.payload
        try:
            if type(payload) is str:
                if kind == "sio":
                    data = frame.data
                    return self.event(
                        payload if data is None else filled_text(payload, data), frame.channel
                    )
                if kind == "text":
                    return self.text(payload, source)
            elif kind == "binary" and isinstance(payload, (bytes, bytearray, memoryview)):
                encoded = base64.b64encode(bytes(payload)).decode("ascii")
                return self._items({"_binary": encoded}, DEFAULT_EVENT)
        except Exception as error:  # noqa: BLE001 - a bug must not stop a live tail
            return normalizer_failed(frame, self.source, error)
        return normalize_frame(frame, self.source)  # meta frames, and what no feed sends

    def text(self, text: str, source: str) -> list[Item]:
        """The items of a WebSocket text frame."""
        try:
            message = _decoded(text)
        except BadFrame as bad:
            return [bad_frame(self.source, bad.reason, text)]
        return self._items(message, DEFAULT_EVENT)

    def event(self, text: str, namespace: str) -> list[Item]:
        """The items of a Socket.IO event, from its array's JSON text."""
        try:
            array = _decoded(text)
        except BadFrame as bad:
            return [bad_frame(self.source, bad.reason, text)]
        if type(array) is not list or not array or type(array[0]) is not str:
            return [bad_frame(self.source, "not a Socket.IO event array", text)]
        arguments = array[1:]
        message = arguments[0] if len(arguments) == 1 else arguments or None
        return self._items(message, array[0])

    def _items(self, message: Any, default: str) -> list[Item]:
        source = self.source
        each, name, time = self._each, self._name, self._time
        if each is None and name is None and time is None:  # no rules: the message as it is
            return [(source, _own_name(default), None, message)]
        elements = each(message) if each is not None else None
        if type(elements) is not list:
            elements = [message]
            whole = None  # the element is the message: nothing else to fall back on
        else:
            whole = message
        items: list[Item] = []
        for element in elements:
            event = default
            if name is not None:
                value = name(element)
                if value is None and whole is not None:
                    value = name(whole)
                if type(value) is str and value:
                    event = value
            event_us = None
            if time is not None:
                value = time(element)
                if value is None and whole is not None:
                    value = time(whole)
                event_us = event_time(value)
            items.append((source, _own_name(event), event_us, element))
        return items


def _own_name(event: str) -> str:
    """The event name an envelope can carry: `meta.` names are wstail's own."""
    return "_" + event if event[:5] == "meta." else event


def _decoded(text: str) -> Any:
    """The JSON value of a text with every digit kept; the text itself when it is not JSON.

    BadFrame for JSON that cannot be carried (nested too deeply, lone surrogates).
    """
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        pass  # not JSON, or JSON orjson refuses (1e400, surrogates): the exact decoder says
    else:
        # orjson refuses lone surrogates, so the value can be written again; only a
        # float from a text with a number a double may not hold needs the exact decoder.
        kind = type(value)
        if kind is dict or kind is list:
            if not (risky(text) and has_float(value)):
                return value
        elif kind is not float or not risky(text):
            return value
    try:
        return decode_json(text)
    except BadFrame as bad:
        if bad.reason == "invalid JSON":
            return text
        raise
