"""Node normalizer: every seed example and every PROTOCOLS.md shape, item by item.

Each case is a node WebSocket frame as received (pretty-printed, over several
lines) and the exact items it gives: source, event, event_ts (as format_us
prints it) and the data as the bytes `dumps` writes.
"""

from __future__ import annotations

import json

import pytest

from wstail.envelope import format_us
from wstail.frames import Frame, meta_frame
from wstail.jsonexact import dumps
from wstail.normalize import normalize_frame

Expected = tuple[str, str, str | None, str]

NODE = "node"


def items_of(frame: Frame) -> list[Expected]:
    """The items of a frame, with times and data in their printed form."""
    return [
        (src, event, None if us is None else format_us(us), dumps(data).decode())
        for src, event, us, data in normalize_frame(frame, NODE)
    ]


def text(payload: str) -> Frame:
    """A node WebSocket text frame."""
    return Frame(recv_us=1_550_000_000_000_000, kind="text", payload=payload)


def pretty(message: object) -> str:
    """A message as the node writes it: indented, keys sorted."""
    return json.dumps(message, indent=4, sort_keys=True)


def compact(value: object) -> str:
    """The compact JSON text `dumps` writes for plain values."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def bad(reason: str, payload: str) -> Expected:
    """The meta.bad_frame item for a payload."""
    return (NODE, "meta.bad_frame", None, dumps({"reason": reason, "frame": payload}).decode())


# -- the seed document (001_1979cd95e60e8c57.txt), verbatim ----------------------------

SEED_WALLET_UPDATE = """{
  "walletUpdate": {
    "BCH": {
      "confirmed": 0,
      "height": 569437,
      "unconfirmed": 0
    },
    "BTC": {
      "confirmed": 2657,
      "height": 562734,
      "unconfirmed": 0
    },
    "LTC": {
      "confirmed": 83591,
      "height": 1578370,
      "unconfirmed": 0
    },
    "ZEC": {
      "confirmed": 0,
      "height": 480276,
      "unconfirmed": 0
    }
  }
}"""

SEED_WALLET_INCOMING = """{
  "wallet": {
    "address": "",
    "canBumpFee": true,
    "confirmations": 0,
    "height": 0,
    "memo": "",
    "orderId": "",
    "status": "UNCONFIRMED",
    "thumbnail": "",
    "timestamp": "2019-02-12T13:23:43.599771-05:00",
    "txid": "410374604d58fe9840004d3377e36f3aaf1994d154a8ca4c557c3d10fa32aa5c",
    "value": 21756,
    "wallet": "LTC"
  }
}"""

SEED_WALLET_ORDER_PAYMENT_IN = """{
  "wallet": {
    "address": "",
    "canBumpFee": true,
    "confirmations": 1,
    "height": 1578522,
    "memo": "Test Issue v2",
    "orderId": "QmaAeFMH6Ny8XFVZVYXNHfJtyjgyYLxxA4xUc1yvRaBadB",
    "status": "PENDING",
    "thumbnail": "zb2rhcAvGem3fPs8bA2G3qe6LJWhEf7dTjzaBTuXxbSbq9W2a",
    "timestamp": "2019-02-12T15:22:45-05:00",
    "txid": "380b8cac2ceb7bc5c706a88be05519ac111b255048c493fdbd52ea11b451543f",
    "value": 7801,
    "wallet": "LTC"
  }
}"""

SEED_WALLET_ORDER_PAYMENT_OUT = """{
  "wallet": {
    "address": "ltc1qrrrqtazefwln9en5zhex4elswgj7qfupwrc7z4eydh5mv5frwauqhlpnmj",
    "canBumpFee": false,
    "confirmations": 1,
    "height": 1578469,
    "memo": "test ltc 2.3",
    "orderId": "QmTCTBF57ujtZDd7KzHodZdsiHp7zwnzL798s2CB8uftKC",
    "status": "PENDING",
    "thumbnail": "zb2rhjj2XQEJ4XrquY6C1ATdAvYN6HL1HzFcZg65Se9cMnBhk",
    "timestamp": "2019-02-12T13:22:07-05:00",
    "txid": "cf0bd34a7934f4741a62b603cf557f79fc41c25480eba0beecb6ca6d1847001a",
    "value": -27236,
    "wallet": "LTC"
  }
}"""

SEED_PAYMENT_MADE = """{
  "notification": {
    "coinType": "LTC",
    "fundingTotal": 23366,
    "notificationId": "QmYuSCXrR1Bk46VVjzVwE3aw9JcTLPKReYGv6pVHPzCJET",
    "orderId": "QmTCTBF57ujtZDd7KzHodZdsiHp7zwnzL798s2CB8uftKC",
    "type": "payment"
  }
}"""

SEED_OFFLINE_PURCHASE_REJECTED = """{
  "notification": {
    "notificationId": "QmRVdHai627YZ9GcTvWNsGAhvEkndJVbSct1MkUrbH6665",
    "orderId": "QmV27u6aXm6bBu9oLSxnQG1k4Zta3q8iB2BpCA65LV1wAY",
    "thumbnail": {
      "small": "zb2rhdmv4SqzsxFzZK6tPeYkant6rRyFHDfJx3saUZLQsf6VT",
      "tiny": "zb2rhjj2XQEJ4XrquY6C1ATdAvYN6HL1HzFcZg65Se9cMnBhk"
    },
    "type": "declined",
    "vendorHandle": "",
    "vendorId": "QmeVMcgXsy9xyXshREU5avCYYPyrz5bgMZyTZjv44KhNnT"
  }
}"""

SEED_OFFLINE_ORDER_ACCEPTED = """{
  "notification": {
    "notificationId": "QmNirzKXfDySd9qAfH1JjPtLxp9hDqmtcZr9ANccdU3kRW",
    "orderId": "QmRmMj5A3drnnnxBbA5zs2i9PYTw6osQdfxAdJ5cWpFW6G",
    "thumbnail": {
      "small": "zb2rhdmv4SqzsxFzZK6tPeYkant6rRyFHDfJx3saUZLQsf6VT",
      "tiny": "zb2rhjj2XQEJ4XrquY6C1ATdAvYN6HL1HzFcZg65Se9cMnBhk"
    },
    "type": "orderConfirmation",
    "vendorHandle": "",
    "vendorId": "QmeVMcgXsy9xyXshREU5avCYYPyrz5bgMZyTZjv44KhNnT"
  }
}"""

SEED_REFUND_RECEIVED = """{
  "notification": {
    "notificationId": "QmWURc2PX3ho67vHy1gW83kDBHTf3piz7AXVgorXvuLBMU",
    "orderId": "QmTCTBF57ujtZDd7KzHodZdsiHp7zwnzL798s2CB8uftKC",
    "thumbnail": {
      "small": "zb2rhdmv4SqzsxFzZK6tPeYkant6rRyFHDfJx3saUZLQsf6VT",
      "tiny": "zb2rhjj2XQEJ4XrquY6C1ATdAvYN6HL1HzFcZg65Se9cMnBhk"
    },
    "type": "refund",
    "vendorHandle": "",
    "vendorId": "QmeVMcgXsy9xyXshREU5avCYYPyrz5bgMZyTZjv44KhNnT"
  }
}"""

SEED_ORDER_FULFILLED = """{
  "notification": {
    "notificationId": "QmT2LkRZHEZ8Sw7nPys35i5eKtBL4aZR34wiZSirTeemhi",
    "orderId": "QmPDrJEzzz7XgKqgJoJfRis32T7uGpRK3EqTURCwB7CmUa",
    "thumbnail": {
      "small": "zb2rhXytP3KvSpk2w8uMNi8ApM6cEBkcSmAcEp4xuzJ3HXH8W",
      "tiny": "zb2rhimYUmqHiXmPJ1FaAaZse8GvXC9mKSoHAPfbJpninVvqw"
    },
    "type": "fulfillment",
    "vendorHandle": "",
    "vendorId": "Qmdy44rwpPQ2opSJi9LjKSzChMgHXgdC5vPq5zfVUGNYbh"
  }
}"""

SEED_DISPUTE_WINDOW_EXPIRY = """{
  "notification": {
    "expiresIn": 2592000,
    "notificationId": "QmU9F8nhiDQ88oAR4eFiyH3iJKUYzfNkK1KuvJGoVujZBp",
    "orderId": "QmcoKERsaetjQX3cF5YySXQHabh5bthvsrk9WxyuooRsH3",
    "thumbnail": {
      "small": "zb2rhnjzCRVpJKqNvVSmWGG9yJW5vN6kb7x3pLt6mhTpoCiSP",
      "tiny": "zb2rhWtVHeuGumL5u11E7DDqwXMtHinPiAfKmh7kwJv17B5vz"
    },
    "type": "buyerDisputeExpiry"
  }
}"""

SEED_FUNDS_CLAIMED_TODO = """TODO"""

SEED_NEW_ORDER_RECEIVED = """{
  "notification": {
    "buyerHandle": "",
    "buyerId": "QmeVMcgXsy9xyXshREU5avCYYPyrz5bgMZyTZjv44KhNnT",
    "listingType": "DIGITAL_GOOD",
    "notificationId": "Qmbe1AVhpsbdnMnNjEeq44N6L3ujTXVEtEeLcVje3Mk3uE",
    "orderId": "QmbMY8sGFeZ4cF9LGFmDRgT6Ao3sVRtGcYW5vuJ9ckWFAZ",
    "price": {
      "amount": 23422,
      "coinDivisibility": 100000000,
      "currencyCode": "LTC",
      "priceModifier": 0
    },
    "slug": "test-digital-for-2.3",
    "thumbnail": {
      "small": "zb2rhXytP3KvSpk2w8uMNi8ApM6cEBkcSmAcEp4xuzJ3HXH8W",
      "tiny": "zb2rhimYUmqHiXmPJ1FaAaZse8GvXC9mKSoHAPfbJpninVvqw"
    },
    "title": "test digital for 2.3.1",
    "type": "order"
  }
}"""

SEED_ORDER_COMPLETED = """{
  "notification": {
    "buyerHandle": "",
    "buyerId": "QmeVMcgXsy9xyXshREU5avCYYPyrz5bgMZyTZjv44KhNnT",
    "notificationId": "Qmde61M777DpehxhckTBJbEwpNSzC4PqXhsevesw6BgJPi",
    "orderId": "QmbMY8sGFeZ4cF9LGFmDRgT6Ao3sVRtGcYW5vuJ9ckWFAZ",
    "thumbnail": {
      "small": "zb2rhXytP3KvSpk2w8uMNi8ApM6cEBkcSmAcEp4xuzJ3HXH8W",
      "tiny": "zb2rhimYUmqHiXmPJ1FaAaZse8GvXC9mKSoHAPfbJpninVvqw"
    },
    "type": "orderComplete"
  }
}"""

SEED_DISPUTE_OPENED = """{
  "notification": {
    "buyer": "Qmdy44rwpPQ2opSJi9LjKSzChMgHXgdC5vPq5zfVUGNYbh",
    "disputeeHandle": "",
    "disputeeId": "Qmdy44rwpPQ2opSJi9LjKSzChMgHXgdC5vPq5zfVUGNYbh",
    "disputerHandle": "",
    "disputerId": "QmeVMcgXsy9xyXshREU5avCYYPyrz5bgMZyTZjv44KhNnT",
    "notificationId": "QmY9tD3fhZDDSs4NjUtKfYKU7JiP2S1vgx8eF3qKg7Ppgb",
    "orderId": "Qmbxj8B1FaUSjQLZyG9u6yBNZ87HzdJuWkwRK6N2vwQ7gf",
    "thumbnail": {
      "small": "zb2rhdmv4SqzsxFzZK6tPeYkant6rRyFHDfJx3saUZLQsf6VT",
      "tiny": "zb2rhjj2XQEJ4XrquY6C1ATdAvYN6HL1HzFcZg65Se9cMnBhk"
    },
    "type": "disputeOpen"
  }
}"""

SEED_DISPUTE_CLOSED = """{
  "notification": {
    "buyer": "QmShZpfoqTsdov6R7z46YgspWJxcvDmQNQuMMfMxUNBSFr",
    "notificationId": "QmSvTTKgcKj9AwQ4zqnnNPQewy9dJrBfpAL8c1XqeoucfX",
    "orderId": "QmcoKERsaetjQX3cF5YySXQHabh5bthvsrk9WxyuooRsH3",
    "otherPartyHandle": "",
    "otherPartyId": "QmaWkAWZ5ZS1dGmYkkJRBMVGMmAbjpRCPCNeGsxgYLCcx9",
    "thumbnail": {
      "small": "zb2rhnjzCRVpJKqNvVSmWGG9yJW5vN6kb7x3pLt6mhTpoCiSP",
      "tiny": "zb2rhWtVHeuGumL5u11E7DDqwXMtHinPiAfKmh7kwJv17B5vz"
    },
    "type": "disputeClose"
  }
}"""

SEED_DISPUTE_ACCEPTED = """{
  "notification": {
    "buyer": "Qmdy44rwpPQ2opSJi9LjKSzChMgHXgdC5vPq5zfVUGNYbh",
    "notificationId": "QmeFmw8UWQbXyqRCMfLg99u73wN6rgc8BCQ4YN4bQqxw76",
    "orderId": "Qmbxj8B1FaUSjQLZyG9u6yBNZ87HzdJuWkwRK6N2vwQ7gf",
    "otherPartyHandle": "",
    "otherPartyId": "QmeVMcgXsy9xyXshREU5avCYYPyrz5bgMZyTZjv44KhNnT",
    "thumbnail": {
      "small": "zb2rhdmv4SqzsxFzZK6tPeYkant6rRyFHDfJx3saUZLQsf6VT",
      "tiny": "zb2rhjj2XQEJ4XrquY6C1ATdAvYN6HL1HzFcZg65Se9cMnBhk"
    },
    "type": "disputeAccepted"
  }
}"""

SEED_MODERATOR_DISPUTE_EXPIRED = """{
  "notification": {
    "disputeCaseId": "QmPgRCqyHq3KRQf7nKkqA5m6gyNyBU6gtZ4tx787csgGpG",
    "expiresIn": 2592000,
    "notificationId": "QmVFtZH85xEnWqEKDimJSLY7uMSAhY6X9MHzsSo4jhcPJt",
    "thumbnail": {
      "small": "zb2rhcmCAkJSDmmC2B7vQ2bWdKsNzuuuJny5aMV47KiKEhYxB",
      "tiny": "zb2rhfrfJrssPwMKxxxjJeiA1k2XuQ3p26hjAJtbmwhqufME3"
    },
    "type": "moderatorDisputeExpiry"
  }
}"""

SEED_PROFILE = """{
  "id": "cd29c03d-2736-1ad3-2cc9-88e1407041d0",
  "peerId": "QmdAJqBxLhYCMyfsaTR3rTWPAW8D1gBX5VET9dr25jXzQg",
  "profile": {
    "about": "",
    "avatarHashes": {
      "large": "zb2rhbCspUDPfmcWq9fEoTW3vbRAPiHhXxcViAidCt7uYndkG",
      "medium": "zb2rhf3fYMZ4gJkoBMT5H3aS71nPDYjmRHdJf4aBnudmtZfY6",
      "original": "zb2rhZTA5U1ysidVRd8iB28mLKPtaMQUFiasAKnidYFsXyVzc",
      "small": "zb2rhYDJtfaLSTQFdATtFEeUQV4fjH1D8sFQYV5rFAVJiWR7y",
      "tiny": "zb2rhhS44cknMFb2qZFmiCcTU4mH7mk76ug3VDj3K54u6Hk14"
    },
    "bitcoinPubkey": "0204345a9c686fc5bafbeb040c7cae6c8be2a61a862fcb0ba0c06ec839d0b58a39",
    "colors": {
      "highlight": "#2BAD23",
      "highlightText": "#252525",
      "primary": "#FFFFFF",
      "secondary": "#ECEEF2",
      "text": "#252525"
    },
    "contactInfo": {
      "email": "",
      "phoneNumber": "",
      "social": [],
      "website": ""
    },
    "currencies": [
      "BCH",
      "ZEC",
      "LTC",
      "BTC"
    ],
    "handle": "",
    "lastModified": "2019-01-21T21:20:41.058031Z",
    "location": "test location 1",
    "moderator": false,
    "name": "tester2",
    "nsfw": false,
    "peerID": "QmdAJqBxLhYCMyfsaTR3rTWPAW8D1gBX5VET9dr25jXzQg",
    "shortDescription": "",
    "stats": {
      "averageRating": 1,
      "followerCount": 6,
      "followingCount": 1,
      "listingCount": 3,
      "postCount": 0,
      "ratingCount": 2
    },
    "vendor": true
  }
}"""

SEED_PROFILE_ERROR = """{
  "error": "Not found",
  "id": "7863b9a5-118f-c1ed-0f34-c0b6a3e02edd",
  "peerID": "QmeVMcgXsy9xyXshREU5avCYYPyrz5bgMZyTZjv44KhNnT"
}"""

SEED_CHAT_MESSAGE = """{
  "message": {
    "message": "Example message.",
    "messageId": "QmSzWn8fM8bnnwrnUphovDagSqj4ShQwbQMr5ScEUAoxJZ",
    "outgoing": false,
    "peerId": "QmeVMcgXsy9xyXshREU5avCYYPyrz5bgMZyTZjv44KhNnT",
    "read": false,
    "subject": "",
    "timestamp": "2019-02-12T10:17:23.410576-05:00"
  }
}"""

SEED_CHAT_ORDER_MESSAGE = """{
  "message": {
    "message": "Example order message.",
    "messageId": "QmNc3zQrXnGByravKMYsov8sxKiUV7mKPX1yWdoAUwdD7R",
    "outgoing": false,
    "peerId": "QmeVMcgXsy9xyXshREU5avCYYPyrz5bgMZyTZjv44KhNnT",
    "read": false,
    "subject": "QmbMY8sGFeZ4cF9LGFmDRgT6Ao3sVRtGcYW5vuJ9ckWFAZ",
    "timestamp": "2019-02-12T10:21:20.871564-05:00"
  }
}"""

SEED_CHAT_TYPING = """{
  "messageTyping": {
    "messageId": "QmRuBDknbF1Fpw9kZFccNtLWJQ8t4YcMaouHnMNz9pwg1i",
    "peerId": "QmeVMcgXsy9xyXshREU5avCYYPyrz5bgMZyTZjv44KhNnT",
    "subject": ""
  }
}"""

SEED_MODERATOR_TODO = """TODO"""

SEED_FOLLOW = """{
  "notification": {
    "notificationId": "QmQYebg3egh4TaMrmKrxezgbMNngHPY3cpsh3uEnz6wJPZ",
    "peerId": "QmX29bG4vhFhj9FzVt1wYovqFRJS4xcvwruwcYPevaV8dt",
    "type": "follow"
  }
}"""

SEED_UNFOLLOW = """{
  "notification": {
    "notificationId": "QmQYebg3egh4TaMrmKrxezgbMNngHPY3cpsh3uEnz6wJPZ",
    "peerId": "QmX29bG4vhFhj9FzVt1wYovqFRJS4xcvwruwcYPevaV8dt",
    "type": "unfollow"
  }
}"""

SEED_STATUS_PUBLISHING = """{
  "status": "publishing"
}"""

SEED_STATUS_COMPLETE = """{
  "status": "publish complete"
}"""

THUMB_A = (
    '"thumbnail":{"small":"zb2rhdmv4SqzsxFzZK6tPeYkant6rRyFHDfJx3saUZLQsf6VT",'
    '"tiny":"zb2rhjj2XQEJ4XrquY6C1ATdAvYN6HL1HzFcZg65Se9cMnBhk"}'
)
THUMB_B = (
    '"thumbnail":{"small":"zb2rhXytP3KvSpk2w8uMNi8ApM6cEBkcSmAcEp4xuzJ3HXH8W",'
    '"tiny":"zb2rhimYUmqHiXmPJ1FaAaZse8GvXC9mKSoHAPfbJpninVvqw"}'
)
THUMB_C = (
    '"thumbnail":{"small":"zb2rhnjzCRVpJKqNvVSmWGG9yJW5vN6kb7x3pLt6mhTpoCiSP",'
    '"tiny":"zb2rhWtVHeuGumL5u11E7DDqwXMtHinPiAfKmh7kwJv17B5vz"}'
)
VENDOR = '"vendorHandle":"","vendorId":"QmeVMcgXsy9xyXshREU5avCYYPyrz5bgMZyTZjv44KhNnT"'

SEED_CASES = [
    pytest.param(
        text(SEED_WALLET_UPDATE),
        [
            (
                NODE,
                "wallet.balance",
                None,
                '{"currency":"BCH","confirmed":0,"height":569437,"unconfirmed":0}',
            ),
            (
                NODE,
                "wallet.balance",
                None,
                '{"currency":"BTC","confirmed":2657,"height":562734,"unconfirmed":0}',
            ),
            (
                NODE,
                "wallet.balance",
                None,
                '{"currency":"LTC","confirmed":83591,"height":1578370,"unconfirmed":0}',
            ),
            (
                NODE,
                "wallet.balance",
                None,
                '{"currency":"ZEC","confirmed":0,"height":480276,"unconfirmed":0}',
            ),
        ],
        id="seed-wallet-update-one-item-per-coin",
    ),
    pytest.param(
        text(SEED_WALLET_INCOMING),
        [
            (
                NODE,
                "wallet.tx",
                "2019-02-12T18:23:43.599771Z",
                '{"address":"","canBumpFee":true,"confirmations":0,"height":0,"memo":"","orderId":"",'
                '"status":"UNCONFIRMED","thumbnail":"","timestamp":"2019-02-12T13:23:43.599771-05:00",'
                '"txid":"410374604d58fe9840004d3377e36f3aaf1994d154a8ca4c557c3d10fa32aa5c",'
                '"value":21756,"wallet":"LTC"}',
            )
        ],
        id="seed-wallet-incoming-funds",
    ),
    pytest.param(
        text(SEED_WALLET_ORDER_PAYMENT_IN),
        [
            (
                NODE,
                "wallet.tx",
                "2019-02-12T20:22:45.000000Z",
                '{"address":"","canBumpFee":true,"confirmations":1,"height":1578522,'
                '"memo":"Test Issue v2","orderId":"QmaAeFMH6Ny8XFVZVYXNHfJtyjgyYLxxA4xUc1yvRaBadB",'
                '"status":"PENDING","thumbnail":"zb2rhcAvGem3fPs8bA2G3qe6LJWhEf7dTjzaBTuXxbSbq9W2a",'
                '"timestamp":"2019-02-12T15:22:45-05:00",'
                '"txid":"380b8cac2ceb7bc5c706a88be05519ac111b255048c493fdbd52ea11b451543f",'
                '"value":7801,"wallet":"LTC"}',
            )
        ],
        id="seed-wallet-incoming-payment-for-an-order",
    ),
    pytest.param(
        text(SEED_WALLET_ORDER_PAYMENT_OUT),
        [
            (
                NODE,
                "wallet.tx",
                "2019-02-12T18:22:07.000000Z",
                '{"address":"ltc1qrrrqtazefwln9en5zhex4elswgj7qfupwrc7z4eydh5mv5frwauqhlpnmj",'
                '"canBumpFee":false,"confirmations":1,"height":1578469,"memo":"test ltc 2.3",'
                '"orderId":"QmTCTBF57ujtZDd7KzHodZdsiHp7zwnzL798s2CB8uftKC","status":"PENDING",'
                '"thumbnail":"zb2rhjj2XQEJ4XrquY6C1ATdAvYN6HL1HzFcZg65Se9cMnBhk",'
                '"timestamp":"2019-02-12T13:22:07-05:00",'
                '"txid":"cf0bd34a7934f4741a62b603cf557f79fc41c25480eba0beecb6ca6d1847001a",'
                '"value":-27236,"wallet":"LTC"}',
            )
        ],
        id="seed-wallet-outgoing-payment-for-an-order",
    ),
    pytest.param(
        text(SEED_PAYMENT_MADE),
        [
            (
                NODE,
                "notification.payment",
                None,
                '{"coinType":"LTC","fundingTotal":23366,'
                '"notificationId":"QmYuSCXrR1Bk46VVjzVwE3aw9JcTLPKReYGv6pVHPzCJET",'
                '"orderId":"QmTCTBF57ujtZDd7KzHodZdsiHp7zwnzL798s2CB8uftKC","type":"payment"}',
            )
        ],
        id="seed-payment-made",
    ),
    pytest.param(
        text(SEED_OFFLINE_PURCHASE_REJECTED),
        [
            (
                NODE,
                "notification.orderDeclined",
                None,
                '{"notificationId":"QmRVdHai627YZ9GcTvWNsGAhvEkndJVbSct1MkUrbH6665",'
                '"orderId":"QmV27u6aXm6bBu9oLSxnQG1k4Zta3q8iB2BpCA65LV1wAY",'
                + THUMB_A
                + ',"type":"declined",'
                + VENDOR
                + "}",
            )
        ],
        id="seed-offline-purchase-rejected-legacy-declined",
    ),
    pytest.param(
        text(SEED_OFFLINE_ORDER_ACCEPTED),
        [
            (
                NODE,
                "notification.orderConfirmation",
                None,
                '{"notificationId":"QmNirzKXfDySd9qAfH1JjPtLxp9hDqmtcZr9ANccdU3kRW",'
                '"orderId":"QmRmMj5A3drnnnxBbA5zs2i9PYTw6osQdfxAdJ5cWpFW6G",'
                + THUMB_A
                + ',"type":"orderConfirmation",'
                + VENDOR
                + "}",
            )
        ],
        id="seed-offline-order-accepted",
    ),
    pytest.param(
        text(SEED_REFUND_RECEIVED),
        [
            (
                NODE,
                "notification.refund",
                None,
                '{"notificationId":"QmWURc2PX3ho67vHy1gW83kDBHTf3piz7AXVgorXvuLBMU",'
                '"orderId":"QmTCTBF57ujtZDd7KzHodZdsiHp7zwnzL798s2CB8uftKC",'
                + THUMB_A
                + ',"type":"refund",'
                + VENDOR
                + "}",
            )
        ],
        id="seed-refund-received",
    ),
    pytest.param(
        text(SEED_ORDER_FULFILLED),
        [
            (
                NODE,
                "notification.fulfillment",
                None,
                '{"notificationId":"QmT2LkRZHEZ8Sw7nPys35i5eKtBL4aZR34wiZSirTeemhi",'
                '"orderId":"QmPDrJEzzz7XgKqgJoJfRis32T7uGpRK3EqTURCwB7CmUa",'
                + THUMB_B
                + ',"type":"fulfillment","vendorHandle":"",'
                '"vendorId":"Qmdy44rwpPQ2opSJi9LjKSzChMgHXgdC5vPq5zfVUGNYbh"}',
            )
        ],
        id="seed-order-fulfilled",
    ),
    pytest.param(
        text(SEED_DISPUTE_WINDOW_EXPIRY),
        [
            (
                NODE,
                "notification.buyerDisputeExpiry",
                None,
                '{"expiresIn":2592000,"notificationId":"QmU9F8nhiDQ88oAR4eFiyH3iJKUYzfNkK1KuvJGoVujZBp",'
                '"orderId":"QmcoKERsaetjQX3cF5YySXQHabh5bthvsrk9WxyuooRsH3",'
                + THUMB_C
                + ',"type":"buyerDisputeExpiry"}',
            )
        ],
        id="seed-dispute-window-expiry",
    ),
    pytest.param(
        text(SEED_FUNDS_CLAIMED_TODO),
        [bad("invalid JSON", "TODO")],
        id="seed-funds-claimed-todo-is-not-json",
    ),
    pytest.param(
        text(SEED_NEW_ORDER_RECEIVED),
        [
            (
                NODE,
                "notification.order",
                None,
                '{"buyerHandle":"","buyerId":"QmeVMcgXsy9xyXshREU5avCYYPyrz5bgMZyTZjv44KhNnT",'
                '"listingType":"DIGITAL_GOOD","notificationId":"Qmbe1AVhpsbdnMnNjEeq44N6L3ujTXVEtEeLcVje3Mk3uE",'
                '"orderId":"QmbMY8sGFeZ4cF9LGFmDRgT6Ao3sVRtGcYW5vuJ9ckWFAZ","price":{"amount":23422,'
                '"coinDivisibility":100000000,"currencyCode":"LTC","priceModifier":0},'
                '"slug":"test-digital-for-2.3",'
                + THUMB_B
                + ',"title":"test digital for 2.3.1","type":"order"}',
            )
        ],
        id="seed-new-order-received-v013-money",
    ),
    pytest.param(
        text(SEED_ORDER_COMPLETED),
        [
            (
                NODE,
                "notification.orderComplete",
                None,
                '{"buyerHandle":"","buyerId":"QmeVMcgXsy9xyXshREU5avCYYPyrz5bgMZyTZjv44KhNnT",'
                '"notificationId":"Qmde61M777DpehxhckTBJbEwpNSzC4PqXhsevesw6BgJPi",'
                '"orderId":"QmbMY8sGFeZ4cF9LGFmDRgT6Ao3sVRtGcYW5vuJ9ckWFAZ",'
                + THUMB_B
                + ',"type":"orderComplete"}',
            )
        ],
        id="seed-order-completed",
    ),
    pytest.param(
        text(SEED_DISPUTE_OPENED),
        [
            (
                NODE,
                "notification.disputeOpen",
                None,
                '{"buyer":"Qmdy44rwpPQ2opSJi9LjKSzChMgHXgdC5vPq5zfVUGNYbh","disputeeHandle":"",'
                '"disputeeId":"Qmdy44rwpPQ2opSJi9LjKSzChMgHXgdC5vPq5zfVUGNYbh","disputerHandle":"",'
                '"disputerId":"QmeVMcgXsy9xyXshREU5avCYYPyrz5bgMZyTZjv44KhNnT",'
                '"notificationId":"QmY9tD3fhZDDSs4NjUtKfYKU7JiP2S1vgx8eF3qKg7Ppgb",'
                '"orderId":"Qmbxj8B1FaUSjQLZyG9u6yBNZ87HzdJuWkwRK6N2vwQ7gf",'
                + THUMB_A
                + ',"type":"disputeOpen"}',
            )
        ],
        id="seed-dispute-opened",
    ),
    pytest.param(
        text(SEED_DISPUTE_CLOSED),
        [
            (
                NODE,
                "notification.disputeClose",
                None,
                '{"buyer":"QmShZpfoqTsdov6R7z46YgspWJxcvDmQNQuMMfMxUNBSFr",'
                '"notificationId":"QmSvTTKgcKj9AwQ4zqnnNPQewy9dJrBfpAL8c1XqeoucfX",'
                '"orderId":"QmcoKERsaetjQX3cF5YySXQHabh5bthvsrk9WxyuooRsH3","otherPartyHandle":"",'
                '"otherPartyId":"QmaWkAWZ5ZS1dGmYkkJRBMVGMmAbjpRCPCNeGsxgYLCcx9",'
                + THUMB_C
                + ',"type":"disputeClose"}',
            )
        ],
        id="seed-dispute-closed",
    ),
    pytest.param(
        text(SEED_DISPUTE_ACCEPTED),
        [
            (
                NODE,
                "notification.disputeAccepted",
                None,
                '{"buyer":"Qmdy44rwpPQ2opSJi9LjKSzChMgHXgdC5vPq5zfVUGNYbh",'
                '"notificationId":"QmeFmw8UWQbXyqRCMfLg99u73wN6rgc8BCQ4YN4bQqxw76",'
                '"orderId":"Qmbxj8B1FaUSjQLZyG9u6yBNZ87HzdJuWkwRK6N2vwQ7gf","otherPartyHandle":"",'
                '"otherPartyId":"QmeVMcgXsy9xyXshREU5avCYYPyrz5bgMZyTZjv44KhNnT",'
                + THUMB_A
                + ',"type":"disputeAccepted"}',
            )
        ],
        id="seed-dispute-accepted",
    ),
    pytest.param(
        text(SEED_MODERATOR_DISPUTE_EXPIRED),
        [
            (
                NODE,
                "notification.moderatorDisputeExpiry",
                None,
                '{"disputeCaseId":"QmPgRCqyHq3KRQf7nKkqA5m6gyNyBU6gtZ4tx787csgGpG","expiresIn":2592000,'
                '"notificationId":"QmVFtZH85xEnWqEKDimJSLY7uMSAhY6X9MHzsSo4jhcPJt",'
                '"thumbnail":{"small":"zb2rhcmCAkJSDmmC2B7vQ2bWdKsNzuuuJny5aMV47KiKEhYxB",'
                '"tiny":"zb2rhfrfJrssPwMKxxxjJeiA1k2XuQ3p26hjAJtbmwhqufME3"},'
                '"type":"moderatorDisputeExpiry"}',
            )
        ],
        id="seed-moderator-dispute-window-expired",
    ),
    pytest.param(
        text(SEED_PROFILE),
        [
            (
                NODE,
                "profile",
                None,
                '{"id":"cd29c03d-2736-1ad3-2cc9-88e1407041d0",'
                '"peerId":"QmdAJqBxLhYCMyfsaTR3rTWPAW8D1gBX5VET9dr25jXzQg","profile":{"about":"",'
                '"avatarHashes":{"large":"zb2rhbCspUDPfmcWq9fEoTW3vbRAPiHhXxcViAidCt7uYndkG",'
                '"medium":"zb2rhf3fYMZ4gJkoBMT5H3aS71nPDYjmRHdJf4aBnudmtZfY6",'
                '"original":"zb2rhZTA5U1ysidVRd8iB28mLKPtaMQUFiasAKnidYFsXyVzc",'
                '"small":"zb2rhYDJtfaLSTQFdATtFEeUQV4fjH1D8sFQYV5rFAVJiWR7y",'
                '"tiny":"zb2rhhS44cknMFb2qZFmiCcTU4mH7mk76ug3VDj3K54u6Hk14"},'
                '"bitcoinPubkey":"0204345a9c686fc5bafbeb040c7cae6c8be2a61a862fcb0ba0c06ec839d0b58a39",'
                '"colors":{"highlight":"#2BAD23","highlightText":"#252525","primary":"#FFFFFF",'
                '"secondary":"#ECEEF2","text":"#252525"},"contactInfo":{"email":"","phoneNumber":"",'
                '"social":[],"website":""},"currencies":["BCH","ZEC","LTC","BTC"],"handle":"",'
                '"lastModified":"2019-01-21T21:20:41.058031Z","location":"test location 1",'
                '"moderator":false,"name":"tester2","nsfw":false,'
                '"peerId":"QmdAJqBxLhYCMyfsaTR3rTWPAW8D1gBX5VET9dr25jXzQg","shortDescription":"",'
                '"stats":{"averageRating":1,"followerCount":6,"followingCount":1,"listingCount":3,'
                '"postCount":0,"ratingCount":2},"vendor":true}}',
            )
        ],
        id="seed-profile-nested-peerID-renamed-in-place",
    ),
    pytest.param(
        text(SEED_PROFILE_ERROR),
        [
            (
                NODE,
                "profile.error",
                None,
                '{"error":"Not found","id":"7863b9a5-118f-c1ed-0f34-c0b6a3e02edd",'
                '"peerId":"QmeVMcgXsy9xyXshREU5avCYYPyrz5bgMZyTZjv44KhNnT"}',
            )
        ],
        id="seed-profile-error-peerID",
    ),
    pytest.param(
        text(SEED_CHAT_MESSAGE),
        [
            (
                NODE,
                "chat.message",
                "2019-02-12T15:17:23.410576Z",
                '{"message":"Example message.",'
                '"messageId":"QmSzWn8fM8bnnwrnUphovDagSqj4ShQwbQMr5ScEUAoxJZ",'
                '"outgoing":false,"peerId":"QmeVMcgXsy9xyXshREU5avCYYPyrz5bgMZyTZjv44KhNnT","read":false,'
                '"subject":"","timestamp":"2019-02-12T10:17:23.410576-05:00"}',
            )
        ],
        id="seed-chat-message",
    ),
    pytest.param(
        text(SEED_CHAT_ORDER_MESSAGE),
        [
            (
                NODE,
                "chat.message",
                "2019-02-12T15:21:20.871564Z",
                '{"message":"Example order message.",'
                '"messageId":"QmNc3zQrXnGByravKMYsov8sxKiUV7mKPX1yWdoAUwdD7R","outgoing":false,'
                '"peerId":"QmeVMcgXsy9xyXshREU5avCYYPyrz5bgMZyTZjv44KhNnT","read":false,'
                '"subject":"QmbMY8sGFeZ4cF9LGFmDRgT6Ao3sVRtGcYW5vuJ9ckWFAZ",'
                '"timestamp":"2019-02-12T10:21:20.871564-05:00"}',
            )
        ],
        id="seed-chat-order-message",
    ),
    pytest.param(
        text(SEED_CHAT_TYPING),
        [
            (
                NODE,
                "chat.typing",
                None,
                '{"messageId":"QmRuBDknbF1Fpw9kZFccNtLWJQ8t4YcMaouHnMNz9pwg1i",'
                '"peerId":"QmeVMcgXsy9xyXshREU5avCYYPyrz5bgMZyTZjv44KhNnT","subject":""}',
            )
        ],
        id="seed-chat-typing",
    ),
    pytest.param(
        text(SEED_MODERATOR_TODO),
        [bad("invalid JSON", "TODO")],
        id="seed-moderator-todo-is-not-json",
    ),
    pytest.param(
        text(SEED_FOLLOW),
        [
            (
                NODE,
                "notification.follow",
                None,
                '{"notificationId":"QmQYebg3egh4TaMrmKrxezgbMNngHPY3cpsh3uEnz6wJPZ",'
                '"peerId":"QmX29bG4vhFhj9FzVt1wYovqFRJS4xcvwruwcYPevaV8dt","type":"follow"}',
            )
        ],
        id="seed-follow",
    ),
    pytest.param(
        text(SEED_UNFOLLOW),
        [
            (
                NODE,
                "notification.unfollow",
                None,
                '{"notificationId":"QmQYebg3egh4TaMrmKrxezgbMNngHPY3cpsh3uEnz6wJPZ",'
                '"peerId":"QmX29bG4vhFhj9FzVt1wYovqFRJS4xcvwruwcYPevaV8dt","type":"unfollow"}',
            )
        ],
        id="seed-unfollow",
    ),
    pytest.param(
        text(SEED_STATUS_PUBLISHING),
        [(NODE, "status", None, '{"status":"publishing"}')],
        id="seed-status-publishing",
    ),
    pytest.param(
        text(SEED_STATUS_COMPLETE),
        [(NODE, "status", None, '{"status":"publish complete"}')],
        id="seed-status-publish-complete",
    ),
]

# -- v0.14 money, testnet codes, and the other shapes of PROTOCOLS.md -----------------

WALLET_UPDATE_V014 = """{
    "walletUpdate": {
        "BTC": {
            "confirmed": "2657",
            "currency": {
                "code": "BTC",
                "divisibility": 8
            },
            "height": 562734,
            "unconfirmed": "0"
        },
        "TBTC": {
            "confirmed": "123456789012345678901234567890",
            "currency": {
                "code": "TBTC",
                "divisibility": 8
            },
            "height": 1,
            "unconfirmed": "-5"
        }
    }
}"""

WALLET_TX_V014 = """{
    "wallet": {
        "address": "tb1qrrrqtazefwln9en5zhex4elswgj7qfupwrc7z4",
        "canBumpFee": false,
        "confirmations": 0,
        "height": 0,
        "memo": "Tom &amp; Jerry&#39;s &lt;shop&gt; \\u0026amp; more",
        "orderId": "",
        "status": "UNCONFIRMED",
        "thumbnail": "",
        "timestamp": "2019-02-12T13:23:43.5997719-05:00",
        "txid": "cf0bd34a7934f4741a62b603cf557f79fc41c25480eba0beecb6ca6d1847001a",
        "value": {
            "amount": "-27236",
            "currency": {
                "code": "LTC",
                "divisibility": 8
            }
        }
    }
}"""

ORDER_V014 = """{
    "notification": {
        "buyerHandle": "",
        "buyerId": "QmeVMcgXsy9xyXshREU5avCYYPyrz5bgMZyTZjv44KhNnT",
        "listingType": "PHYSICAL_GOOD",
        "notificationId": "Qmbe1AVhpsbdnMnNjEeq44N6L3ujTXVEtEeLcVje3Mk3uE",
        "orderId": "QmbMY8sGFeZ4cF9LGFmDRgT6Ao3sVRtGcYW5vuJ9ckWFAZ",
        "price": {
            "amount": "184467440737095516150",
            "currency": {
                "code": "TBTC",
                "divisibility": 8
            }
        },
        "slug": "salt-&amp;-pepper",
        "thumbnail": {
            "small": "zb2rhXytP3KvSpk2w8uMNi8ApM6cEBkcSmAcEp4xuzJ3HXH8W",
            "tiny": "zb2rhimYUmqHiXmPJ1FaAaZse8GvXC9mKSoHAPfbJpninVvqw"
        },
        "title": "Salt &amp; Pepper &quot;deluxe&quot;",
        "type": "order"
    }
}"""

PAYMENT_V014 = """{
    "notification": {
        "coinType": "LTC",
        "fundingTotal": {
            "amount": "23366",
            "currency": {
                "code": "LTC",
                "divisibility": 8
            }
        },
        "notificationId": "QmYuSCXrR1Bk46VVjzVwE3aw9JcTLPKReYGv6pVHPzCJET",
        "orderId": "QmTCTBF57ujtZDd7KzHodZdsiHp7zwnzL798s2CB8uftKC",
        "type": "payment"
    }
}"""

PROTOCOL_CASES = [
    pytest.param(
        text(WALLET_UPDATE_V014),
        [
            (
                NODE,
                "wallet.balance",
                None,
                '{"currency":"BTC","confirmed":2657,"height":562734,"unconfirmed":0,"divisibility":8}',
            ),
            (
                NODE,
                "wallet.balance",
                None,
                '{"currency":"TBTC","confirmed":123456789012345678901234567890,"height":1,'
                '"unconfirmed":-5,"divisibility":8}',
            ),
        ],
        id="wallet-update-v014-strings-and-currency-object",
    ),
    pytest.param(
        text(
            pretty(
                {
                    "walletUpdate": {
                        "BTC": {
                            "confirmed": "1",
                            "currency": {"code": "TBTC", "divisibility": "8", "name": "Testnet"},
                            "divisibility": 2,
                            "unconfirmed": "0",
                        },
                        "LTC": {"confirmed": 5, "currency": "LTC"},
                        "ZEC": {"confirmed": 6, "currency": "TAZ"},
                    }
                }
            )
        ),
        [
            (
                NODE,
                "wallet.balance",
                None,
                '{"currency":"BTC","confirmed":1,"divisibility":2,"unconfirmed":0,'
                '"currencyCode":"TBTC","currencyDivisibility":8,"name":"Testnet"}',
            ),
            (NODE, "wallet.balance", None, '{"currency":"LTC","confirmed":5}'),
            (NODE, "wallet.balance", None, '{"currency":"ZEC","confirmed":6,"currencyCode":"TAZ"}'),
        ],
        id="wallet-update-currency-object-never-overwrites",
    ),
    pytest.param(
        text(WALLET_TX_V014),
        [
            (
                NODE,
                "wallet.tx",
                "2019-02-12T18:23:43.599771Z",
                '{"address":"tb1qrrrqtazefwln9en5zhex4elswgj7qfupwrc7z4","canBumpFee":false,'
                '"confirmations":0,"height":0,"memo":"Tom & Jerry\'s <shop> & more","orderId":"",'
                '"status":"UNCONFIRMED","thumbnail":"","timestamp":"2019-02-12T13:23:43.5997719-05:00",'
                '"txid":"cf0bd34a7934f4741a62b603cf557f79fc41c25480eba0beecb6ca6d1847001a",'
                '"value":{"amount":-27236,"currency":{"code":"LTC","divisibility":8}}}',
            )
        ],
        id="wallet-tx-v014-money-and-html-escapes",
    ),
    pytest.param(
        text(ORDER_V014),
        [
            (
                NODE,
                "notification.order",
                None,
                '{"buyerHandle":"","buyerId":"QmeVMcgXsy9xyXshREU5avCYYPyrz5bgMZyTZjv44KhNnT",'
                '"listingType":"PHYSICAL_GOOD","notificationId":"Qmbe1AVhpsbdnMnNjEeq44N6L3ujTXVEtEeLcVje3Mk3uE",'
                '"orderId":"QmbMY8sGFeZ4cF9LGFmDRgT6Ao3sVRtGcYW5vuJ9ckWFAZ",'
                '"price":{"amount":184467440737095516150,"currency":{"code":"TBTC","divisibility":8}},'
                '"slug":"salt-&-pepper",'
                + THUMB_B
                + ',"title":"Salt & Pepper \\"deluxe\\"","type":"order"}',
            )
        ],
        id="notification-order-v014-money-beyond-64-bits",
    ),
    pytest.param(
        text(PAYMENT_V014),
        [
            (
                NODE,
                "notification.payment",
                None,
                '{"coinType":"LTC","fundingTotal":{"amount":23366,"currency":{"code":"LTC",'
                '"divisibility":8}},"notificationId":"QmYuSCXrR1Bk46VVjzVwE3aw9JcTLPKReYGv6pVHPzCJET",'
                '"orderId":"QmTCTBF57ujtZDd7KzHodZdsiHp7zwnzL798s2CB8uftKC","type":"payment"}',
            )
        ],
        id="notification-payment-v014-money",
    ),
    pytest.param(
        text(
            pretty(
                {
                    "notification": {
                        "coinType": "BTC",
                        "fundingTotal": "23366",
                        "notificationId": "Qm1",
                        "orderId": "Qm2",
                        "type": "payment",
                    }
                }
            )
        ),
        [
            (
                NODE,
                "notification.payment",
                None,
                '{"coinType":"BTC","fundingTotal":23366,"notificationId":"Qm1","orderId":"Qm2",'
                '"type":"payment"}',
            )
        ],
        id="notification-payment-funding-total-string",
    ),
    pytest.param(
        text(
            pretty(
                {"notification": {"notificationId": "Qm1", "orderId": "Qm2", "type": "canceled"}}
            )
        ),
        [
            (
                NODE,
                "notification.cancel",
                None,
                '{"notificationId":"Qm1","orderId":"Qm2","type":"canceled"}',
            )
        ],
        id="notification-legacy-canceled-is-cancel",
    ),
    pytest.param(
        text(
            pretty(
                {
                    "notification": {
                        "notificationId": "Qm1",
                        "peerID": "QmX29bG4vhFhj9FzVt1wYovqFRJS4xcvwruwcYPevaV8dt",
                        "type": "moderatorAdd",
                    }
                }
            )
        ),
        [
            (
                NODE,
                "notification.moderatorAdd",
                None,
                '{"notificationId":"Qm1","peerId":"QmX29bG4vhFhj9FzVt1wYovqFRJS4xcvwruwcYPevaV8dt",'
                '"type":"moderatorAdd"}',
            )
        ],
        id="notification-peerID-renamed",
    ),
    pytest.param(
        text(
            pretty(
                {
                    "notification": {
                        "notification": {
                            "notificationId": "Qm1",
                            "orderId": "Qm2",
                            "type": "order",
                        },
                        "read": "false",
                        "timestamp": "2019-02-12T10:17:23.410576-05:00",
                        "type": "order",
                    }
                }
            )
        ),
        [
            (
                NODE,
                "notification.order",
                "2019-02-12T15:17:23.410576Z",
                '{"notification":{"notificationId":"Qm1","orderId":"Qm2","type":"order"},'
                '"read":false,"timestamp":"2019-02-12T10:17:23.410576-05:00","type":"order"}',
            )
        ],
        id="notification-with-timestamp-has-event-time",
    ),
    pytest.param(
        text(
            pretty(
                {
                    "message": {
                        "message": "Fish &amp; chips &lt;b&gt;now&lt;/b&gt; "
                        "&quot;hot&quot; &#39;n&#39; tasty",
                        "messageId": "QmSz",
                        "outgoing": "true",
                        "peerId": "QmeV",
                        "read": "false",
                        "subject": "",
                        "timestamp": "2019-02-12T10:17:23.410576-05:00",
                    }
                }
            )
        ),
        [
            (
                NODE,
                "chat.message",
                "2019-02-12T15:17:23.410576Z",
                '{"message":"Fish & chips <b>now</b> \\"hot\\" \'n\' tasty","messageId":"QmSz",'
                '"outgoing":true,"peerId":"QmeV","read":false,"subject":"",'
                '"timestamp":"2019-02-12T10:17:23.410576-05:00"}',
            )
        ],
        id="chat-message-html-unescaped-boolean-strings",
    ),
    pytest.param(
        text(pretty({"messageRead": {"messageId": "QmRu", "peerId": "QmeV", "subject": "Qmb"}})),
        [(NODE, "chat.read", None, '{"messageId":"QmRu","peerId":"QmeV","subject":"Qmb"}')],
        id="message-read",
    ),
    pytest.param(
        text(pretty({"status": "error publishing &amp; retrying"})),
        [(NODE, "status", None, '{"status":"error publishing & retrying"}')],
        id="status-error-publishing",
    ),
    pytest.param(
        text(pretty({"id": "cd29", "peerId": "QmdA"})),
        [(NODE, "profile", None, '{"id":"cd29","peerId":"QmdA"}')],
        id="profile-reply-without-profile",
    ),
    pytest.param(
        text(
            pretty(
                {
                    "id": "cd29",
                    "peerID": "QmdA",
                    "profile": {
                        "about": "Q&amp;A",
                        "currencies": ["BTC", "L&amp;T"],
                        "moderator": "true",
                        "name": "n",
                        "nsfw": "false",
                        "stats": {"averageRating": "4.5", "followerCount": "6"},
                        "vendor": "true",
                    },
                }
            )
        ),
        [
            (
                NODE,
                "profile",
                None,
                '{"id":"cd29","peerId":"QmdA","profile":{"about":"Q&A","currencies":["BTC","L&T"],'
                '"moderator":true,"name":"n","nsfw":false,"stats":{"averageRating":4.5,'
                '"followerCount":6},"vendor":true}}',
            )
        ],
        id="profile-top-level-peerID-strings-converted",
    ),
    pytest.param(
        text(pretty({"error": "Not found", "id": "7863"})),
        [(NODE, "profile.error", None, '{"error":"Not found","id":"7863"}')],
        id="profile-error-without-peer",
    ),
    pytest.param(
        text(pretty({"error": "timeout", "id": "7863", "peerId": "QmeV"})),
        [(NODE, "profile.error", None, '{"error":"timeout","id":"7863","peerId":"QmeV"}')],
        id="profile-error-peerId",
    ),
    pytest.param(
        text(
            pretty(
                {
                    "id": "r1",
                    "rating": {"ratingData": {"overall": 5, "review": "Great &amp; fast"}},
                    "ratingId": "zb2rh",
                }
            )
        ),
        [
            (
                NODE,
                "rating",
                None,
                '{"id":"r1","rating":{"ratingData":{"overall":5,"review":"Great & fast"}},'
                '"ratingId":"zb2rh"}',
            )
        ],
        id="rating-reply",
    ),
    pytest.param(
        text(pretty({"error": "not found", "id": "r1", "ratingId": "zb2rh"})),
        [(NODE, "rating.error", None, '{"error":"not found","id":"r1","ratingId":"zb2rh"}')],
        id="rating-error",
    ),
    pytest.param(
        text(pretty({"id": "x", "peerID": "A", "peerId": "B", "profile": {}})),
        [(NODE, "unknown", None, '{"id":"x","peerID":"A","peerId":"B","profile":{}}')],
        id="both-peer-spellings-is-not-a-known-shape",
    ),
    pytest.param(
        text('{"messageTyping":{"peerID":"A","peerId":"B","subject":""}}'),
        [(NODE, "chat.typing", None, '{"peerID":"A","peerId":"B","subject":""}')],
        id="peerID-kept-when-peerId-exists",
    ),
    pytest.param(
        text('{\r\n\t"status": "publishing"\r\n}\r\n'),
        [(NODE, "status", None, '{"status":"publishing"}')],
        id="crlf-and-tabs",
    ),
]

# -- every notification type of PROTOCOLS.md (openbazaar-go fields) -------------------

THUMBNAIL = {"small": "zb2rhXyt", "tiny": "zb2rhimY"}
NOTIFICATION_FIELDS: dict[str, dict[str, object]] = {
    "order": {
        "buyerHandle": "",
        "buyerId": "QmeV",
        "listingType": "DIGITAL_GOOD",
        "orderId": "QmbM",
        "price": {
            "amount": 23422,
            "coinDivisibility": 100000000,
            "currencyCode": "LTC",
            "priceModifier": 0,
        },
        "slug": "s",
        "thumbnail": THUMBNAIL,
        "title": "t",
    },
    "payment": {"coinType": "LTC", "fundingTotal": 23366, "orderId": "QmTC"},
    "orderConfirmation": {
        "orderId": "QmRm",
        "thumbnail": THUMBNAIL,
        "vendorHandle": "",
        "vendorId": "QmeV",
    },
    "orderDeclined": {
        "orderId": "QmV2",
        "thumbnail": THUMBNAIL,
        "vendorHandle": "",
        "vendorId": "QmeV",
    },
    "declined": {"orderId": "QmV2", "thumbnail": THUMBNAIL, "vendorHandle": "", "vendorId": "QmeV"},
    "cancel": {"buyerHandle": "", "buyerId": "QmeV", "orderId": "QmV2", "thumbnail": THUMBNAIL},
    "canceled": {"buyerHandle": "", "buyerId": "QmeV", "orderId": "QmV2", "thumbnail": THUMBNAIL},
    "refund": {"orderId": "QmTC", "thumbnail": THUMBNAIL, "vendorHandle": "", "vendorId": "QmeV"},
    "fulfillment": {
        "orderId": "QmPD",
        "thumbnail": THUMBNAIL,
        "vendorHandle": "",
        "vendorId": "Qmdy",
    },
    "orderComplete": {
        "buyerHandle": "",
        "buyerId": "QmeV",
        "orderId": "QmbM",
        "thumbnail": THUMBNAIL,
    },
    "processingError": {
        "orderId": "QmbM",
        "thumbnail": THUMBNAIL,
        "vendorHandle": "",
        "vendorId": "QmeV",
    },
    "disputeOpen": {
        "buyer": "Qmdy",
        "disputeeHandle": "",
        "disputeeId": "Qmdy",
        "disputerHandle": "",
        "disputerId": "QmeV",
        "orderId": "Qmbx",
        "thumbnail": THUMBNAIL,
    },
    "disputeUpdate": {
        "buyer": "Qmdy",
        "disputeeHandle": "",
        "disputeeId": "Qmdy",
        "disputerHandle": "",
        "disputerId": "QmeV",
        "orderId": "Qmbx",
        "thumbnail": THUMBNAIL,
    },
    "disputeClose": {
        "buyer": "QmSh",
        "orderId": "Qmco",
        "otherPartyHandle": "",
        "otherPartyId": "QmaW",
        "thumbnail": THUMBNAIL,
    },
    "disputeAccepted": {
        "buyer": "Qmdy",
        "orderId": "Qmbx",
        "otherPartyHandle": "",
        "otherPartyId": "QmeV",
        "thumbnail": THUMBNAIL,
    },
    "vendorFinalizedPayment": {"orderId": "Qmbx"},
    "buyerDisputeTimeout": {"expiresIn": 86400, "orderId": "Qmco", "thumbnail": THUMBNAIL},
    "buyerDisputeExpiry": {"expiresIn": 2592000, "orderId": "Qmco", "thumbnail": THUMBNAIL},
    "vendorDisputeTimeout": {"expiresIn": 3600, "purchaseOrderId": "Qmco", "thumbnail": THUMBNAIL},
    "moderatorDisputeExpiry": {
        "disputeCaseId": "QmPg",
        "expiresIn": 2592000,
        "thumbnail": THUMBNAIL,
    },
    "follow": {"peerId": "QmX2"},
    "unfollow": {"peerId": "QmX2"},
    "moderatorAdd": {"peerId": "QmX2"},
    "moderatorRemove": {"peerId": "QmX2"},
}

# v0.14 sends money as {amount: "<int string>", currency: {code, divisibility}}.
V014_MONEY: dict[str, tuple[str, object, object]] = {
    "order": (
        "price",
        {"amount": "23422", "currency": {"code": "LTC", "divisibility": 8}},
        {"amount": 23422, "currency": {"code": "LTC", "divisibility": 8}},
    ),
    "payment": (
        "fundingTotal",
        {"amount": "23366", "currency": {"code": "LTC", "divisibility": 8}},
        {"amount": 23366, "currency": {"code": "LTC", "divisibility": 8}},
    ),
}

EVENT_OF_TYPE = {kind: kind for kind in NOTIFICATION_FIELDS} | {
    "declined": "orderDeclined",
    "canceled": "cancel",
}


def notification_case(kind: str, version: str) -> object:
    """A pytest case: one notification type in one money shape."""
    fields = {**NOTIFICATION_FIELDS[kind], "notificationId": "QmNotif", "type": kind}
    expected = dict(fields)
    if version == "v0.14" and kind in V014_MONEY:
        field, sent, normalized = V014_MONEY[kind]
        fields[field] = sent
        expected[field] = normalized
    frame = text(pretty({"notification": fields}))
    item = (
        NODE,
        "notification." + EVENT_OF_TYPE[kind],
        None,
        compact(dict(sorted(expected.items()))),
    )
    return pytest.param(frame, [item], id=f"{version}-{kind}")


NOTIFICATION_CASES = [
    notification_case(kind, version)
    for kind in NOTIFICATION_FIELDS
    for version in ("v0.13", "v0.14")
]

# -- unknown shapes and frames that are not JSON ------------------------------------

UNKNOWN_CASES = [
    pytest.param(
        text(pretty({"hello": "a &amp; b", "n": "5", "peerID": "x"})),
        [(NODE, "unknown", None, '{"hello":"a &amp; b","n":"5","peerID":"x"}')],
        id="echo-from-another-client-kept-as-received",
    ),
    pytest.param(text("[1, 2]"), [(NODE, "unknown", None, '{"frame":[1,2]}')], id="array"),
    pytest.param(
        text('"hi &amp;"'), [(NODE, "unknown", None, '{"frame":"hi &amp;"}')], id="string"
    ),
    pytest.param(text("null"), [(NODE, "unknown", None, '{"frame":null}')], id="null"),
    pytest.param(text("12.50"), [(NODE, "unknown", None, '{"frame":12.5}')], id="number"),
    pytest.param(text("{}"), [(NODE, "unknown", None, "{}")], id="empty-object"),
    pytest.param(text("ping"), [bad("invalid JSON", "ping")], id="plain-text"),
    pytest.param(text(""), [bad("invalid JSON", "")], id="empty-text"),
    pytest.param(text('{"value": NaN}'), [bad("invalid JSON", '{"value": NaN}')], id="nan"),
    pytest.param(
        text('{"value": Infinity}'), [bad("invalid JSON", '{"value": Infinity}')], id="infinity"
    ),
    pytest.param(
        text('{"notification": {"notificationId": "x", "amount": "5"}}'),
        [(NODE, "unknown", None, '{"notification":{"notificationId":"x","amount":"5"}}')],
        id="notification-without-type",
    ),
    pytest.param(
        text('{"notification": {"type": ""}}'),
        [(NODE, "unknown", None, '{"notification":{"type":""}}')],
        id="notification-empty-type",
    ),
    pytest.param(
        text('{"notification": {"type": 5}}'),
        [(NODE, "unknown", None, '{"notification":{"type":5}}')],
        id="notification-type-not-a-string",
    ),
    pytest.param(
        text('{"notification": "order"}'),
        [(NODE, "unknown", None, '{"notification":"order"}')],
        id="notification-not-an-object",
    ),
    pytest.param(
        text('{"wallet": "LTC"}'), [(NODE, "unknown", None, '{"wallet":"LTC"}')], id="wallet-string"
    ),
    pytest.param(
        text('{"status": 5}'), [(NODE, "unknown", None, '{"status":5}')], id="status-number"
    ),
    pytest.param(
        text('{"walletUpdate": {}}'),
        [(NODE, "unknown", None, '{"walletUpdate":{}}')],
        id="wallet-update-empty",
    ),
    pytest.param(
        text('{"walletUpdate": {"BTC": 5, "LTC": {"confirmed": "1"}}}'),
        [
            (NODE, "unknown", None, '{"walletUpdate":{"BTC":5}}'),
            (NODE, "wallet.balance", None, '{"currency":"LTC","confirmed":1}'),
        ],
        id="wallet-update-coin-not-an-object",
    ),
    pytest.param(
        text('{"message": {"message": "x &amp; y"}, "extra": 1}'),
        [(NODE, "unknown", None, '{"message":{"message":"x &amp; y"},"extra":1}')],
        id="known-key-with-extra-key",
    ),
    pytest.param(text('{"id": "x"}'), [(NODE, "unknown", None, '{"id":"x"}')], id="id-alone"),
]


@pytest.mark.parametrize("frame, expected", SEED_CASES)
def test_seed_examples(frame: Frame, expected: list[Expected]) -> None:
    """Every example of the node seed document gives exactly these items."""
    assert items_of(frame) == expected


@pytest.mark.parametrize("frame, expected", PROTOCOL_CASES)
def test_protocol_shapes(frame: Frame, expected: list[Expected]) -> None:
    """The v0.14 and other shapes of PROTOCOLS.md give exactly these items."""
    assert items_of(frame) == expected


@pytest.mark.parametrize("frame, expected", NOTIFICATION_CASES)
def test_notification_types(frame: Frame, expected: list[Expected]) -> None:
    """Every notification type, in v0.13 and v0.14 money shapes, gives its event."""
    assert items_of(frame) == expected


@pytest.mark.parametrize("frame, expected", UNKNOWN_CASES)
def test_unknown_and_bad_frames(frame: Frame, expected: list[Expected]) -> None:
    """Unknown shapes are kept as received; text that is not JSON is a bad frame."""
    assert items_of(frame) == expected


def test_binary_frame_with_json() -> None:
    """A binary frame holding UTF-8 JSON is read like a text frame."""
    frame = Frame(recv_us=1, kind="binary", payload=SEED_STATUS_PUBLISHING.encode())
    assert items_of(frame) == [(NODE, "status", None, '{"status":"publishing"}')]


def test_binary_frame_not_utf8() -> None:
    """A binary frame that is not UTF-8 is a bad frame: its bytes decoded with replacement."""
    frame = Frame(recv_us=1, kind="binary", payload=b'{"a":"\xff\xfe"}')
    assert items_of(frame) == [bad("invalid UTF-8", '{"a":"\ufffd\ufffd"}')]


def test_binary_frame_not_json() -> None:
    """A binary frame of UTF-8 that is not JSON is a bad frame holding its text."""
    frame = Frame(recv_us=1, kind="binary", payload="héllo".encode())
    assert items_of(frame) == [bad("invalid JSON", "héllo")]


def test_text_frame_as_bytes() -> None:
    """A text frame handed over as bytes is decoded as UTF-8 first."""
    frame = Frame(recv_us=1, kind="text", payload=b'{"status":"publishing"}')
    assert items_of(frame) == [(NODE, "status", None, '{"status":"publishing"}')]


def test_source_comes_from_the_caller() -> None:
    """Node items carry the source the caller passes."""
    [(source, event, _, _)] = normalize_frame(text(SEED_STATUS_PUBLISHING), "node.test")
    assert (source, event) == ("node.test", "status")


def test_meta_frames_pass_through() -> None:
    """Lifecycle frames become one item: their name, no event time, their details."""
    connected = meta_frame(5, "meta.connected", url="ws://127.0.0.1:4002/ws")
    assert normalize_frame(connected, NODE) == [
        (NODE, "meta.connected", None, {"url": "ws://127.0.0.1:4002/ws"})
    ]
    bare = Frame(recv_us=5, kind="meta", payload="meta.disconnected")
    assert normalize_frame(bare, "paymium.public") == [
        ("paymium.public", "meta.disconnected", None, {})
    ]


def test_unknown_kind_is_a_bad_frame() -> None:
    """A frame of a kind no source produces is kept as a bad frame, not raised on."""
    frame = Frame(recv_us=1, kind="carrier-pigeon", payload="coo")
    assert items_of(frame) == [bad("unknown frame kind 'carrier-pigeon'", "coo")]
