"""Paymium normalizer: every seed example and every PROTOCOLS.md shape, item by item.

Each case is a Socket.IO frame as received and the exact items it gives:
source, event, event_ts (as format_us prints it) and the data as the bytes
`dumps` writes, so number text is checked too ("77792.10" gives 77792.1).
"""

from __future__ import annotations

import json

import pytest

from wstail.envelope import format_us
from wstail.frames import Frame
from wstail.jsonexact import dumps
from wstail.normalize import normalize_frame

Expected = tuple[str, str, str | None, str]

PUB = "paymium.public"
USR = "paymium.user"


def items_of(frame: Frame, source: str = "ignored") -> list[Expected]:
    """The items of a frame, with times and data in their printed form."""
    return [
        (src, event, None if us is None else format_us(us), dumps(data).decode())
        for src, event, us, data in normalize_frame(frame, source)
    ]


def public(payload: str) -> Frame:
    """A Socket.IO event frame received on /public."""
    return Frame(recv_us=1_790_139_583_000_000, kind="sio", payload=payload, channel="/public")


def user(payload: str) -> Frame:
    """A Socket.IO event frame received on /user."""
    return Frame(recv_us=1_790_139_583_000_000, kind="sio", payload=payload, channel="/user")


def stream(message: str) -> str:
    """The JSON text of a `stream` event carrying `message` (kept verbatim)."""
    return '["stream",' + message + "]"


def bad(source: str, reason: str, payload: str) -> Expected:
    """The meta.bad_frame item for a payload."""
    return (source, "meta.bad_frame", None, dumps({"reason": reason, "frame": payload}).decode())


# -- the seed document (000_5846026cf14106d7.txt), verbatim ------------------------

SEED_BALANCE = """{
  "event": "balance",
  "payload": {
    "balance": 10.0,
    "currency": "<EUR|BTC>",
    "trading":  "<true|false>"
}"""

SEED_ORDER = """{
  "event": "order",
  "payload": "<JSON-serialized order>"
}"""

SEED_NOTICE = """{
  "event": "notice",
  "payload": {
    "message": "<message>"
  }
}"""

SEED_STATE = """{
  "event": "state",
  "payload": {
    "state": "<new state>"
  }
}"""

SEED_PAYMENT = """{
  "event": "payment",
  "payload": "<JSON-serialized payment>"
}"""

SEED_NEW_TRADE = """{
  "event": "new-trade",
  "payload": {
    "price": 201.28,
    "traded_btc": 12.4,
    "timestamp": 1445348298584,
    "currency": "EUR"
  }
}"""

SEED_TICK = """{
  "event": "tick",
  "payload": "<JSON ticker>"
}"""

SEED_MARKET_DEPTH = """{
  "event": "update-market-depth",
  "payload": {
    "category": "<buy|sell>",
    "timestamp": 1445348298,
    "amount": 4.8,
    "price": 201.87,
    "currency": "EUR"
  }
}"""

SEED_CASES = [
    pytest.param(
        user(stream(SEED_BALANCE)),
        [bad(USR, "invalid JSON", stream(SEED_BALANCE))],
        id="seed-balance-verbatim-is-missing-a-brace",
    ),
    pytest.param(
        user(stream(SEED_BALANCE + "\n}")),
        [
            (
                USR,
                "balance",
                None,
                '{"balance":10.0,"currency":"<EUR|BTC>","trading":"<true|false>"}',
            )
        ],
        id="seed-balance-brace-restored",
    ),
    pytest.param(
        user(stream(SEED_ORDER)),
        [(USR, "unknown", None, '{"event":"order","payload":"<JSON-serialized order>"}')],
        id="seed-order-placeholder",
    ),
    pytest.param(
        user(stream(SEED_NOTICE)),
        [(USR, "notice", None, '{"message":"<message>"}')],
        id="seed-notice",
    ),
    pytest.param(
        user(stream(SEED_STATE)),
        [(USR, "state", None, '{"state":"<new state>"}')],
        id="seed-state",
    ),
    pytest.param(
        user(stream(SEED_PAYMENT)),
        [(USR, "unknown", None, '{"event":"payment","payload":"<JSON-serialized payment>"}')],
        id="seed-payment-placeholder",
    ),
    pytest.param(
        public(stream(SEED_NEW_TRADE)),
        [
            (
                PUB,
                "trade",
                "2015-10-20T13:38:18.584000Z",
                '{"price":201.28,"traded_btc":12.4,"timestamp":1445348298584,"currency":"EUR"}',
            )
        ],
        id="seed-new-trade",
    ),
    pytest.param(
        public(stream(SEED_TICK)),
        [(PUB, "unknown", None, '{"event":"tick","payload":"<JSON ticker>"}')],
        id="seed-tick-placeholder",
    ),
    pytest.param(
        public(stream(SEED_MARKET_DEPTH)),
        [
            (
                PUB,
                "depth",
                "2015-10-20T13:38:18.000000Z",
                '{"category":"<buy|sell>","timestamp":1445348298,"amount":4.8,"price":201.87,'
                '"currency":"EUR"}',
            )
        ],
        id="seed-update-market-depth",
    ),
]

