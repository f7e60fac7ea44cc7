"""The envelope (README.md, "The envelope"): its keys, its times and its one serializer."""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import Any

from wstail.jsonexact import dumps

ENVELOPE_KEYS = ("seq", "recv_ts", "source", "event", "event_ts", "data")

Envelope = dict[str, Any]

_US = 1_000_000
_EPOCH_US_MIN = 0
# Epoch numbers are read by magnitude: seconds below 1e11 (year 5138), then
# milliseconds below 1e14, then microseconds below 1e17, then nanoseconds.
_MS_FROM = 1e11
_US_FROM = 1e14
_NS_FROM = 1e17
_MAX_US = 253402300799_999999  # 9999-12-31T23:59:59.999999Z

_prefixes: dict[int, str] = {}


_texts: dict[int, str] = {}


def format_us(us: int) -> str:
    """RFC 3339 UTC time with microseconds and `Z` from microseconds since the epoch."""
    # Times repeat: events of one second share theirs, the frames of one read theirs.
    text = _texts.get(us)
    if text is None:
        if len(_texts) >= 4096:
            _texts.clear()
        text = _texts[us] = format_new_us(us)
    return text


def format_new_us(us: int) -> str:
    """format_us for a time unlikely to come again (a frame's receive time): nothing cached."""
    second, micro = divmod(us, _US)
    prefix = _prefixes.get(second)
    if prefix is None:
        if len(_prefixes) >= 4096:
            _prefixes.clear()
        prefix = _prefixes[second] = time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(second))
    return prefix + str(micro + _US)[1:] + "Z"


def now_us() -> int:
    """The current time in microseconds since the epoch."""
    return time.time_ns() // 1000


def epoch_to_us(value: float) -> int | None:
    """Microseconds from an epoch number in s, ms, µs or ns (read by magnitude)."""
    if value != value or value <= 0 or value == float("inf"):  # NaN, 0 (deleted), <0, inf
        return None
    if value < _MS_FROM:
        us = round(value * _US)
    elif value < _US_FROM:
        us = round(value * 1000)
    elif value < _NS_FROM:
        us = round(value)
    else:
        us = round(value / 1000)
    return us if _EPOCH_US_MIN < us <= _MAX_US else None


_FRACTION = re.compile(r"(\.\d{6})\d+")


_iso_cache: dict[str, int | None] = {}


def iso_to_us(text: str) -> int | None:
    """Microseconds from an ISO 8601 time with offset or `Z`; None if not one."""
    # Events of one second share their time text: remember the last few thousand.
    us = _iso_cache.get(text, _MISSING)
    if us is _MISSING:
        if len(_iso_cache) >= 4096:
            _iso_cache.clear()
        us = _iso_cache[text] = _parse_iso(text)
    return us


_MISSING: Any = object()


def iso_time_seen(text: str) -> int | None:
    """What iso_to_us gave `text` lately, if anything (None if not seen, or not a time)."""
    return _iso_cache.get(text)


def _parse_iso(text: str) -> int | None:
    try:
        moment = datetime.fromisoformat(
            _FRACTION.sub(r"\1", text, count=1) if "." in text else text
        )
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None  # a time without offset has no defined instant
    return _datetime_to_us(moment)


def _datetime_to_us(moment: datetime) -> int | None:
    delta = moment - _EPOCH
    us = (delta.days * 86400 + delta.seconds) * _US + delta.microseconds
    return us if _EPOCH_US_MIN < us <= _MAX_US else None


_EPOCH = datetime.fromisoformat("1970-01-01T00:00:00+00:00")


def time_to_us(value: Any) -> int | None:
    """Microseconds from an event's own time field, whatever its form; None if none."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return epoch_to_us(value)
    if isinstance(value, str):
        if value[:1].isdigit() and ("-" in value[1:] or "T" in value):
            return iso_to_us(value)
        try:
            return epoch_to_us(float(value))
        except ValueError:
            return None
    return None


def make_envelope(
    seq: int, recv_us: int, source: str, event: str, event_us: int | None, data: Any
) -> Envelope:
    """Build an envelope with the keys in the documented order."""
    return make_envelope_at(seq, format_us(recv_us), source, event, event_us, data)


def make_envelope_at(
    seq: int, recv_ts: str, source: str, event: str, event_us: int | None, data: Any
) -> Envelope:
    """Build an envelope with the keys in the documented order, its receive time formatted."""
    return {
        "seq": seq,
        "recv_ts": recv_ts,
        "source": source,
        "event": event,
        "event_ts": None if event_us is None else format_us(event_us),
        "data": data,
    }


def serialize(envelope: Any) -> bytes:
    """Compact JSON bytes of an envelope (or any JSON value), no newline."""
    return dumps(envelope)
