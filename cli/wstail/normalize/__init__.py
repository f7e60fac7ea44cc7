"""Normalizers: frames in, (source, event, event_us, data) items out.

Pure code: no I/O, no clock. `normalize_frame` never raises and never drops a
frame: what it does not recognise becomes an `unknown` item holding the frame
as received, and what is not JSON at all a `meta.bad_frame` item holding the
text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from wstail.frames import Frame
from wstail.normalize.common import BAD_FRAME, UNKNOWN, Item, bad_frame
from wstail.normalize.node import normalize_node_message, normalize_node_text
from wstail.normalize.paymium import (
    PUBLIC,
    USER,
    normalize_paymium_event,
    normalize_paymium_message,
)
from wstail.placeholders import filled_text

__all__ = [
    "BAD_FRAME",
    "INTERNAL_ERROR",
    "NORMALIZE_VERSION",
    "UNKNOWN",
    "Item",
    "Normalizer",
    "Reading",
    "normalize_frame",
    "normalize_node_frame",
    "normalize_paymium_frame",
    "normalize_node_message",
    "normalize_node_text",
    "normalize_paymium_event",
    "normalize_paymium_message",
    "normalizer_failed",
]

# How the normalizers count: bump it whenever a change makes some frame give
# another number of envelopes (items), so that capture indexes made before
# (wstail.index) are no longer trusted for sequence numbers.
NORMALIZE_VERSION = 1

# The bad_frame reason when a normalizer bug raised; tests assert it never appears.
INTERNAL_ERROR = "internal normalizer error"

Normalizer = Callable[[Frame, str], list[Item]]
"""A feed's normalizer: one frame (and the feed's source name) to its items; never raises."""


@dataclass(frozen=True, slots=True)
class Reading:
    """How a feed's frames become items: the general way, and the short ways of replay.

    The short ways take a capture line's text without a Frame: `event` a
    Socket.IO event array's text and its namespace, `text` a WebSocket text
    frame's text and the source. All three give the same items for a frame.
    """

    frame: Normalizer
    event: Callable[[str, str], list[Item]]
    text: Callable[[str, str], list[Item]]


def normalize_paymium_frame(frame: Frame, source: str) -> list[Item]:
    """The items of a Paymium feed's frame: Socket.IO events the short way, never raises."""
    payload = frame.payload
    if frame.kind == "sio" and type(payload) is str:
        try:
            if frame.data is not None:  # a binary event: its bytes go in place, base64
                payload = filled_text(payload, frame.data)
            return normalize_paymium_event(payload, frame.channel)
        except Exception as error:  # noqa: BLE001 - a bug must not stop a live tail
            return normalizer_failed(frame, source, error)
    return normalize_frame(frame, source)


def normalize_node_frame(frame: Frame, source: str) -> list[Item]:
    """The items of an OpenBazaar node's frame: text frames the short way, never raises."""
    payload = frame.payload
    if frame.kind == "text" and type(payload) is str:
        try:
            return normalize_node_text(payload, source)
        except Exception as error:  # noqa: BLE001 - a bug must not stop a live tail
            return normalizer_failed(frame, source, error)
    return normalize_frame(frame, source)


def normalize_frame(frame: Frame, source: str) -> list[Item]:
    """The items of one frame, in the frame's order; never raises.

    Socket.IO frames take their source from the namespace (`/user` gives
    `paymium.user`, anything else `paymium.public`); the other kinds use
    `source`.
    """
    try:
        # The two common cases first, one call shorter.
        payload = frame.payload
        if type(payload) is str:
            kind = frame.kind
            if kind == "text":
                return normalize_node_text(payload, source)
            if kind == "sio" and frame.data is None:
                return normalize_paymium_event(payload, frame.channel)
        return _normalize(frame, source)
    except Exception as error:  # a bug must not stop a live tail: keep the frame, say so
        return normalizer_failed(frame, source, error)


def normalizer_failed(frame: Frame, source: str, error: Exception) -> list[Item]:
    """The bad_frame item of a frame whose normalizer raised (every way of reading the same)."""
    if frame.kind == "sio":
        source = USER if frame.channel == "/user" else PUBLIC
    # Valid JSON nested ~1000 levels deep exhausts Python's stack in a normalizer.
    reason = "JSON nested too deeply" if isinstance(error, RecursionError) else INTERNAL_ERROR
    return [bad_frame(source, reason, _text(frame.payload))]


def _normalize(frame: Frame, source: str) -> list[Item]:
    kind = frame.kind
    payload = frame.payload
    if kind == "sio":
        if type(payload) is not str:
            text = _utf8(payload)
            if text is None:
                source = USER if frame.channel == "/user" else PUBLIC
                return [bad_frame(source, "invalid UTF-8", _text(payload))]
            payload = text
        elif frame.data is not None:  # a binary event: its bytes go in place, base64
            payload = filled_text(payload, frame.data)
        return normalize_paymium_event(payload, frame.channel)
    if kind == "text" or kind == "binary":
        if type(payload) is not str:
            text = _utf8(payload)
            if text is None:
                return [bad_frame(source, "invalid UTF-8", _text(payload))]
            payload = text
        return normalize_node_text(payload, source)
    if kind == "meta":
        return [(source, _text(payload), None, frame.data or {})]
    return [bad_frame(source, f"unknown frame kind {kind!r}", _text(payload))]


def _utf8(payload: object) -> str | None:
    """The text of bytes that are valid UTF-8, else None."""
    if isinstance(payload, (bytes, bytearray, memoryview)):
        try:
            return bytes(payload).decode("utf-8")
        except UnicodeDecodeError:
            return None
    return None


def _text(payload: object) -> str:
    """Any payload as text, for a bad_frame item: bytes decoded with replacement."""
    if isinstance(payload, str):
        return payload
    if isinstance(payload, (bytes, bytearray, memoryview)):
        return bytes(payload).decode("utf-8", errors="replace")
    return repr(payload)
