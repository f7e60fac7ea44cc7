"""OpenBazaar node socket messages to items.

The node sends one JSON object per text frame; its keys say what it is
(`walletUpdate`, `wallet`, `notification`, `message`, ...). Every string went
through the node's HTML sanitizer and is unescaped here; v0.14 money amounts
arrive as integer strings and become numbers; `peerID` becomes `peerId`.
"""

from __future__ import annotations

from collections.abc import Callable
from html import unescape
from typing import Any

from wstail.normalize.common import (
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
    "LEGACY_NOTIFICATION_TYPES",
    "NUMERIC_FIELDS",
    "normalize_node_message",
    "normalize_node_text",
]

# Amounts, counts, heights and durations of the v0.13 and v0.14 shapes
# (v0.14 sends money as integer strings). Ids and ISO times are never converted.
NUMERIC_FIELDS = frozenset(
    {
        "amount",
        "averageRating",
        "coinDivisibility",
        "confirmations",
        "confirmed",
        "divisibility",
        "expiresIn",
        "followerCount",
        "followingCount",
        "fundingTotal",
        "height",
        "listingCount",
        "postCount",
        "priceModifier",
        "ratingCount",
        "unconfirmed",
        "value",
    }
)
BOOLEAN_FIELDS = frozenset({"canBumpFee", "moderator", "nsfw", "outgoing", "read", "vendor"})
_TYPED_FIELDS = NUMERIC_FIELDS | BOOLEAN_FIELDS

# v0.13 and older notification types, and the names current nodes use.
LEGACY_NOTIFICATION_TYPES = {"declined": "orderDeclined", "canceled": "cancel"}


def normalize_node_text(text: str, source: str) -> list[Item]:
    """Items from one node text frame (usually pretty-printed JSON)."""
    message = decode_once(text)  # then the general way if the fast one cannot vouch
    if type(message) is dict:
        floats: list[None] = []  # the walk's: one entry per float it met
        items = _normalize_walked(message, source, floats)
        if items is not None and decoded_exactly(text, floats):
            return items
    return normalize_node_text_exactly(text, source)


def normalize_node_text_exactly(text: str, source: str) -> list[Item]:
    """normalize_node_text the general way: decode_json first (for tests, and the rare case)."""
    try:
        message = decode_json(text)
    except BadFrame as bad:
        return [bad_frame(source, bad.reason, text)]
    if type(message) is not dict:
        return [(source, UNKNOWN, None, {"frame": message})]
    return normalize_node_message(message, source)


def normalize_node_message(message: dict[str, Any], source: str) -> list[Item]:
    """Items from one decoded node message; `unknown` with the message as received if not known."""
    if len(message) == 1:
        handler = _SINGLE_KEY.get(next(iter(message)))
    else:
        handler = _KEY_SETS.get(frozenset(message))
    if handler is not None:
        items = handler(message, source, [])
        if items is not None:
            return items
    return [(source, UNKNOWN, None, message)]


def _normalize_walked(
    message: dict[str, Any], source: str, floats: list[None]
) -> list[Item] | None:
    """normalize_node_message, when its handler's _convert walks every value; else None.

    Handlers only take single-key messages whose value they convert whole,
    and `walletUpdate` whose coins are all objects; `unknown` is never walked.
    """
    if len(message) == 1:
        key, value = next(iter(message.items()))
        handler = _SINGLE_KEY.get(key)
        if handler is _wallet_update and not (
            type(value) is dict and all(type(coin) is dict for coin in value.values())
        ):
            return None
    else:
        handler = _KEY_SETS.get(frozenset(message))
    return None if handler is None else handler(message, source, floats)


# A handler returns the items of a message, or None (having changed nothing)
# when the message is not of the documented shape; its walk puts each float
# it meets in the list it is given last.
_Handler = Callable[[dict[str, Any], str, list[None]], list[Item] | None]


def _wallet_update(message: dict[str, Any], source: str, floats: list[None]) -> list[Item] | None:
    coins = message["walletUpdate"]
    if type(coins) is not dict or not coins:
        return None
    items: list[Item] = []
    for code, coin in coins.items():
        if type(coin) is not dict:
            items.append((source, UNKNOWN, None, {"walletUpdate": {code: coin}}))
            continue
        coin = _convert(coin, floats)
        data: dict[str, Any] = {"currency": code}
        for field, value in coin.items():
            if field != "currency":
                data[field] = value
        if "currency" in coin:
            _merge_currency(data, code, coin["currency"])
        items.append((source, "wallet.balance", None, data))
    return items


