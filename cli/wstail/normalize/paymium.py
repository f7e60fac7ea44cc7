"""Paymium Socket.IO events to items.

Two generations of `stream` messages arrive: the 2015 `{"event", "payload"}`
shape of the seed document, and the keyed shape of the current server, where
one object holds only what changed (`ticker`, `trades`, `bids`, `asks`,
`prices`, `balance_*`, `locked_*`, `orders`). Both come out as the same items.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wstail.normalize.common import (
    PLAIN_NUMBER,
    UNKNOWN,
    BadFrame,
    Item,
    bad_frame,
    decode_json,
    decode_once,
    decoded_exactly,
    event_time,
    to_boolean,
    to_number,
)

__all__ = [
    "BOOLEAN_FIELDS",
    "NUMERIC_FIELDS",
    "PUBLIC",
    "USER",
    "normalize_paymium_event",
    "normalize_paymium_message",
]

PUBLIC = "paymium.public"
USER = "paymium.user"

# Fields that hold amounts, prices, rates or epoch times, in the socket shapes
# and the REST order/payment/account-operation shapes they embed. Ids (uuid,
# trade_id), ISO times and names are never converted.
NUMERIC_FIELDS = frozenset(
    {
        "amount",
        "ask",
        "at",
        "balance",
        "bid",
        "broker_price",
        "btc_amount",
        "btc_fee",
        "created_at_int",
        "currency_amount",
        "currency_fee",
        "expires_at",
        "fee",
        "high",
        "low",
        "midpoint",
        "open",
        "payment_split",
        "price",
        "size",
        "timestamp",
        "traded_btc",
        "traded_currency",
        "variation",
        "volume",
        "vwap",
    }
)
BOOLEAN_FIELDS = frozenset({"trading", "is_trading_account"})


def normalize_paymium_event(payload: str, channel: str) -> list[Item]:
    """Items from one Socket.IO event: `payload` is the JSON text of the event array."""
    event = decode_once(payload)  # then the general way if the fast one cannot vouch
    if type(event) is list and len(event) == 2 and event[0] == "stream":
        message = event[1]
        if type(message) is dict and not ("event" in message and "payload" in message):
            floats: list[None] = []  # the walk's: one entry per float it met
            source = USER if channel == "/user" else PUBLIC
            items = _keyed_items(message, source, floats)
            for item in items:
                if item[1] == UNKNOWN:  # it holds a value no handler walked
                    break
            else:
                if decoded_exactly(payload, floats):
                    return items
    return normalize_paymium_event_exactly(payload, channel)


def normalize_paymium_event_exactly(payload: str, channel: str) -> list[Item]:
    """normalize_paymium_event the general way: decode_json first (tests, the rare case)."""
    source = USER if channel == "/user" else PUBLIC
    try:
        event = decode_json(payload)
    except BadFrame as bad:
        return [bad_frame(source, bad.reason, payload)]
    if type(event) is not list or not event or type(event[0]) is not str:
        return [bad_frame(source, "not a Socket.IO event", payload)]
    name = event[0]
    args = event[1:]
    if len(args) == 1:
        arg = args[0]
        if name == "stream" and type(arg) is dict:
            return normalize_paymium_message(arg, source)
        if name == "announcement":
            if type(arg) is list:
                return [(source, "announcement", None, {"notices": arg})]
            if type(arg) is dict:
                return [(source, "announcement", None, arg)]
    return [(source, UNKNOWN, None, {"event": name, "args": args})]


def normalize_paymium_message(message: dict[str, Any], source: str) -> list[Item]:
    """Items from the object of one `stream` event, in the order of its keys."""
    if "event" in message and "payload" in message:
        return _normalize_2015(message, source)
    return _keyed_items(message, source, [])


def _keyed_items(message: dict[str, Any], source: str, floats: list[None]) -> list[Item]:
    """normalize_paymium_message of the keyed shape; the walks put each float they meet in
    `floats`."""
    items: list[Item] = []
    for key, value in message.items():
        handler = _KEY_HANDLERS.get(key)
        if handler is None:
            if key.startswith("balance_"):
                handler = _balance_available
            elif key.startswith("locked_"):
                handler = _balance_locked
        if handler is None or not handler(items, source, key, value, floats):
            items.append((source, UNKNOWN, None, {key: value}))
    if not items:  # an empty object: still one envelope
        items.append((source, UNKNOWN, None, message))
    return items


# -- the current keyed shape -------------------------------------------------
# A handler appends the items of one key and returns True, or returns False
# (having appended nothing) when the value is not of the documented shape;
# its walk puts each float it meets in the list it is given last.

_Handler = Callable[[list[Item], str, str, Any, list[None]], bool]


def _timestamp(record: dict[str, Any]) -> int | None:
    """A trade's or depth level's time."""
    return event_time(record.get("timestamp"))


def _ticker_time(ticker: dict[str, Any]) -> int | None:
    """A ticker's time (`at`, in seconds)."""
    return event_time(ticker.get("at"))


def _record_time(record: dict[str, Any]) -> int | None:
    """An order's or payment's time: its last update, else its creation."""
    us = event_time(record.get("updated_at"))
    return us if us is not None else event_time(record.get("created_at"))


