"""A scenario of Socket.IO binary events, its envelopes and its capture, for several tests.

Buffers stand as {"$buffer": base64} in the steps (the peers send them as
Buffers / bytes): nested, several in one event, empty, at the top level.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

B1 = base64.b64encode(b"\xde\xad\xbe\xef").decode()
B2 = base64.b64encode(bytes(range(256))).decode()  # every byte value
EMPTY = ""  # an empty Buffer: an attachment of no bytes


def ticker_step(n: int) -> dict[str, Any]:
    """A plain public event: ticker price n.10."""
    return {"ns": "/public", "event": "stream", "data": {"ticker": {"price": f"{n}.10"}}}


STEPS = [
    ticker_step(1),
    {
        "ns": "/public",
        "event": "stream",
        "data": {
            "file": {"$buffer": B1},
            "parts": [1, {"$buffer": B2}, {"deep": [{"$buffer": EMPTY}]}],
            "price": "77792.10",
        },
    },
    ticker_step(2),
    {"ns": "/public", "event": "blob", "args": [{"$buffer": B1}, "x"]},
    ticker_step(3),
]
# The data envelopes of STEPS: (event, data).
EXPECTED = [
    ("ticker", {"price": 1.1}),
    ("unknown", {"file": {"_binary": B1}}),
    ("unknown", {"parts": [1, {"_binary": B2}, {"deep": [{"_binary": EMPTY}]}]}),
    ("unknown", {"price": "77792.10"}),
    ("ticker", {"price": 2.1}),
    ("unknown", {"event": "blob", "args": [{"_binary": B1}, "x"]}),
    ("ticker", {"price": 3.1}),
]

HEADER = (
    '{"wstail_capture":1,"source":"paymium.public","url":"http://127.0.0.1:1/ws/socket.io",'
    '"protocol":"eio3","tool":"wstail test","start":"2026-11-23T10:00:00.000000Z","first_seq":1}'
)
CAPTURE_LINES = [
    [0.01, "sio", "/public", '["stream",{"ticker":{"price":"1.10"}}]'],
    [
        0.02,
        "sio",
        "/public",
        '["stream",{"file":{"_placeholder":true,"num":0},"parts":[1,{"_placeholder":true,"num":1},'
        '{"deep":[{"_placeholder":true,"num":2}]}],"price":"77792.10"}]',
        [B1, B2, EMPTY],
    ],
    [0.03, "sio", "/public", '["stream",{"ticker":{"price":"2.10"}}]'],
    [0.04, "sio", "/public", '["blob",{"_placeholder":true,"num":0},"x"]', [B1]],
    [0.05, "sio", "/public", '["stream",{"ticker":{"price":"3.10"}}]'],
]

# The event arrays a Socket.IO client of the served capture receives.
RECORDED = [[step.get("event", "stream"), *step.get("args", [step.get("data")])] for step in STEPS]


def write_capture(path: Path) -> Path:
    """The capture of STEPS, as wstail records it."""
    lines = [HEADER, *(json.dumps(line, separators=(",", ":")) for line in CAPTURE_LINES)]
    path.write_text("\n".join(lines) + "\n")
    return path