# -- the 2015 shape with its placeholders filled in ----------------------------------

ORDER_2015 = {
    "uuid": "968f4580-e26c-4ad8-8bcd-874d23d55296",
    "type": "LimitOrder",
    "currency": "EUR",
    "created_at": "2015-10-20T13:38:18.000Z",
    "updated_at": "2015-11-02T11:36:41.000Z",
    "amount": "1.0",
    "currency_amount": None,
    "state": "active",
    "btc_fee": "0.0",
    "currency_fee": "0.0",
    "comment": None,
    "direction": "buy",
    "price": "201.87",
    "traded_btc": "0.25",
    "traded_currency": "50.4675",
    "account_operations": [
        {
            "uuid": "59f9c458-cb22-48d6-9103-0b6e54130e29",
            "name": "lock",
            "amount": "-201.87",
            "currency": "EUR",
            "created_at": "2015-10-20T13:38:18.000Z",
            "created_at_int": 1445348298,
            "is_trading_account": "true",
        }
    ],
}

PAYMENT_2015 = {
    "uuid": "0d6a1c59-7d5a-4a8e-8b1e-2f5a0c7d1e11",
    "currency": "EUR",
    "payment_split": "0.5",
    "state": "paid",
    "callback_url": "https://example.com/cb?a=1&b=2",
    "redirect_url": "https://example.com/ok",
    "cancel_url": "https://example.com/cancel",
    "merchant_name": "Shop",
    "expires_at": 1445349198,
    "merchant_reference": "INV-42",
    "amount": "201.28",
    "btc_amount": "0.99999999",
    "payment_address": "1FPDBXNqSkZMsw1kSkkajcj8berxDQkUoc",
    "created_at": 1445348298,
    "updated_at": 1445348398,
    "account_operations": [],
}

TICKER_2015 = {
    "high": "205.0",
    "low": "199.5",
    "volume": "120.12345678",
    "bid": "201.0",
    "ask": "201.87",
    "midpoint": "201.435",
    "at": 1445348298,
    "price": "201.28",
    "variation": "-1.2",
    "currency": "EUR",
}


def legacy(event: str, payload: object) -> str:
    """A 2015 `stream` event; a dict payload is sent JSON-serialized, as the seed says."""
    if isinstance(payload, dict):
        payload = json.dumps(payload, separators=(",", ":"))
    return stream(json.dumps({"event": event, "payload": payload}, separators=(",", ":")))


