"""Record the bundled sample captures (cli/wstail/data/*.jsonl) from the test peers.

    .venv/bin/python tools/make_samples.py [--out DIR] [--only public|user|node|ws|sio ...]

Not a test module (pytest collects test_*.py only): a script to rerun when the
samples should change. It plays one scripted session per sample on a real
server on 127.0.0.1 and records it with `wstail record ... -n N`, the way a
user records the live feeds:

- public, user: the official socket.io 1.7 server (tests/peers/paymium_server.js;
  the live Paymium server is Socket.IO 1.x) emits the messages itself, so
  the frames are what socket.io 1.x writes, Engine.IO 3 on the wire;
- node: the node-like `websockets` server of tests/helpers/node_peers.py sends each
  message the way openbazaar-go's SanitizeJSON writes it (HTML-escaped
  strings, null fields dropped, sorted keys, 4-space indent, Go's `\\u0026`);
- ws (`tail ws`): a made-up exchange's trade stream, Kraken v2 style, from a
  `websockets` server that sends its status on connect and the rest only once
  the recorder sent its subscribe message (`--send`); recorded with the rules
  `--each data --event-name channel --event-time ts`, which its header keeps;
- sio (`tail sio`): a made-up prices app on python-socketio (Socket.IO 5,
  Engine.IO 4) in its own namespace /prices, sending `quote` and `trade`
  events once the recorder emitted `subscribe` (`--emit`), recorded with
  `--event-time ts`.

Every event kind of PROTOCOLS.md appears at least once, with gaps of a few
hundred milliseconds (10-20 s of recorded time per sample). The event times
inside the messages follow the wall clock of the recording.

What is changed after recording: only the URL of the 127.0.0.1 test server
(its port differs on every run), in the capture header and in the
`meta.connected` line, is rewritten to what a recording of the real
endpoint holds: `https://paymium.com` (`wstail record`'s default --url, as
given), `ws://127.0.0.1:4002/ws`, and for the made-up feeds
`wss://stream.example.com/v2` and `https://app.example.com` (their
envelopes' source is given with --name, as the URL would name it). The
frames are as recorded, byte for byte. The script then checks each sample: every expected event name
replays, nothing but the recorded frames and one meta.connected, under 64
KiB, and no channel ID anywhere (the user's channel ID never reaches a
capture; the payment channel's ID is the payment's own `uuid`, which the
server sends inside the payment messages, and appears only there).
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from wstail.frames import Frame
from wstail.normalize import normalize_frame
from wstail.normalize.generic import GenericNormalizer, Rules

ROOT = Path(__file__).resolve().parent.parent
# The servers a sample is recorded from are the test suite's own peers.
sys.path.insert(0, str(ROOT / "tests"))

from helpers.node_peers import NodePeer  # noqa: E402
from helpers.sio_peers import NodeSioPeer, ensure_node_modules, scaled  # noqa: E402

DATA = ROOT / "cli" / "wstail" / "data"
WSTAIL = [sys.executable, "-m", "wstail"]
MAX_SIZE = 64 * 1024
CANONICAL_URL = {"public": "https://paymium.com", "user": "https://paymium.com"}
CANONICAL_NODE_URL = "ws://127.0.0.1:4002/ws"
CONNECT_DELAY = 0.3  # s from building a Paymium session to the recorder joining
SOURCE = {
    "public": "paymium.public",
    "user": "paymium.user",
    "node": "node",
    "ws": "stream.example.com",
    "sio": "app.example.com/prices",
}
# The made-up feeds: where they would be, what a user gives `record` for them.
WS_PATH = "/v2"
CANONICAL_WS_URL = "wss://stream.example.com" + WS_PATH
WS_SUBSCRIBE = {"method": "subscribe", "params": {"channel": "trade", "symbol": ["BTC/EUR"]}}
WS_RULES = Rules(each="data", event_name="channel", event_time="ts")
CANONICAL_SIO_URL = "https://app.example.com"
SIO_NAMESPACE = "/prices"
SIO_SUBSCRIBE = ("subscribe", {"pair": "BTC-EUR"})
SIO_RULES = Rules(event_time="ts")

# Each session reseeds: a rerun sends the same messages, only their times differ.
SEED = 20261123
rng = random.Random(SEED)


def gap() -> int:
    """A realistic pause between two messages, in ms."""
    return rng.choice((180, 220, 250, 300, 350, 400, 450, 500, 600))


@dataclass
class Session:
    """A scripted session: messages with the pause (ms) before each, and the clock they follow."""

    start: float = field(default_factory=time.time)
    elapsed_ms: int = 0
    steps: list[tuple[int, Any]] = field(default_factory=list)

    def after(self, pause_ms: int | None = None) -> float:
        """Advance the planned clock; the (unix) time of the next message."""
        pause = gap() if pause_ms is None else pause_ms
        self.elapsed_ms += pause
        return self.start + self.elapsed_ms / 1000 - rng.uniform(0.02, 0.15)

    def add(self, pause_ms: int, message: Any) -> None:
        """Append a message sent `pause_ms` after the previous one."""
        self.steps.append((pause_ms, message))


def iso_ms(at: float) -> str:
    """Rails' JSON time: UTC with milliseconds."""
    moment = datetime.fromtimestamp(at, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def go_time(at: float, offset_hours: int = -5) -> str:
    """Go's time.Time in JSON (RFC 3339 nano, trailing zeros cut), in the node's time zone."""
    moment = datetime.fromtimestamp(at, timezone(timedelta(hours=offset_hours)))
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{moment.microsecond:06d}".rstrip("0")
    zone = moment.strftime("%z")
    return f"{stamp}{'.' + fraction if fraction else ''}{zone[:3]}:{zone[3:]}"


def euro(value: float) -> str:
    """A EUR amount as the current server writes it."""
    return f"{value:.2f}"


def btc(value: float) -> str:
    """A BTC amount as the current server writes it."""
    return f"{value:.8f}"


# -- Paymium public ----------------------------------------------------------------------


def public_session(start: float) -> Session:
    """A few seconds of the public feed: both message generations, every event kind."""
    rng.seed(SEED)
    s = Session(start)
    price = 76398.11
    last_trade = s.start - 40

    def ticker(at: float, size: float) -> dict[str, Any]:
        return {
            "high": "77990.00",
            "low": "76102.35",
            "volume": "41.20817625",
            "bid": euro(price - 37.37),
            "ask": euro(price + 2.89),
            "midpoint": euro(price - 17.24),
            "vwap": "77012.66",
            "at": int(at),
            "price": euro(price),
            "open": "77211.40",
            "variation": f"{(price / 77211.40 - 1) * 100:.2f}",
            "currency": "EUR",
            "trade_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "size": btc(size),
        }

    def level(side: str, at: float, level_price: float, amount: float) -> dict[str, Any]:
        deleted = amount == 0
        return {
            "amount": "0" if deleted else btc(amount),
            "price": euro(level_price),
            "category": side,
            "currency": "EUR",
            "timestamp": 0 if deleted else int(at),
        }

    def trade(at: float, size: float) -> dict[str, Any]:
        return {
            "price": euro(price),
            "traded_btc": btc(size),
            "timestamp": int(at * 1000),
            "currency": "EUR",
        }

    def prices(at: float) -> dict[str, Any]:
        return {
            "btceur": {
                "base_currency": "BTC",
                "quote_currency": "EUR",
                "price": euro(price),
                "broker_price": euro(price * 1.01),
                "timestamp": int(at),
                "variation": f"{(price / 77211.40 - 1) * 100:.2f}",
            }
        }

    announcement = [
        {
            "id": 218,
            "level": "info",
            "message": "SEPA withdrawals are processed on business days before 14:00 CET",
        }
    ]

    at = s.after(0)
    s.add(0, ("stream", {"ticker": ticker(last_trade, 0.0125)}))
    at = s.after(pause := gap())
    s.add(pause, ("stream", {"asks": [level("sell", at, 76401.00, 0.05245168)]}))
    at = s.after(pause := gap())
    bids = [level("buy", at, 76361.00, 0), level("buy", at, 76360.74, 0.71200000)]
    s.add(pause, ("stream", {"bids": bids}))
    at = s.after(pause := gap())
    price = 76401.00
    s.add(
        pause,
        (
            "stream",
            {
                "trades": [trade(at - 0.003, 0.05245168), trade(at - 0.002, 0.19754832)],
                "asks": [level("sell", at, 76401.00, 0)],
                "ticker": ticker(at, 0.25),
            },
        ),
    )
    at = s.after(pause := gap())
    s.add(pause, ("stream", {"asks": [level("sell", at, 76405.12, 1.10000000)]}))
    at = s.after(pause := gap())
    s.add(pause, ("stream", {"prices": prices(at)}))
    at = s.after(pause := gap())
    s.add(pause, ("stream", {"bids": [level("buy", at, 76380.00, 0.40000000)]}))
    at = s.after(pause := gap())
    s.add(pause, ("announcement", announcement))
    at = s.after(pause := gap())
    price = 76405.12
    s.add(pause, ("stream", {"trades": [trade(at, 0.01000000)]}))
    at = s.after(pause := gap())
    s.add(
        pause,
        (
            "stream",
            {
                "bids": [level("buy", at, 76380.00, 0.25000000)],
                "asks": [level("sell", at, 76405.12, 1.09000000), level("sell", at, 76420, 0.3)],
            },
        ),
    )
    # A server still writing the 2015 messages (one event per message, JSON
    # numbers; the ticker serialized into a string, as the 2015 document shows).
    at = s.after(pause := gap())
    price = 76405.12
    s.add(
        pause,
        (
            "stream",
            {
                "event": "new-trade",
                "payload": {
                    "price": price,
                    "traded_btc": 0.0321,
                    "timestamp": int(at * 1000),
                    "currency": "EUR",
                },
            },
        ),
    )
    at = s.after(pause := gap())
    tick = {
        "high": 77990.0,
        "low": 76102.35,
        "volume": 41.55,
        "bid": 76380.0,
        "ask": 76405.12,
        "midpoint": 76392.56,
        "vwap": 77009.8,
        "at": int(at),
        "price": price,
        "variation": -1.04,
        "currency": "EUR",
    }
    s.add(pause, ("stream", {"event": "tick", "payload": json.dumps(tick, separators=(",", ":"))}))
    at = s.after(pause := gap())
    depth = {"category": "sell", "timestamp": int(at), "amount": 1.0579, "price": price}
    s.add(
        pause,
        ("stream", {"event": "update-market-depth", "payload": {**depth, "currency": "EUR"}}),
    )
    # And back to the current shape until the next prices and announcement (~10 s).
    for index in range(14):
        at = s.after(pause := gap())
        if index % 5 == 4:
            s.add(pause, ("stream", {"trades": [trade(at, rng.choice((0.0042, 0.12, 0.5)))]}))
            continue
        side = rng.choice(("buy", "sell"))
        base = 76380.00 if side == "buy" else 76405.12
        step = -1 if side == "buy" else 1
        moved = base + step * rng.choice((0, 1.5, 4.88, 12.0))
        amount = rng.choice((0, 0.015, 0.2, 0.5, 2.1))
        s.add(
            pause,
            ("stream", {("bids" if side == "buy" else "asks"): [level(side, at, moved, amount)]}),
        )
    at = s.after(pause := gap())
    price = 76380.00
    s.add(
        pause,
        (
            "stream",
            {
                "trades": [trade(at, 0.25000000)],
                "bids": [level("buy", at, 76380.00, 0)],
                "ticker": ticker(at, 0.25),
            },
        ),
    )
    at = s.after(pause := gap())
    s.add(pause, ("stream", {"prices": prices(at)}))
    s.after(pause := gap())
    s.add(pause, ("announcement", announcement))
    return s


# -- Paymium user ------------------------------------------------------------------------


def user_session(start: float, payment_uuid: str) -> Session:
    """An order placed, partly then fully filled, and a merchant payment paid; both generations."""
    rng.seed(SEED + 1)
    s = Session(start)
    order_uuid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    created = s.start  # placed just before the first message

    def order(at: float, state: str, traded: float) -> dict[str, Any]:
        operations = [
            {
                "uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "name": "lock",
                "amount": "-15276.00",
                "currency": "EUR",
                "created_at": iso_ms(created),
                "is_trading_account": False,
            }
        ]
        return {
            "uuid": order_uuid,
            "type": "LimitOrder",
            "currency": "EUR",
            "created_at": iso_ms(created),
            "updated_at": iso_ms(at),
            "amount": btc(0.2),
            "currency_amount": None,
            "state": state,
            "btc_fee": btc(0),
            "currency_fee": euro(traded * 76380 * 0.0059),
            "comment": None,
            "direction": "buy",
            "price": euro(76380.00),
            "traded_btc": btc(traded),
            "traded_currency": euro(traded * 76380),
            "account_operations": operations,
        }

    def payment(at: float, state: str) -> dict[str, Any]:
        return {
            "uuid": payment_uuid,
            "currency": "EUR",
            "payment_split": 0,
            "state": state,
            "callback_url": "https://shop.example/paymium/callback",
            "redirect_url": "https://shop.example/thanks",
            "cancel_url": "https://shop.example/cart",
            "merchant_name": "Example shop",
            "expires_at": iso_ms(s.start + 900),
            "merchant_reference": "ORDER-10442",
            "amount": 25.0,
            "btc_amount": 0.00032722,
            "payment_address": "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh",
            "created_at": iso_ms(s.start - 30),
            "updated_at": iso_ms(at),
            "account_operations": [],
        }

    eur, btc_balance = 17210.45, 1.25
    at = s.after(0)
    s.add(0, ("stream", {"balance_eur": euro(eur), "locked_eur": euro(0)}))
    at = s.after(pause := gap())
    eur = round(eur - 15276.00, 2)
    s.add(
        pause,
        (
            "stream",
            {
                "balance_eur": euro(eur),
                "locked_eur": "15276.00",
                "orders": [order(at, "active", 0)],
            },
        ),
    )
    at = s.after(pause := 900)
    btc_balance += 0.05
    s.add(
        pause,
        (
            "stream",
            {
                "balance_btc": btc(btc_balance),
                "locked_eur": euro(15276.00 - 0.05 * 76380),
                "orders": [order(at, "active", 0.05)],
            },
        ),
    )
    at = s.after(pause := 1200)
    btc_balance += 0.15
    s.add(
        pause,
        (
            "stream",
            {
                "balance_btc": btc(btc_balance),
                "locked_btc": btc(0),
                "locked_eur": euro(0),
                "orders": [order(at, "filled", 0.2)],
            },
        ),
    )
    # The 2015 messages: the order and payment serialized into a string, as documented.
    at = s.after(pause := gap())
    s.add(
        pause,
        (
            "stream",
            {
                "event": "balance",
                "payload": {"balance": eur, "currency": "EUR", "trading": "false"},
            },
        ),
    )
    at = s.after(pause := gap())
    s.add(
        pause,
        (
            "stream",
            {"event": "balance", "payload": {"balance": 0.0, "currency": "EUR", "trading": "true"}},
        ),
    )
    at = s.after(pause := gap())
    s.add(
        pause,
        (
            "stream",
            {
                "event": "order",
                "payload": json.dumps(order(at, "filled", 0.2), separators=(",", ":")),
            },
        ),
    )
    at = s.after(pause := gap())
    notice = {"message": "Your buy order of 0.20000000 BTC at 76380.00 EUR was filled"}
    s.add(pause, ("stream", {"event": "notice", "payload": notice}))
    at = s.after(pause := 1500)
    s.add(pause, ("stream", {"event": "state", "payload": {"state": "approved"}}))
    for state, pause in (("pending_payment", 800), ("processing", 2400), ("paid", 1800)):
        at = s.after(pause)
        s.add(
            pause,
            (
                "stream",
                {
                    "event": "payment",
                    "payload": json.dumps(payment(at, state), separators=(",", ":")),
                },
            ),
        )
    at = s.after(pause := gap())
    s.add(pause, ("stream", {"balance_eur": euro(eur + 25.0)}))
    return s


# -- OpenBazaar node ---------------------------------------------------------------------

THUMB_A = {
    "small": "zb2rhXytP3KvSpk2w8uMNi8ApM6cEBkcSmAcEp4xuzJ3HXH8W",
    "tiny": "zb2rhimYUmqHiXmPJ1FaAaZse8GvXC9mKSoHAPfbJpninVvqw",
}
THUMB_B = {
    "small": "zb2rhdmv4SqzsxFzZK6tPeYkant6rRyFHDfJx3saUZLQsf6VT",
    "tiny": "zb2rhjj2XQEJ4XrquY6C1ATdAvYN6HL1HzFcZg65Se9cMnBhk",
}
BUYER = "QmeVMcgXsy9xyXshREU5avCYYPyrz5bgMZyTZjv44KhNnT"
VENDOR = "Qmdy44rwpPQ2opSJi9LjKSzChMgHXgdC5vPq5zfVUGNYbh"
MODERATOR = "QmaWkAWZ5ZS1dGmYkkJRBMVGMmAbjpRCPCNeGsxgYLCcx9"
FOLLOWER = "QmX29bG4vhFhj9FzVt1wYovqFRJS4xcvwruwcYPevaV8dt"
ORDER_1 = "QmbMY8sGFeZ4cF9LGFmDRgT6Ao3sVRtGcYW5vuJ9ckWFAZ"
ORDER_2 = "QmTCTBF57ujtZDd7KzHodZdsiHp7zwnzL798s2CB8uftKC"
ORDER_3 = "Qmbxj8B1FaUSjQLZyG9u6yBNZ87HzdJuWkwRK6N2vwQ7gf"
ORDER_4 = "QmV27u6aXm6bBu9oLSxnQG1k4Zta3q8iB2BpCA65LV1wAY"


def notification_id() -> str:
    """A node notification ID (a base58 multihash, like `NewNotificationID`)."""
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    return "Qm" + "".join(rng.choice(alphabet) for _ in range(44))


def sanitized(value: Any) -> Any:
    """openbazaar-go's `sanitize`: every string through bluemonday, null fields dropped."""
    if isinstance(value, dict):
        return {key: sanitized(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [sanitized(item) for item in value]
    if isinstance(value, str):  # bluemonday escapes text as Go's html.EscapeString does
        return html.escape(value, quote=False).replace("'", "&#39;").replace('"', "&#34;")
    return value


def node_text(message: dict[str, Any]) -> str:
    """A message as openbazaar-go's SanitizeJSON writes it: json.MarshalIndent(m, "", "    ")."""
    text = json.dumps(sanitized(message), indent=4, sort_keys=True, ensure_ascii=False)
    # Go escapes <, > and & in every string (the HTML entities above get `\u0026`).
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def v013_price(amount: int, code: str) -> dict[str, Any]:
    """A v0.13 price: integer amount in the coin's smallest unit."""
    return {
        "amount": amount,
        "coinDivisibility": 100000000,
        "currencyCode": code,
        "priceModifier": 0,
    }


def v014_money(amount: int, code: str) -> dict[str, Any]:
    """v0.14 money: the amount as an integer string, with its currency."""
    return {"amount": str(amount), "currency": {"code": code, "divisibility": 8}}


def node_session(start: float) -> Session:
    """A seller's node for a while: wallet, chat, every notification type, lookups."""
    rng.seed(SEED + 2)
    s = Session(start)
    messages: list[dict[str, Any]] = []

    def note(kind: str, **fields: Any) -> None:
        messages.append(
            {"notification": {"notificationId": notification_id(), "type": kind, **fields}}
        )

    heights = {"BCH": 569437, "BTC": 562734, "LTC": 1578370, "ZEC": 480276}
    messages.append(
        {
            "walletUpdate": {
                code: {"confirmed": confirmed, "height": heights[code], "unconfirmed": 0}
                for code, confirmed in (("BCH", 0), ("BTC", 2657), ("LTC", 83591), ("ZEC", 0))
            }
        }
    )
    note("follow", peerId=FOLLOWER)
    messages.append({"messageTyping": {"messageId": "", "peerId": BUYER, "subject": ""}})
    chat_id = "QmSzWn8fM8bnnwrnUphovDagSqj4ShQwbQMr5ScEUAoxJZ"
    chat = {
        "messageId": chat_id,
        "peerId": BUYER,
        "subject": "",
        "message": 'Hi! Is the "Salt & Pepper" mill still available? I\'d take 2 <today>',
        "read": False,
        "outgoing": False,
        "timestamp": None,  # filled in below, at the time it is sent
    }
    messages.append({"message": chat})
    messages.append({"messageRead": {"messageId": chat_id, "peerId": BUYER, "subject": ""}})
    note(
        "order",
        buyerHandle="@pepperfan",
        buyerId=BUYER,
        listingType="PHYSICAL_GOOD",
        orderId=ORDER_1,
        price=v013_price(23422, "LTC"),
        slug="salt-pepper-mill",
        thumbnail=THUMB_A,
        title="Salt & Pepper mill (walnut)",
    )
    note("payment", coinType="LTC", fundingTotal=23422, orderId=ORDER_1)
    wallet_tx = {
        "address": "ltc1qxyzw9x0ka8r0kqxz6c0tt8jwr7h2g9ytxkq0wd",
        "canBumpFee": False,
        "confirmations": 0,
        "height": 0,
        "memo": "Salt & Pepper mill (walnut)",
        "orderId": ORDER_1,
        "status": "UNCONFIRMED",
        "thumbnail": THUMB_A["tiny"],
        "timestamp": None,
        "txid": "380b8cac2ceb7bc5c706a88be05519ac111b255048c493fdbd52ea11b451543f",
        "value": 23422,
        "wallet": "LTC",
    }
    messages.append({"wallet": wallet_tx})
    note("orderConfirmation", orderId=ORDER_2, thumbnail=THUMB_B, vendorHandle="", vendorId=VENDOR)
    note("declined", orderId=ORDER_4, thumbnail=THUMB_B, vendorHandle="", vendorId=VENDOR)
    note("orderDeclined", orderId=ORDER_4, thumbnail=THUMB_B, vendorHandle="", vendorId=VENDOR)
    note("canceled", buyerHandle="", buyerId=BUYER, orderId=ORDER_2, thumbnail=THUMB_B)
    note("cancel", buyerHandle="", buyerId=BUYER, orderId=ORDER_2, thumbnail=THUMB_B)
    note("fulfillment", orderId=ORDER_1, thumbnail=THUMB_A, vendorHandle="", vendorId=VENDOR)
    note("refund", orderId=ORDER_2, thumbnail=THUMB_B, vendorHandle="", vendorId=VENDOR)
    note("processingError", orderId=ORDER_4, thumbnail=THUMB_B, vendorHandle="", vendorId=VENDOR)
    note(
        "orderComplete", buyerHandle="@pepperfan", buyerId=BUYER, orderId=ORDER_1, thumbnail=THUMB_A
    )
    dispute = {"buyer": BUYER, "orderId": ORDER_3, "thumbnail": THUMB_B}
    parties = {
        "disputeeHandle": "",
        "disputeeId": VENDOR,
        "disputerHandle": "",
        "disputerId": BUYER,
    }
    note("disputeOpen", **dispute, **parties)
    note("disputeUpdate", **dispute, **parties)
    note("disputeAccepted", **dispute, otherPartyHandle="", otherPartyId=BUYER)
    note("disputeClose", **dispute, otherPartyHandle="", otherPartyId=MODERATOR)
    note("vendorFinalizedPayment", orderId=ORDER_2)
    note("buyerDisputeTimeout", expiresIn=86400, orderId=ORDER_3, thumbnail=THUMB_B)
    note("buyerDisputeExpiry", expiresIn=86400, orderId=ORDER_3, thumbnail=THUMB_B)
    note("vendorDisputeTimeout", expiresIn=86400, purchaseOrderId=ORDER_1, thumbnail=THUMB_A)
    note(
        "moderatorDisputeExpiry",
        disputeCaseId="QmPgRCqyHq3KRQf7nKkqA5m6gyNyBU6gtZ4tx787csgGpG",
        expiresIn=2592000,
        thumbnail=THUMB_B,
    )
    note("moderatorAdd", peerId=MODERATOR)
    note("moderatorRemove", peerId=MODERATOR)
    note("unfollow", peerId=FOLLOWER)
    messages.append({"status": "publishing"})
    messages.append({"status": "publish complete"})
    profile = {
        "about": "Hand-made kitchen things & more",
        "avatarHashes": {"small": "zb2rhYDJtfaLSTQFdATtFEeUQV4fjH1D8sFQYV5rFAVJiWR7y"},
        "contactInfo": {"email": "", "phoneNumber": "", "social": [], "website": ""},
        "currencies": ["BCH", "BTC", "LTC", "ZEC"],
        "handle": "@pepperfan",
        "lastModified": "2026-01-21T21:20:41.058031Z",
        "location": "Lyon",
        "moderator": False,
        "name": "Pepper Fan",
        "nsfw": False,
        "peerID": BUYER,
        "shortDescription": "",
        "stats": {"averageRating": 4.5, "followerCount": 6, "ratingCount": 2},
        "vendor": False,
    }
    lookup = "cd29c03d-2736-1ad3-2cc9-88e1407041d0"
    messages.append({"id": lookup, "peerId": BUYER, "profile": profile})
    messages.append({"error": "not found", "id": lookup, "peerID": MODERATOR})
    rating_id = "zb2rhgMKS5KUDzDVimyVNPW1m7sjeGEw9K3UavTHoPhCoaJiD"
    rating = {"ratingData": {"overall": 5, "review": "Fast & friendly, well packed <3"}}
    messages.append(
        {"id": "7d9ea44e-1e0a-4c34-9b6a-0b4d7f41e2c7", "rating": rating, "ratingId": rating_id}
    )
    messages.append(
        {
            "error": "rating not found",
            "id": "7d9ea44e-1e0a-4c34-9b6a-0b4d7f41e2c7",
            "ratingId": "zb2rhNotThere",
        }
    )
    messages.append({"status": "error publishing"})
    # The same node after an upgrade to v0.14: money as integer strings with currencies.
    messages.append(
        {
            "walletUpdate": {
                code: {
                    "confirmed": str(confirmed),
                    "currency": {"code": code, "divisibility": 8},
                    "height": heights[code] + 3,
                    "unconfirmed": "0",
                }
                for code, confirmed in (("BCH", 0), ("BTC", 2657), ("LTC", 107013), ("ZEC", 0))
            }
        }
    )
    messages.append(
        {
            "wallet": {
                **wallet_tx,
                "confirmations": 1,
                "height": heights["LTC"] + 3,
                "status": "PENDING",
                "value": v014_money(-27236, "LTC"),
                "wallet": None,
                "memo": "Refund: Salt & Pepper mill",
                "orderId": ORDER_2,
                "txid": "cf0bd34a7934f4741a62b603cf557f79fc41c25480eba0beecb6ca6d1847001a",
            }
        }
    )
    note(
        "order",
        buyerHandle="",
        buyerId=BUYER,
        listingType="DIGITAL_GOOD",
        orderId="QmcoKERsaetjQX3cF5YySXQHabh5bthvsrk9WxyuooRsH3",
        price=v014_money(1840000, "BTC"),
        slug="recipe-book-pdf",
        thumbnail=THUMB_A,
        title="Recipe book (PDF)",
    )
    note(
        "payment",
        coinType="BTC",
        fundingTotal=v014_money(1840000, "BTC"),
        orderId="QmcoKERsaetjQX3cF5YySXQHabh5bthvsrk9WxyuooRsH3",
    )

    first = True
    for message in messages:
        pause = 0 if first else gap()
        first = False
        at = s.after(pause)
        for key in ("message", "wallet"):
            if key in message and message[key].get("timestamp", "") is None:
                message[key]["timestamp"] = go_time(at - 0.4)
        s.add(pause, message)
    return s


# -- a made-up exchange's WebSocket (tail ws) ------------------------------------------------


def epoch_ms(at: float) -> int:
    """A time as epoch milliseconds, as many exchanges write it."""
    return round(at * 1000)


def ws_session(start: float) -> Session:
    """An exchange's trade stream, Kraken v2 style: status, the subscription's ack, then
    batches of trades, a ticker, heartbeats and one notice in plain text."""
    rng.seed(SEED + 3)
    s = Session(start)
    price = 77792.1
    trade_id = 81245730

    def trades(at: float) -> dict[str, Any]:
        nonlocal price, trade_id
        batch = []
        for _ in range(rng.choice((1, 1, 2, 3))):
            price = round(price + rng.uniform(-12, 12), 1)
            trade_id += 1
            batch.append(
                {
                    "symbol": "BTC/EUR",
                    "side": rng.choice(("buy", "sell")),
                    "price": price,
                    "qty": round(rng.uniform(0.0005, 0.4), 8),
                    "ord_type": rng.choice(("market", "limit")),
                    "trade_id": trade_id,
                    "ts": epoch_ms(at - rng.uniform(0.01, 0.2)),
                }
            )
        return {"channel": "trade", "type": "update", "data": batch}

    status = {
        "channel": "status",
        "type": "update",
        "data": [{"system": "online", "api_version": "v2", "connection_id": 90211766}],
    }
    s.add(0, status)
    at = s.after(120)
    ack = {
        "method": "subscribe",
        "result": {"channel": "trade", "symbol": "BTC/EUR", "snapshot": False},
        "success": True,
        "time_in": iso_ms(at - 0.002),
        "time_out": iso_ms(at - 0.001),
    }
    s.add(120, ack)
    for index in range(22):
        pause = gap()
        at = s.after(pause)
        if index % 6 == 5:
            s.add(pause, {"channel": "heartbeat"})
        elif index == 9:
            ticker = {
                "symbol": "BTC/EUR",
                "bid": round(price - 0.1, 1),
                "ask": round(price + 0.1, 1),
                "last": price,
                "volume": 512.03487915,
                "ts": epoch_ms(at - 0.05),
            }
            s.add(pause, {"channel": "ticker", "type": "update", "data": [ticker]})
        elif index == 14:
            s.add(pause, "maintenance window tonight 02:00-02:15 UTC")  # not JSON
        else:
            s.add(pause, trades(at))
    return s


def ws_text(message: Any) -> str:
    """A message as the exchange writes it: compact JSON, or the text as is."""
    return message if isinstance(message, str) else json.dumps(message, separators=(",", ":"))


# -- a made-up Socket.IO app (tail sio) ------------------------------------------------------


def sio_session(start: float) -> Session:
    """A prices app in its namespace: `quote` and `trade` events after `subscribe`."""
    rng.seed(SEED + 4)
    s = Session(start)
    mid = 77810.0
    for index in range(24):
        pause = 0 if index == 0 else gap()
        at = s.after(pause)
        mid = round(mid + rng.uniform(-8, 8), 2)
        if index % 3 == 2:
            trade = {
                "pair": "BTC-EUR",
                "price": f"{mid:.2f}",
                "amount": f"{rng.uniform(0.001, 0.5):.8f}",
                "side": rng.choice(("buy", "sell")),
                "ts": iso_ms(at - rng.uniform(0.01, 0.1)),
            }
            s.add(pause, ("trade", trade))
        else:
            spread = rng.choice((0.5, 1.0, 1.5))
            quote = {
                "pair": "BTC-EUR",
                "bid": f"{mid - spread:.2f}",
                "ask": f"{mid + spread:.2f}",
                "ts": iso_ms(at - rng.uniform(0.01, 0.1)),
            }
            s.add(pause, ("quote", quote))
    return s


# -- recording ---------------------------------------------------------------------------


def data_envelopes(kind: str, session: Session) -> list[str]:
    """The event names the session's messages normalize to (not counting meta.*)."""
    names: list[str] = []
    if kind in ("ws", "sio"):
        generic = GenericNormalizer(WS_RULES if kind == "ws" else SIO_RULES, SOURCE[kind])
        for _, message in session.steps:
            if kind == "ws":
                frame = Frame(recv_us=0, kind="text", payload=ws_text(message))
            else:
                payload = json.dumps(list(message))
                frame = Frame(recv_us=0, kind="sio", channel=SIO_NAMESPACE, payload=payload)
            names.extend(item[1] for item in generic.frame(frame, SOURCE[kind]))
        return names
    for _, message in session.steps:
        if kind == "node":
            frame = Frame(recv_us=0, kind="text", payload=node_text(message))
        else:
            payload = json.dumps(list(message))
            frame = Frame(recv_us=0, kind="sio", channel=f"/{kind}", payload=payload)
        names.extend(item[1] for item in normalize_frame(frame, SOURCE[kind]))
    return names


async def record(
    kind: str, url: str, count: int, out: Path, env: dict[str, str], *options: str
) -> None:
    """`wstail record -o OUT KIND --url URL -n COUNT` (`ws`, `sio`: `KIND URL OPTIONS`) to its
    end; raise if it failed."""
    where = [url, *options] if kind in ("ws", "sio") else ["--url", url]
    args = [*WSTAIL, "record", "-o", str(out), kind, *where, "-n", str(count)]
    process = await asyncio.create_subprocess_exec(
        *args, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    assert process.stderr is not None
    try:
        async with asyncio.timeout(scaled(60)):
            err = await process.stderr.read()
            code = await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    if code != 0:
        raise RuntimeError(f"wstail record {kind} exited {code}: {err.decode().strip()}")


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment without WSTAIL_* settings, HOME elsewhere (no real node cookie)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("WSTAIL_")}
    env["HOME"] = str(home)
    env.update(extra)
    return env


async def record_paymium(kind: str, out: Path, home: Path) -> dict[str, Any]:
    """Record the public or user sample from the official socket.io 1.7 server."""
    user_channel = secrets.token_hex(16)
    payment_uuid = str(uuid.uuid4())
    # The server plays the session as soon as the recorder is connected: about
    # when the two processes have started. Messages carry times a little
    # before they arrive, as from a real server.
    start = time.time() + CONNECT_DELAY
    session = public_session(start) if kind == "public" else user_session(start, payment_uuid)
    namespace = f"/{kind}"
    steps: list[dict[str, Any]] = []
    for pause, (event, data) in session.steps:
        if pause:
            steps.append({"sleep": pause})
        step: dict[str, Any] = {"ns": namespace, "event": event, "data": data}
        if kind == "user":
            step["after_channels"] = 2  # the user channel and the payment channel
        steps.append(step)
    names = data_envelopes(kind, session)
    extra = {"WSTAIL_CHANNELS": f"{user_channel},{payment_uuid}"} if kind == "user" else {}
    async with NodeSioPeer("sio1", steps) as peer:
        await record(kind, peer.url, len(names), out, clean_env(home, **extra))
        url = peer.url
    return {
        "names": names,
        "frames": len(session.steps),
        "url": url,
        "canonical": CANONICAL_URL[kind],
        "never": [user_channel],
        "only_in_payments": payment_uuid if kind == "user" else None,
    }


async def record_node(out: Path, home: Path) -> dict[str, Any]:
    """Record the node sample from the node-like WebSocket server."""
    names = data_envelopes("node", node_session(time.time()))
    peer = await NodePeer().start()
    try:
        recording = asyncio.create_task(record("node", peer.url, len(names), out, clean_env(home)))
        connection = await peer.accepted(timeout=30)
        # Built again now that the recorder is here (same seed: the same messages),
        # so that the times inside them follow the clock of the recording.
        session = node_session(time.time())
        clock = asyncio.get_running_loop()
        started = clock.time()
        elapsed = 0.0
        for pause, message in session.steps:
            elapsed += pause / 1000
            await asyncio.sleep(max(0.0, started + elapsed - clock.time()))
            await connection.send(node_text(message))
        await recording
    finally:
        await peer.stop()
    return {
        "names": names,
        "frames": len(session.steps),
        "url": peer.url,
        "canonical": CANONICAL_NODE_URL,
        "never": [],
        "only_in_payments": None,
    }


def rule_options(rules: Rules) -> list[str]:
    """The command line of the rules."""
    given = [("--each", rules.each), ("--event-name", rules.event_name)]
    given.append(("--event-time", rules.event_time))
    return [part for option, value in given if value is not None for part in (option, value)]


async def record_ws(out: Path, home: Path) -> dict[str, Any]:
    """Record the ws sample: a `websockets` server sending only once subscribed."""
    names = data_envelopes("ws", ws_session(time.time()))
    peer = await NodePeer().start()
    url = f"ws://127.0.0.1:{peer.port}{WS_PATH}"
    options = ["--name", SOURCE["ws"], "--send", ws_text(WS_SUBSCRIBE), *rule_options(WS_RULES)]
    try:
        recording = asyncio.create_task(
            record("ws", url, len(names), out, clean_env(home), *options)
        )
        connection = await peer.accepted(timeout=30)
        session = ws_session(time.time())  # the same messages, on the recording's clock
        (_, status), *rest = session.steps
        await connection.send(ws_text(status))
        async with asyncio.timeout(scaled(30)):
            while not peer.received:  # the peer reads every message a client sends
                await asyncio.sleep(0.01)
        assert json.loads(peer.received[0]) == WS_SUBSCRIBE, peer.received
        clock = asyncio.get_running_loop()
        started = clock.time()
        elapsed = 0.0
        for pause, message in rest:
            elapsed += pause / 1000
            await asyncio.sleep(max(0.0, started + elapsed - clock.time()))
            await connection.send(ws_text(message))
        await recording
    finally:
        await peer.stop()
    return {
        "names": names,
        "frames": len(session.steps),
        "url": url,
        "canonical": CANONICAL_WS_URL,
        "never": [],
        "only_in_payments": None,
    }


async def record_sio(out: Path, home: Path) -> dict[str, Any]:
    """Record the sio sample: a python-socketio app sending once the recorder subscribed."""
    import socketio
    from aiohttp import web

    names = data_envelopes("sio", sio_session(time.time()))
    server = socketio.AsyncServer(async_mode="aiohttp", logger=False, engineio_logger=False)
    subscribed: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    async def subscribe(sid: str, value: Any) -> None:
        await subscribed.put((sid, value))

    server.on(SIO_SUBSCRIBE[0], subscribe, namespace=SIO_NAMESPACE)
    server.on("connect", lambda sid, environ, auth=None: None, namespace=SIO_NAMESPACE)
    app = web.Application()
    server.attach(app)  # the default path, /socket.io/
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    event, argument = SIO_SUBSCRIBE
    options = [
        "--name",
        SOURCE["sio"],
        "--emit",
        event,
        json.dumps(argument, separators=(",", ":")),
    ]
    options += rule_options(SIO_RULES)
    try:
        recording = asyncio.create_task(
            record("sio", base + SIO_NAMESPACE, len(names), out, clean_env(home), *options)
        )
        sid, value = await asyncio.wait_for(subscribed.get(), scaled(30))
        assert value == argument, value
        session = sio_session(time.time())  # the same messages, on the recording's clock
        clock = asyncio.get_running_loop()
        started = clock.time()
        elapsed = 0.0
        for pause, (name, data) in session.steps:
            elapsed += pause / 1000
            await asyncio.sleep(max(0.0, started + elapsed - clock.time()))
            await server.emit(name, data, to=sid, namespace=SIO_NAMESPACE)
        await recording
    finally:
        await server.shutdown()
        await runner.cleanup()
    return {
        "names": names,
        "frames": len(session.steps),
        "url": base,
        "canonical": CANONICAL_SIO_URL,
        "never": [],
        "only_in_payments": None,
    }


def canonicalize(path: Path, url: str, canonical: str) -> None:
    """Put the real endpoint's URL where the test server's is: header and meta lines only."""
    lines = path.read_bytes().splitlines()
    old, new = json.dumps(url).encode(), json.dumps(canonical).encode()
    for index, line in enumerate(lines):
        if index == 0 or line.startswith(b"[") and b',"meta",' in line[:40]:
            lines[index] = line.replace(old, new)
    assert not any(url.encode() in line for line in lines), "the test URL is still in the capture"
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    path.chmod(0o644)  # package data; user captures are written 0600


def check(kind: str, path: Path, facts: dict[str, Any], expected: set[str]) -> str:
    """Check a recorded sample; return a one-line summary."""
    raw = path.read_bytes()
    assert len(raw) < MAX_SIZE, f"{path} is {len(raw)} bytes (limit {MAX_SIZE})"
    lines = raw.splitlines()
    header = json.loads(lines[0])
    frames = [json.loads(line) for line in lines[1:]]
    kinds = [frame[1] for frame in frames]
    assert kinds.count("meta") == 1 and frames[0][2] == "meta.connected", kinds
    assert len(frames) - 1 == facts["frames"], "a frame is missing or extra"
    for secret in facts["never"]:
        assert secret.encode() not in raw, "a channel ID is in the capture"
    payment = facts["only_in_payments"]
    if payment is not None:
        for line in lines:
            assert payment.encode() not in line or b'\\"payment\\"' in line, "payment ID leaked"
    replayed = subprocess.run(
        [*WSTAIL, "replay", str(path), "-q", "event", "-r"],
        capture_output=True,
        check=True,
        text=True,
    ).stdout.split()
    assert replayed == facts["names"], "the replay differs from the messages sent"
    missing = expected - set(replayed)
    assert not missing, f"event kinds missing from {kind}: {sorted(missing)}"
    assert "unknown" not in replayed, "a message normalized to unknown"
    seconds = frames[-1][0]
    return (
        f"{len(frames) - 1} frames, {len(replayed)} envelopes, "
        f"{seconds:.1f} s, {len(raw)} bytes, url {header['url']}"
    )


EXPECTED = {
    "public": {"trade", "ticker", "depth", "prices", "announcement"},
    "user": {"balance", "order", "notice", "state", "payment"},
    "ws": {"status", "message", "trade", "ticker", "heartbeat"},
    "sio": {"quote", "trade"},
    "node": {
        "wallet.balance",
        "wallet.tx",
        "chat.message",
        "chat.typing",
        "chat.read",
        "status",
        "profile",
        "profile.error",
        "rating",
        "rating.error",
        *(
            f"notification.{kind}"
            for kind in (
                "order payment orderConfirmation orderDeclined cancel refund fulfillment "
                "orderComplete processingError disputeOpen disputeUpdate disputeClose "
                "disputeAccepted vendorFinalizedPayment buyerDisputeTimeout buyerDisputeExpiry "
                "vendorDisputeTimeout moderatorDisputeExpiry follow unfollow moderatorAdd "
                "moderatorRemove"
            ).split()
        ),
    },
}


async def make(kinds: list[str], out_dir: Path) -> list[str]:
    """Record the samples of `kinds` into out_dir, concurrently; their summaries."""
    if "public" in kinds or "user" in kinds:
        ensure_node_modules()
    with tempfile.TemporaryDirectory(prefix="wstail-samples-") as tmp:
        home = Path(tmp)
        jobs: dict[str, Callable[[], Any]] = {
            "public": lambda: record_paymium("public", home / "public.jsonl", home),
            "user": lambda: record_paymium("user", home / "user.jsonl", home),
            "node": lambda: record_node(home / "node.jsonl", home),
            "ws": lambda: record_ws(home / "ws.jsonl", home),
            "sio": lambda: record_sio(home / "sio.jsonl", home),
        }
        results = await asyncio.gather(*(jobs[kind]() for kind in kinds))
        summaries = []
        for kind, facts in zip(kinds, results, strict=True):
            recorded = home / f"{kind}.jsonl"
            canonicalize(recorded, facts["url"], facts["canonical"])
            summary = check(kind, recorded, facts, EXPECTED[kind])
            target = out_dir / f"{kind}.jsonl"
            target.write_bytes(recorded.read_bytes())
            target.chmod(0o644)
            summaries.append(f"{target}: {summary}")
    return summaries


def main() -> None:
    """Parse the command line and record."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=DATA, help="where to write (default: %(default)s)"
    )
    kinds_known = ("public", "user", "node", "ws", "sio")
    parser.add_argument("--only", action="append", choices=kinds_known)
    args = parser.parse_args()
    kinds = args.only or list(kinds_known)
    for summary in asyncio.run(make(kinds, args.out)):
        print(summary)


if __name__ == "__main__":
    main()