def _merge_currency(data: dict[str, Any], code: str, currency: Any) -> None:
    """Flatten v0.14's `currency: {code, divisibility}` into a coin's data."""
    if type(currency) is dict:
        for field, value in currency.items():
            if field != "code":
                _put(data, field, value)
            elif value != code:
                _put(data, "currencyCode", value)
    elif currency != code:
        _put(data, "currencyCode", currency)


def _put(data: dict[str, Any], name: str, value: Any) -> None:
    while name in data:  # never overwrite a field of the coin itself
        name = "currency" + name[:1].upper() + name[1:]
    data[name] = value


def _inner(event: str) -> _Handler:
    """A handler for `{key: {...}}` messages: the inner object is the data."""

    def handle(message: dict[str, Any], source: str, floats: list[None]) -> list[Item] | None:
        inner = next(iter(message.values()))
        if type(inner) is not dict:
            return None
        data = _convert(inner, floats)
        return [(source, event, event_time(data.get("timestamp")), data)]

    return handle


def _notification(message: dict[str, Any], source: str, floats: list[None]) -> list[Item] | None:
    inner = message["notification"]
    if type(inner) is not dict or type(inner.get("type")) is not str or not inner["type"]:
        return None
    data = _convert(inner, floats)
    kind = data["type"]
    event = _NOTIFICATION_EVENTS.get(kind)
    if event is None:
        event = "notification." + LEGACY_NOTIFICATION_TYPES.get(kind, kind)
        if len(_NOTIFICATION_EVENTS) < 256:
            _NOTIFICATION_EVENTS[kind] = event
    return [(source, event, event_time(data.get("timestamp")), data)]


_NOTIFICATION_EVENTS: dict[str, str] = {}  # type -> event name, for the types met


def _status(message: dict[str, Any], source: str, floats: list[None]) -> list[Item] | None:
    status = message["status"]
    if type(status) is not str:
        return None
    return [(source, "status", None, {"status": unescape(status)})]


def _whole(event: str) -> _Handler:
    """A handler for messages whose data is the whole message (profile, rating replies)."""

    def handle(message: dict[str, Any], source: str, floats: list[None]) -> list[Item] | None:
        return [(source, event, None, _convert(message, floats))]

    return handle


_SINGLE_KEY: dict[str, _Handler] = {
    "walletUpdate": _wallet_update,
    "wallet": _inner("wallet.tx"),
    "notification": _notification,
    "message": _inner("chat.message"),
    "messageTyping": _inner("chat.typing"),
    "messageRead": _inner("chat.read"),
    "status": _status,
}

_KEY_SETS: dict[frozenset[str], _Handler] = {
    frozenset(keys): _whole(event)
    for event, keys in [
        ("profile", ("id", "peerId")),
        ("profile", ("id", "peerId", "profile")),
        ("profile", ("id", "peerID")),
        ("profile", ("id", "peerID", "profile")),
        ("profile.error", ("id", "peerId", "error")),
        ("profile.error", ("id", "peerID", "error")),
        ("profile.error", ("id", "error")),
        ("rating", ("id", "ratingId", "rating")),
        ("rating.error", ("id", "ratingId", "error")),
    ]
}


def _convert(obj: dict[str, Any], floats: list[None]) -> dict[str, Any]:
    """Unescape strings, then numeric and boolean strings to values; `peerID` to `peerId`.

    Works in place and returns the object, or a copy when a key was renamed
    (renaming in place would move the key to the end). Each float met goes in `floats`.
    """
    for key, value in obj.items():
        kind = type(value)
        if kind is str:
            if "&" in value:
                value = unescape(value)
                obj[key] = value
            if key in _TYPED_FIELDS:
                if key in NUMERIC_FIELDS:
                    obj[key] = to_number(value)
                else:
                    obj[key] = to_boolean(value)
        elif kind is dict:
            converted = _convert(value, floats)
            if converted is not value:
                obj[key] = converted
        elif kind is list:
            _convert_list(value, floats)
        elif kind is float:
            floats.append(None)
    if "peerID" in obj and "peerId" not in obj:
        return {("peerId" if key == "peerID" else key): value for key, value in obj.items()}
    return obj


def _convert_list(values: list[Any], floats: list[None]) -> None:
    for index, value in enumerate(values):
        kind = type(value)
        if kind is str:
            if "&" in value:
                values[index] = unescape(value)
        elif kind is dict:
            converted = _convert(value, floats)
            if converted is not value:
                values[index] = converted
        elif kind is list:
            _convert_list(value, floats)
        elif kind is float:
            floats.append(None)