LEGACY_CASES = [
    pytest.param(
        user(
            stream(
                '{"event":"balance","payload":{"balance":10.0,"currency":"EUR","trading":"true"}}'
            )
        ),
        [(USR, "balance", None, '{"balance":10.0,"currency":"EUR","trading":true}')],
        id="2015-balance-trading-true",
    ),
    pytest.param(
        user(
            stream(
                '{"event":"balance","payload":{"balance":"0.5","currency":"BTC","trading":"false"}}'
            )
        ),
        [(USR, "balance", None, '{"balance":0.5,"currency":"BTC","trading":false}')],
        id="2015-balance-trading-false",
    ),
    pytest.param(
        user(legacy("order", ORDER_2015)),
        [
            (
                USR,
                "order",
                "2015-11-02T11:36:41.000000Z",
                '{"uuid":"968f4580-e26c-4ad8-8bcd-874d23d55296","type":"LimitOrder","currency":"EUR",'
                '"created_at":"2015-10-20T13:38:18.000Z","updated_at":"2015-11-02T11:36:41.000Z",'
                '"amount":1.0,"currency_amount":null,"state":"active","btc_fee":0.0,'
                '"currency_fee":0.0,"comment":null,"direction":"buy","price":201.87,'
                '"traded_btc":0.25,"traded_currency":50.4675,"account_operations":[{"uuid":'
                '"59f9c458-cb22-48d6-9103-0b6e54130e29","name":"lock","amount":-201.87,'
                '"currency":"EUR","created_at":"2015-10-20T13:38:18.000Z","created_at_int":1445348298,'
                '"is_trading_account":true}]}',
            )
        ],
        id="2015-order-json-serialized",
    ),
    pytest.param(
        user(legacy("order", {"uuid": "x", "created_at": "2015-10-20T13:38:18Z", "amount": "2"})),
        [
            (
                USR,
                "order",
                "2015-10-20T13:38:18.000000Z",
                '{"uuid":"x","created_at":"2015-10-20T13:38:18Z","amount":2}',
            )
        ],
        id="2015-order-without-updated-at-uses-created-at",
    ),
    pytest.param(
        user(legacy("payment", PAYMENT_2015)),
        [
            (
                USR,
                "payment",
                "2015-10-20T13:39:58.000000Z",
                '{"uuid":"0d6a1c59-7d5a-4a8e-8b1e-2f5a0c7d1e11","currency":"EUR","payment_split":0.5,'
                '"state":"paid","callback_url":"https://example.com/cb?a=1&b=2",'
                '"redirect_url":"https://example.com/ok","cancel_url":"https://example.com/cancel",'
                '"merchant_name":"Shop","expires_at":1445349198,"merchant_reference":"INV-42",'
                '"amount":201.28,"btc_amount":0.99999999,'
                '"payment_address":"1FPDBXNqSkZMsw1kSkkajcj8berxDQkUoc","created_at":1445348298,'
                '"updated_at":1445348398,"account_operations":[]}',
            )
        ],
        id="2015-payment-json-serialized",
    ),
    pytest.param(
        public(legacy("tick", TICKER_2015)),
        [
            (
                PUB,
                "ticker",
                "2015-10-20T13:38:18.000000Z",
                '{"high":205.0,"low":199.5,"volume":120.12345678,"bid":201.0,"ask":201.87,'
                '"midpoint":201.435,"at":1445348298,"price":201.28,"variation":-1.2,"currency":"EUR"}',
            )
        ],
        id="2015-tick-json-serialized",
    ),
    pytest.param(
        public(stream('{"event":"tick","payload":{"price":201.28,"at":1445348298}}')),
        [(PUB, "ticker", "2015-10-20T13:38:18.000000Z", '{"price":201.28,"at":1445348298}')],
        id="2015-tick-object-payload",
    ),
    pytest.param(
        public(stream('{"event":"new-trade","payload":"[1,2]"}')),
        [(PUB, "unknown", None, '{"event":"new-trade","payload":"[1,2]"}')],
        id="2015-payload-string-not-an-object",
    ),
    pytest.param(
        public(stream('{"event":"new-trade","payload":[{"price":1}]}')),
        [(PUB, "unknown", None, '{"event":"new-trade","payload":[{"price":1}]}')],
        id="2015-payload-list",
    ),
    pytest.param(
        public(stream('{"event":"flash-crash","payload":{"price":"1.00"}}')),
        [(PUB, "unknown", None, '{"event":"flash-crash","payload":{"price":"1.00"}}')],
        id="2015-unknown-event-kept-as-received",
    ),
    pytest.param(
        public(stream('{"event":"tick","payload":{"price":"1.00"},"extra":1}')),
        [(PUB, "unknown", None, '{"event":"tick","payload":{"price":"1.00"},"extra":1}')],
        id="2015-shape-with-extra-key",
    ),
    pytest.param(
        public(stream('{"event":5,"payload":{}}')),
        [(PUB, "unknown", None, '{"event":5,"payload":{}}')],
        id="2015-event-not-a-string",
    ),
]

# -- the current keyed shape (PROTOCOLS.md, Paymium's WebSocket doc) ------------------

CAPTURED_ASKS = (
    '["stream",{"asks":[{"amount":"0.05245168","price":"76360.74","category":"sell",'
    '"currency":"EUR","timestamp":1790139583}]}]'
)

TICKER_STRINGS = (
    '{"ticker":{"high":"78000.00","low":"76000.5","volume":"12.34567891","bid":"77792.10",'
    '"ask":"77800","midpoint":"77796.05","vwap":"77001.23456789","at":"1790139583",'
    '"price":"77792.10","open":"77000","variation":"1.0289","currency":"EUR",'
    '"trade_id":"460aff60-8fff-4fb0-8be5-2f8dc67758c2","size":"0.01"}}'
)