def _no_time(record: dict[str, Any]) -> None:
    """Balances, notices and states carry no time of their own."""
    return None


def _ticker(items: list[Item], source: str, key: str, value: Any, floats: list[None]) -> bool:
    if type(value) is not dict:
        return False
    _convert(value, floats)
    items.append((source, "ticker", _ticker_time(value), value))
    return True


def _each(event: str, time_of: Callable[[dict[str, Any]], int | None] | None = None) -> _Handler:
    """A handler for a list key: one `event` item per object in the list.

    No `time_of`: the object's `timestamp` (trades, depth levels), whole
    seconds read inline (as event_time reads them), anything else by event_time.
    """

    def handle(items: list[Item], source: str, key: str, value: Any, floats: list[None]) -> bool:
        if type(value) is not list or not value:
            return False
        for entry in value:
            if type(entry) is dict:
                _convert(entry, floats)
                if time_of is not None:
                    us = time_of(entry)
                else:
                    at = entry.get("timestamp")
                    if type(at) is int and 0 < at < 100_000_000_000:
                        us = at * 1_000_000
                    else:
                        us = event_time(at)
                items.append((source, event, us, entry))
            else:
                items.append((source, UNKNOWN, None, {key: [entry]}))
        return True

    return handle


def _prices(items: list[Item], source: str, key: str, value: Any, floats: list[None]) -> bool:
    if type(value) is not dict:
        return False
    _convert(value, floats)
    latest: int | None = None
    for entry in value.values():
        if type(entry) is dict:
            us = event_time(entry.get("timestamp"))
            if us is not None and (latest is None or us > latest):
                latest = us
    items.append((source, "prices", latest, value))
    return True


def _balance(
    items: list[Item], source: str, key: str, value: Any, floats: list[None], trading: bool
) -> bool:
    currency = key.partition("_")[2].upper()
    kind = type(value)
    if not currency or not (kind is str or kind is int or isinstance(value, float)):
        return False  # bool is not int here: type() is compared, not isinstance
    if kind is str:
        value = to_number(value)
    elif kind is float:
        floats.append(None)
    items.append(
        (source, "balance", None, {"balance": value, "currency": currency, "trading": trading})
    )
    return True


def _balance_available(
    items: list[Item], source: str, key: str, value: Any, floats: list[None]
) -> bool:
    return _balance(items, source, key, value, floats, False)


def _balance_locked(
    items: list[Item], source: str, key: str, value: Any, floats: list[None]
) -> bool:
    return _balance(items, source, key, value, floats, True)


_KEY_HANDLERS: dict[str, _Handler] = {
    "ticker": _ticker,
    "trades": _each("trade"),
    "bids": _each("depth"),
    "asks": _each("depth"),
    "prices": _prices,
    "orders": _each("order", _record_time),
}


# -- the 2015 shape ------------------------------------------------------------

# 2015 event name: the normalized event and how to read its time.
_EVENTS_2015: dict[str, tuple[str, Callable[[dict[str, Any]], int | None]]] = {
    "new-trade": ("trade", _timestamp),
    "tick": ("ticker", _ticker_time),
    "update-market-depth": ("depth", _timestamp),
    "balance": ("balance", _no_time),
    "order": ("order", _record_time),
    "notice": ("notice", _no_time),
    "state": ("state", _no_time),
    "payment": ("payment", _record_time),
}


def _normalize_2015(message: dict[str, Any], source: str) -> list[Item]:
    name = message["event"]
    spec = _EVENTS_2015.get(name) if type(name) is str and len(message) == 2 else None
    if spec is not None:
        payload = message["payload"]
        if type(payload) is str:  # "<JSON-serialized order>": an object inside a string
            payload = _decode_object(payload)
        if type(payload) is dict:
            _convert(payload, [])  # (the 2015 shape is always read the general way)
            event, time_of = spec
            return [(source, event, time_of(payload), payload)]
    return [(source, UNKNOWN, None, message)]


def _decode_object(text: str) -> Any:
    try:
        value = decode_json(text)
    except BadFrame:
        return None
    return value if type(value) is dict else None


# -- values --------------------------------------------------------------------


def _convert(obj: dict[str, Any], floats: list[None]) -> None:
    """Numeric and boolean strings to JSON values, in place, at any depth; each float met
    goes in `floats`."""
    for key, value in obj.items():
        kind = type(value)
        if kind is str:
            if key in NUMERIC_FIELDS:
                if len(value) <= 16 and PLAIN_NUMBER(value) is not None:  # to_number, inline
                    obj[key] = float(value) if "." in value else int(value)
                else:
                    obj[key] = to_number(value)
            elif key in BOOLEAN_FIELDS:
                obj[key] = to_boolean(value)
        elif kind is dict:
            _convert(value, floats)
        elif kind is list:
            _convert_list(value, floats)
        elif kind is float:
            floats.append(None)


def _convert_list(values: list[Any], floats: list[None]) -> None:
    for value in values:
        kind = type(value)
        if kind is dict:
            _convert(value, floats)
        elif kind is list:
            _convert_list(value, floats)
        elif kind is float:
            floats.append(None)