TICKER_NUMBERS_DOC = (
    '{"ticker":{"high":275,"low":275,"volume":0.10909089,"bid":205,"ask":275,"midpoint":240,'
    '"vwap":275,"at":1446464202,"price":275,"open":270,"variation":1.8519,"currency":"EUR",'
    '"trade_id":"460aff60-8fff-4fb0-8be5-2f8dc67758c2","size":0.03636363}}'
)

ORDER_DOC = (
    '{"uuid":"89d4b612-5e6a-4154-94f3-120d03f4e891","amount":null,"currency_amount":10,'
    '"state":"pending_execution","btc_fee":0,"currency_fee":0,'
    '"updated_at":"2015-11-02T11:36:41.000Z","created_at":"2015-11-02T11:36:41.000Z",'
    '"currency":"EUR","comment":null,"type":"MarketOrder","traded_btc":0,"traded_currency":0,'
    '"direction":"buy","price":null,"account_operations":[]}'
)

ORDER_STRINGS = (
    '{"uuid":"d64e6450-bf17-44a7-9bc1-bb830610293a","type":"LimitOrder","currency":"EUR",'
    '"created_at":"2026-09-23T04:59:43.000Z","updated_at":"2026-09-23T05:00:00.123Z",'
    '"amount":"0.01000000","currency_amount":"777.921","state":"filled","btc_fee":"0.00001",'
    '"currency_fee":"0.0","comment":"Ben &amp; Jerry","direction":"buy","price":"77792.10",'
    '"traded_btc":"0.01","traded_currency":"777.921","account_operations":[{"uuid":'
    '"59f9c458-cb22-48d6-9103-0b6e54130e29","name":"btc_purchase","amount":"0.01",'
    '"currency":"BTC","created_at":"2026-09-23T05:00:00.123Z","created_at_int":"1790139600",'
    '"is_trading_account":false}]}'
)

ORDER_STRINGS_EXPECTED = (
    '{"uuid":"d64e6450-bf17-44a7-9bc1-bb830610293a","type":"LimitOrder","currency":"EUR",'
    '"created_at":"2026-09-23T04:59:43.000Z","updated_at":"2026-09-23T05:00:00.123Z",'
    '"amount":0.01,"currency_amount":777.921,"state":"filled","btc_fee":0.00001,'
    '"currency_fee":0.0,"comment":"Ben &amp; Jerry","direction":"buy","price":77792.1,'
    '"traded_btc":0.01,"traded_currency":777.921,"account_operations":[{"uuid":'
    '"59f9c458-cb22-48d6-9103-0b6e54130e29","name":"btc_purchase","amount":0.01,'
    '"currency":"BTC","created_at":"2026-09-23T05:00:00.123Z","created_at_int":1790139600,'
    '"is_trading_account":false}]}'
)

PRICES = (
    '{"prices":{"btceur":{"base_currency":"BTC","quote_currency":"EUR","price":"76360.74",'
    '"broker_price":"77123.11","timestamp":1790139583,"variation":"-0.83"},'
    '"btcusd":{"base_currency":"BTC","quote_currency":"USD","price":"88000.10",'
    '"broker_price":"89000.00","timestamp":"1790139593","variation":"0"}}}'
)

CURRENT_CASES = [
    pytest.param(
        public(CAPTURED_ASKS),
        [
            (
                PUB,
                "depth",
                "2026-09-23T04:59:43.000000Z",
                '{"amount":0.05245168,"price":76360.74,"category":"sell","currency":"EUR",'
                '"timestamp":1790139583}',
            )
        ],
        id="captured-2026-asks-frame",
    ),
    pytest.param(
        public(stream(TICKER_STRINGS)),
        [
            (
                PUB,
                "ticker",
                "2026-09-23T04:59:43.000000Z",
                '{"high":78000.0,"low":76000.5,"volume":12.34567891,"bid":77792.1,"ask":77800,'
                '"midpoint":77796.05,"vwap":77001.23456789,"at":1790139583,"price":77792.1,'
                '"open":77000,"variation":1.0289,"currency":"EUR",'
                '"trade_id":"460aff60-8fff-4fb0-8be5-2f8dc67758c2","size":0.01}',
            )
        ],
        id="ticker-decimal-strings",
    ),
    pytest.param(
        public(stream(TICKER_NUMBERS_DOC)),
        [
            (
                PUB,
                "ticker",
                "2015-11-02T11:36:42.000000Z",
                TICKER_NUMBERS_DOC[len('{"ticker":') : -1],
            )
        ],
        id="ticker-json-numbers-as-in-paymium-doc",
    ),
    pytest.param(
        public(
            stream(
                '{"trades":[{"price":275,"traded_btc":0.03636363,"timestamp":1446464202000,'
                '"currency":"EUR"}]}'
            )
        ),
        [
            (
                PUB,
                "trade",
                "2015-11-02T11:36:42.000000Z",
                '{"price":275,"traded_btc":0.03636363,"timestamp":1446464202000,"currency":"EUR"}',
            )
        ],
        id="trades-json-numbers-as-in-paymium-doc",
    ),
    pytest.param(
        public(
            stream(
                '{"trades":[{"price":"77792.10","traded_btc":"0.00250000",'
                '"timestamp":"1790139583123","currency":"EUR"},{"price":"1234567890.12345678",'
                '"traded_btc":"0.1","timestamp":1790139590250,"currency":"EUR"}]}'
            )
        ),
        [
            (
                PUB,
                "trade",
                "2026-09-23T04:59:43.123000Z",
                '{"price":77792.1,"traded_btc":0.0025,"timestamp":1790139583123,"currency":"EUR"}',
            ),
            (
                PUB,
                "trade",
                "2026-09-23T04:59:50.250000Z",
                '{"price":1234567890.12345678,"traded_btc":0.1,"timestamp":1790139590250,'
                '"currency":"EUR"}',
            ),
        ],
        id="trades-two-items-in-order-digits-kept",
    ),
    pytest.param(
        public(
            stream(
                '{"bids":[{"timestamp":1424208720,"amount":17.43992373,"price":265,'
                '"currency":"EUR","category":"buy"}]}'
            )
        ),
        [
            (
                PUB,
                "depth",
                "2015-02-17T21:32:00.000000Z",
                '{"timestamp":1424208720,"amount":17.43992373,"price":265,"currency":"EUR",'
                '"category":"buy"}',
            )
        ],
        id="bids-json-numbers-as-in-paymium-doc",
    ),
    pytest.param(
        public(
            stream(
                '{"asks":[{"timestamp":1424208720,"amount":17.43992373,"price":275,'
                '"currency":"EUR","category":"sell"}]}'
            )
        ),
        [
            (
                PUB,
                "depth",
                "2015-02-17T21:32:00.000000Z",
                '{"timestamp":1424208720,"amount":17.43992373,"price":275,"currency":"EUR",'
                '"category":"sell"}',
            )
        ],
        id="asks-json-numbers-as-in-paymium-doc",
    ),
    pytest.param(
        public(
            stream(
                '{"bids":[{"amount":"0","price":"76300.00","currency":"EUR","category":"buy",'
                '"timestamp":0},{"amount":"0.5","price":"76200.10","currency":"EUR",'
                '"category":"buy","timestamp":"1790139583"}],"asks":[{"amount":"1",'
                '"price":"76400","currency":"EUR","category":"sell","timestamp":1790139593}]}'
            )
        ),
        [
            (
                PUB,
                "depth",
                None,
                '{"amount":0,"price":76300.0,"currency":"EUR","category":"buy","timestamp":0}',
            ),
            (
                PUB,
                "depth",
                "2026-09-23T04:59:43.000000Z",
                '{"amount":0.5,"price":76200.1,"currency":"EUR","category":"buy",'
                '"timestamp":1790139583}',
            ),
            (
                PUB,
                "depth",
                "2026-09-23T04:59:53.000000Z",
                '{"amount":1,"price":76400,"currency":"EUR","category":"sell","timestamp":1790139593}',
            ),
        ],
        id="bids-and-asks-deleted-level-has-no-time",
    ),
    pytest.param(
        public(stream(PRICES)),
        [
            (
                PUB,
                "prices",
                "2026-09-23T04:59:53.000000Z",
                '{"btceur":{"base_currency":"BTC","quote_currency":"EUR","price":76360.74,'
                '"broker_price":77123.11,"timestamp":1790139583,"variation":-0.83},'
                '"btcusd":{"base_currency":"BTC","quote_currency":"USD","price":88000.1,'
                '"broker_price":89000.0,"timestamp":1790139593,"variation":0}}',
            )
        ],
        id="prices-one-item-latest-time",
    ),
    pytest.param(
        public(stream('{"prices":{}}')),
        [(PUB, "prices", None, "{}")],
        id="prices-empty",
    ),
    pytest.param(
        user(
            stream(
                '{"balance_eur":"410.04","locked_eur":"20.24","balance_btc":"53.29811458",'
                '"locked_btc":"0"}'
            )
        ),
        [
            (USR, "balance", None, '{"balance":410.04,"currency":"EUR","trading":false}'),
            (USR, "balance", None, '{"balance":20.24,"currency":"EUR","trading":true}'),
            (USR, "balance", None, '{"balance":53.29811458,"currency":"BTC","trading":false}'),
            (USR, "balance", None, '{"balance":0,"currency":"BTC","trading":true}'),
        ],
        id="balances-decimal-strings",
    ),
    pytest.param(
        user(stream('{"balance_eur":410.04,"locked_btc":0,"balance_xau":"1E+2"}')),
        [
            (USR, "balance", None, '{"balance":410.04,"currency":"EUR","trading":false}'),
            (USR, "balance", None, '{"balance":0,"currency":"BTC","trading":true}'),
            (USR, "balance", None, '{"balance":100.0,"currency":"XAU","trading":false}'),
        ],
        id="balances-json-numbers-as-in-paymium-doc",
    ),
    pytest.param(
        user(stream('{"balance_eur":"12345678901234567890.123456789"}')),
        [
            (
                USR,
                "balance",
                None,
                '{"balance":12345678901234567890.123456789,"currency":"EUR","trading":false}',
            )
        ],
        id="balance-keeps-every-digit",
    ),
    pytest.param(
        user(stream('{"orders":[' + ORDER_DOC + "]}")),
        [(USR, "order", "2015-11-02T11:36:41.000000Z", ORDER_DOC)],
        id="orders-as-in-paymium-doc",
    ),
    pytest.param(
        user(stream('{"orders":[' + ORDER_STRINGS + "," + ORDER_DOC + "]}")),
        [
            (USR, "order", "2026-09-23T05:00:00.123000Z", ORDER_STRINGS_EXPECTED),
            (USR, "order", "2015-11-02T11:36:41.000000Z", ORDER_DOC),
        ],
        id="orders-two-items-nested-account-operations",
    ),
    pytest.param(
        user(stream('{"balance_eur":"1.5","orders":[' + ORDER_DOC + '],"locked_eur":"2"}')),
        [
            (USR, "balance", None, '{"balance":1.5,"currency":"EUR","trading":false}'),
            (USR, "order", "2015-11-02T11:36:41.000000Z", ORDER_DOC),
            (USR, "balance", None, '{"balance":2,"currency":"EUR","trading":true}'),
        ],
        id="user-multi-key-frame-keeps-key-order",
    ),
    pytest.param(
        public(
            stream(
                '{"ticker":{"price":"77792.10","at":1790139583},"trades":[{"price":"77792.10",'
                '"traded_btc":"0.01","timestamp":1790139583123,"currency":"EUR"}],"foo":1}'
            )
        ),
        [
            (PUB, "ticker", "2026-09-23T04:59:43.000000Z", '{"price":77792.1,"at":1790139583}'),
            (
                PUB,
                "trade",
                "2026-09-23T04:59:43.123000Z",
                '{"price":77792.1,"traded_btc":0.01,"timestamp":1790139583123,"currency":"EUR"}',
            ),
            (PUB, "unknown", None, '{"foo":1}'),
        ],
        id="multi-key-frame-with-unknown-key",
    ),
    pytest.param(
        public(stream('{"foo":{"price":"1.00"},"ticker":{"price":"2.50"},"bar":[1]}')),
        [
            (PUB, "unknown", None, '{"foo":{"price":"1.00"}}'),
            (PUB, "ticker", None, '{"price":2.5}'),
            (PUB, "unknown", None, '{"bar":[1]}'),
        ],
        id="unknown-keys-at-their-position-unconverted",
    ),
]

# -- odd values: kept, never dropped ------------------------------------------------

EDGE_CASES = [
    pytest.param(
        public(stream("{}")),
        [(PUB, "unknown", None, "{}")],
        id="empty-object",
    ),
    pytest.param(
        public(stream('{"trades":[]}')),
        [(PUB, "unknown", None, '{"trades":[]}')],
        id="empty-trades-list",
    ),
    pytest.param(
        public(stream('{"trades":[{"price":"1"},5,null],"ticker":"x","bids":{"a":1}}')),
        [
            (PUB, "trade", None, '{"price":1}'),
            (PUB, "unknown", None, '{"trades":[5]}'),
            (PUB, "unknown", None, '{"trades":[null]}'),
            (PUB, "unknown", None, '{"ticker":"x"}'),
            (PUB, "unknown", None, '{"bids":{"a":1}}'),
        ],
        id="known-keys-with-wrong-shapes",
    ),
    pytest.param(
        user(stream('{"balance_":"1","locked_eur":null,"balance_btc":true,"locked_btc":{}}')),
        [
            (USR, "unknown", None, '{"balance_":"1"}'),
            (USR, "unknown", None, '{"locked_eur":null}'),
            (USR, "unknown", None, '{"balance_btc":true}'),
            (USR, "unknown", None, '{"locked_btc":{}}'),
        ],
        id="balance-keys-with-wrong-shapes",
    ),
    pytest.param(
        public(
            stream(
                '{"ticker":{"price":"N/A","bid":"1,5","ask":" 1","low":"01","high":"1.",'
                '"open":".5","vwap":"+1","volume":"1e5","size":"-0","at":"soon",'
                '"variation":"٣","midpoint":"Infinity"}}'
            )
        ),
        [
            (
                PUB,
                "ticker",
                None,
                '{"price":"N/A","bid":"1,5","ask":" 1","low":"01","high":"1.","open":".5",'
                '"vwap":"+1","volume":100000.0,"size":0,"at":"soon","variation":"٣",'
                '"midpoint":"Infinity"}',
            )
        ],
        id="strings-that-are-not-json-decimals-are-kept",
    ),
    pytest.param(
        public(
            stream(
                '{"trades":[{"price":1234567890.12345678,"traded_btc":123456789012345678901234567890,'
                '"timestamp":1790139583123}]}'
            )
        ),
        [
            (
                PUB,
                "trade",
                "2026-09-23T04:59:43.123000Z",
                '{"price":1234567890.12345678,"traded_btc":123456789012345678901234567890,'
                '"timestamp":1790139583123}',
            )
        ],
        id="json-numbers-keep-every-digit",
    ),
    pytest.param(
        public(
            stream('{"trades":[{"price":"1","timestamp":"1e400"},{"price":"2","timestamp":-5}]}')
        ),
        [
            (PUB, "trade", None, '{"price":1,"timestamp":1e400}'),
            (PUB, "trade", None, '{"price":2,"timestamp":-5}'),
        ],
        id="impossible-times-give-no-event-time",
    ),
    pytest.param(
        public(stream('{"ticker":{"trade_id":"123","uuid":"456","currency":"1"}}')),
        [(PUB, "ticker", None, '{"trade_id":"123","uuid":"456","currency":"1"}')],
        id="ids-are-never-converted",
    ),
]

# -- Socket.IO events other than stream, and frames that are not events --------------

EVENT_CASES = [
    pytest.param(
        public(
            '["announcement",[{"id":12,"title":"Maintenance &amp; upgrade","level":"info"},'
            '{"id":13,"title":"New pairs","level":"info"}]]'
        ),
        [
            (
                PUB,
                "announcement",
                None,
                '{"notices":[{"id":12,"title":"Maintenance &amp; upgrade","level":"info"},'
                '{"id":13,"title":"New pairs","level":"info"}]}',
            )
        ],
        id="announcement-list",
    ),
    pytest.param(
        public('["announcement",[]]'),
        [(PUB, "announcement", None, '{"notices":[]}')],
        id="announcement-empty-list",
    ),
    pytest.param(
        user('["announcement",{"message":"Scheduled maintenance","at":1790139583}]'),
        [(USR, "announcement", None, '{"message":"Scheduled maintenance","at":1790139583}')],
        id="announcement-object-on-user",
    ),
    pytest.param(
        public('["announcement","hello"]'),
        [(PUB, "unknown", None, '{"event":"announcement","args":["hello"]}')],
        id="announcement-of-another-shape",
    ),
    pytest.param(
        public('["news",{"price":"1.00"},2]'),
        [(PUB, "unknown", None, '{"event":"news","args":[{"price":"1.00"},2]}')],
        id="other-event",
    ),
    pytest.param(
        public('["stream"]'),
        [(PUB, "unknown", None, '{"event":"stream","args":[]}')],
        id="stream-without-argument",
    ),
    pytest.param(
        public('["stream",{"asks":[]},{"bids":[]}]'),
        [(PUB, "unknown", None, '{"event":"stream","args":[{"asks":[]},{"bids":[]}]}')],
        id="stream-with-two-arguments",
    ),
    pytest.param(
        public('["stream",[{"price":"1"}]]'),
        [(PUB, "unknown", None, '{"event":"stream","args":[[{"price":"1"}]]}')],
        id="stream-with-a-list",
    ),
    pytest.param(
        public('{"asks":[]}'),
        [bad(PUB, "not a Socket.IO event", '{"asks":[]}')],
        id="payload-not-an-array",
    ),
    pytest.param(
        public("[1,2]"),
        [bad(PUB, "not a Socket.IO event", "[1,2]")],
        id="event-name-not-a-string",
    ),
    pytest.param(
        public("[]"),
        [bad(PUB, "not a Socket.IO event", "[]")],
        id="empty-array",
    ),
    pytest.param(
        public('["stream",{"price":NaN}]'),
        [bad(PUB, "invalid JSON", '["stream",{"price":NaN}]')],
        id="nan-is-not-json",
    ),
    pytest.param(
        user('["stream",{"price":1'),
        [bad(USR, "invalid JSON", '["stream",{"price":1')],
        id="truncated-json-on-user",
    ),
    pytest.param(
        public('["stream",{"a":"\\ud800"},1.00000000000000001]'),
        [bad(PUB, "lone surrogate in a string", '["stream",{"a":"\\ud800"},1.00000000000000001]')],
        id="lone-surrogate",
    ),
    pytest.param(
        public('["stream",' + "[" * 300 + "]" * 300 + "]"),
        [(PUB, "unknown", None, '{"event":"stream","args":[' + "[" * 300 + "]" * 300 + "]}")],
        id="nested-deeper-than-orjson-writes-kept-exactly",
    ),
    pytest.param(
        public('["stream",' + "[" * 2000 + "]" * 2000 + "]"),
        [bad(PUB, "JSON nested too deeply", '["stream",' + "[" * 2000 + "]" * 2000 + "]")],
        id="nested-deeper-than-the-decoders-go",
    ),
    pytest.param(
        Frame(recv_us=1, kind="sio", payload=b'["stream",\xff]', channel="/public"),
        [bad(PUB, "invalid UTF-8", '["stream",\ufffd]')],
        id="bytes-payload-not-utf8",
    ),
    pytest.param(
        Frame(recv_us=1, kind="sio", payload=b'["stream",{"foo":1}]', channel="/user"),
        [(USR, "unknown", None, '{"foo":1}')],
        id="bytes-payload-utf8",
    ),
    pytest.param(
        Frame(recv_us=1, kind="sio", payload='["stream",{"foo":1}]', channel=""),
        [(PUB, "unknown", None, '{"foo":1}')],
        id="no-namespace-is-public",
    ),
]


@pytest.mark.parametrize("frame, expected", SEED_CASES)
def test_seed_examples(frame: Frame, expected: list[Expected]) -> None:
    """Every example of the Paymium seed document gives exactly these items."""
    assert items_of(frame) == expected


@pytest.mark.parametrize("frame, expected", LEGACY_CASES)
def test_2015_shape(frame: Frame, expected: list[Expected]) -> None:
    """The 2015 {event, payload} shape, placeholders filled in, gives exactly these items."""
    assert items_of(frame) == expected


@pytest.mark.parametrize("frame, expected", CURRENT_CASES)
def test_current_shape(frame: Frame, expected: list[Expected]) -> None:
    """The current keyed shape of PROTOCOLS.md gives exactly these items."""
    assert items_of(frame) == expected


@pytest.mark.parametrize("frame, expected", EDGE_CASES)
def test_odd_values(frame: Frame, expected: list[Expected]) -> None:
    """Values of unexpected shape are kept, as items or unknown items, never dropped."""
    assert items_of(frame) == expected


@pytest.mark.parametrize("frame, expected", EVENT_CASES)
def test_socketio_events(frame: Frame, expected: list[Expected]) -> None:
    """Announcements, other events and frames that are not events give exactly these items."""
    assert items_of(frame) == expected


def test_sio_source_ignores_argument() -> None:
    """Socket.IO frames take their source from the namespace, not from the caller."""
    assert items_of(user(CAPTURED_ASKS), "node")[0][0] == USR
    assert items_of(public(CAPTURED_ASKS), "paymium.user")[0][0] == PUB


def test_event_us_is_an_int() -> None:
    """event_us is integer microseconds."""
    [(_, _, us, _)] = normalize_frame(public(CAPTURED_ASKS), "")
    assert us == 1_790_139_583_000_000 and type(us) is int
