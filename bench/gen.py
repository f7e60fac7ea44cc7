"""Deterministic benchmark data: raw captures (capture format v1) and normalized NDJSON.

    python bench/gen.py [--out bench/data] [--frames 300000] [--seed 5]

Writes, all from one seeded random generator (same seed, same bytes):
- public.jsonl    a Paymium public-feed capture in the current (2026) shapes,
                  decimal strings: mostly `bids`/`asks` depth updates, ~20 %
                  `trades` (sometimes with a partial `ticker` in the same frame),
                  full tickers, `prices` every ~10 s and `announcement` events.
- live_public.jsonl  its first LIVE_FRAMES `sio` frames (no meta), for the live runs.
- node.jsonl      an OpenBazaar node capture: pretty-printed text frames.
- live_node.jsonl LIVE_FRAMES node frames, each giving exactly one envelope and
                  carrying its index (the live run checks none is lost).
- public.ndjson   300,000 envelopes exactly as wstail prints them: the output of
                  `wstail replay public.jsonl`, cut at 300,000 lines.
- public.jsonl.gz, public.jsonl.zst  the public capture compressed as `record`
                  writes it: a gzip member (zstd frame) per MEMBER_SIZE bytes of lines.
- *.idx           the indexes of the three public captures (`wstail index`).

Frames are built with the capture codec's own line layout (wstail.capture
writes `[offset,"sio","/public","<event text>"]`); the payload text is made
with compact JSON like the live server sends it.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

START = "2026-11-23T10:00:00.000000Z"
START_EPOCH = 1_795_428_000  # seconds, START
NDJSON_LINES = 300_000
LIVE_FRAMES = 200_000
BASE_PRICE = 76_000.0
# The -f benchmark keeps trades above this price (prices random-walk around BASE_PRICE).
PRICE_THRESHOLD = 76_000

HEADER_PUBLIC = {
    "wstail_capture": 1,
    "source": "paymium.public",
    "url": "https://paymium.com/ws/socket.io",
    "protocol": "eio3",
    "tool": "wstail 0.1.0",
    "start": START,
    "first_seq": 1,
}
HEADER_NODE = {
    "wstail_capture": 1,
    "source": "node",
    "url": "ws://127.0.0.1:4002/ws",
    "protocol": "websocket",
    "tool": "wstail 0.1.0",
    "start": START,
    "first_seq": 1,
}


def compact(obj: object) -> str:
    """JSON text as the live server sends it: compact, key order kept."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def capture_line(offset_us: int, kind: str, *fields: object) -> str:
    """One capture event line, `[offset,kind,...]`, offset with six decimals."""
    seconds, micro = divmod(offset_us, 1_000_000)
    return f"[{seconds}.{micro:06d}," + compact([kind, *fields])[1:]


class Market:
    """A mean-reverting random walk of the BTC/EUR price and a book around it."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.price = BASE_PRICE
        self.open = BASE_PRICE
        self.high = BASE_PRICE
        self.low = BASE_PRICE
        self.volume = 0.0
        self.last_size = 0.0125

    def step(self) -> None:
        """Move the price a little, pulled back towards BASE_PRICE."""
        rng = self.rng
        self.price += rng.gauss(0, 6.0) + (BASE_PRICE - self.price) * 0.002
        self.high = max(self.high, self.price)
        self.low = min(self.low, self.price)

    def amount(self) -> str:
        """A BTC amount as the server prints it (8 decimals)."""
        rng = self.rng
        value = rng.choice((0.0005, 0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)) * rng.uniform(
            0.2, 1.8
        )
        return f"{value:.8f}"

    def level(self, side: str, ts: int) -> dict[str, object]:
        """One depth level update; a tenth of them delete the level (amount 0, timestamp 0)."""
        rng = self.rng
        distance = abs(rng.gauss(0, 40.0)) + 0.01
        price = self.price - distance if side == "bids" else self.price + distance
        deleted = rng.random() < 0.1
        return {
            "amount": "0" if deleted else self.amount(),
            "price": f"{price:.2f}",
            "category": "buy" if side == "bids" else "sell",
            "currency": "EUR",
            "timestamp": 0 if deleted else ts,
        }

    def trade(self, ts_ms: int) -> dict[str, object]:
        """One executed trade, timestamp in milliseconds."""
        size = self.amount()
        self.last_size = float(size)
        self.volume += float(size)
        return {
            "price": f"{self.price:.2f}",
            "traded_btc": size,
            "timestamp": ts_ms,
            "currency": "EUR",
        }

    def ticker(self, ts: int) -> dict[str, object]:
        """The full ticker the server sends after a change."""
        spread = self.rng.uniform(5, 60)
        variation = (self.price - self.open) / self.open * 100
        return {
            "high": f"{self.high:.2f}",
            "low": f"{self.low:.2f}",
            "volume": f"{self.volume:.8f}",
            "bid": f"{self.price - spread / 2:.2f}",
            "ask": f"{self.price + spread / 2:.2f}",
            "midpoint": f"{self.price:.2f}",
            "vwap": f"{(self.high + self.low + self.price) / 3:.2f}",
            "at": ts,
            "price": f"{self.price:.2f}",
            "open": f"{self.open:.2f}",
            "variation": f"{variation:.2f}",
            "currency": "EUR",
            "trade_id": self.uuid(),
            "size": f"{self.last_size:.8f}",
        }

    def uuid(self) -> str:
        """A version-4 UUID from the seeded generator."""
        rng = self.rng
        return (
            f"{rng.getrandbits(32):08x}-{rng.getrandbits(16):04x}-4{rng.getrandbits(12):03x}-"
            f"{0x8000 | rng.getrandbits(14):04x}-{rng.getrandbits(48):012x}"
        )

    def prices(self, ts: int) -> dict[str, object]:
        """The undocumented `prices` message (every ~10 s)."""
        variation = (self.price - self.open) / self.open * 100
        return {
            "btceur": {
                "base_currency": "BTC",
                "quote_currency": "EUR",
                "price": f"{self.price:.2f}",
                "broker_price": f"{self.price * 1.01:.2f}",
                "timestamp": ts,
                "variation": f"{variation:.2f}",
            }
        }


NOTICES = [
    [{"message": "Scheduled maintenance on Sunday 02:00 UTC", "level": "info"}],
    [
        {"message": "SEPA withdrawals are delayed today", "level": "warning"},
        {"message": "New: EURC deposits", "level": "info"},
    ],
]


def public_events(rng: random.Random, frames: int) -> Iterator[tuple[int, str]]:
    """(offset µs, Socket.IO event text) of a realistic public feed, ~10 frames/s."""
    market = Market(rng)
    offset = 0
    next_prices = 10_000_000
    next_announcement = 5_000_000
    for _ in range(frames):
        offset += int(rng.expovariate(1 / 100_000)) + 1  # mean 0.1 s between frames
        ts = START_EPOCH + offset // 1_000_000
        if offset >= next_announcement:
            next_announcement += 10_000_000
            yield offset, compact(["announcement", NOTICES[(offset // 10_000_000) % 2]])
            continue
        if offset >= next_prices:
            next_prices += 10_000_000
            yield offset, compact(["stream", {"prices": market.prices(ts)}])
            continue
        market.step()
        roll = rng.random()
        if roll < 0.22:  # trades: ~20 % of the envelopes
            count = 1 if rng.random() < 0.85 else 2
            message: dict[str, object] = {
                "trades": [market.trade(ts * 1000 + rng.randrange(1000)) for _ in range(count)]
            }
            if rng.random() < 0.3:  # the server often folds the last price into the frame
                message["ticker"] = {"price": f"{market.price:.2f}", "at": ts, "currency": "EUR"}
        elif roll < 0.26:
            message = {"ticker": market.ticker(ts)}
        else:
            side = "bids" if rng.random() < 0.5 else "asks"
            levels = 1 if rng.random() < 0.85 else rng.randint(2, 3)
            message = {side: [market.level(side, ts) for _ in range(levels)]}
        yield offset, compact(["stream", message])


MEMBER_SIZE = 1 << 20  # wstail.index.MEMBER_SIZE


def write_blocked(src: Path, kind: str, dest: Path) -> None:
    """`src` compressed as record writes it: members (frames) of whole lines, ~1 MiB each."""
    import zstandard

    compress = (
        (lambda data: gzip.compress(data, compresslevel=6, mtime=0))
        if kind == "gzip"
        else zstandard.ZstdCompressor(level=3).compress
    )
    with open(src, "rb") as source, open(dest, "wb") as out:
        block: list[bytes] = []
        size = 0
        for line in source:
            block.append(line)
            size += len(line)
            if size >= MEMBER_SIZE:
                out.write(compress(b"".join(block)))
                block, size = [], 0
        if block:
            out.write(compress(b"".join(block)))


def write_indexed_public(wstail: list[str], plain: Path) -> list[Path]:
    """The plain capture's .gz and .zst as record writes them, and all three indexed."""
    captures = [plain, plain.with_name(plain.name + ".gz"), plain.with_name(plain.name + ".zst")]
    write_blocked(plain, "gzip", captures[1])
    write_blocked(plain, "zstd", captures[2])
    subprocess.run([*wstail, "index", *map(str, captures)], check=True, stdout=subprocess.DEVNULL)
    return captures


def write_public(path: Path, live_path: Path, rng: random.Random, frames: int) -> None:
    """The public capture, and the live-run subset (its first LIVE_FRAMES frames)."""
    with open(path, "w", encoding="utf-8") as out, open(live_path, "w", encoding="utf-8") as live:
        header = compact(HEADER_PUBLIC) + "\n"
        out.write(header)
        live.write(header)
        meta = {"url": HEADER_PUBLIC["url"], "protocol": "eio3", "namespace": "/public"}
        out.write(capture_line(1200, "meta", "meta.connected", meta) + "\n")
        for index, (offset, text) in enumerate(public_events(rng, frames)):
            line = capture_line(offset, "sio", "/public", text) + "\n"
            out.write(line)
            if index < LIVE_FRAMES:
                live.write(line)


def pretty(obj: object) -> str:
    """Node text frames: pretty-printed, two-space indent, sorted keys, like openbazaar-go."""
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False)


def _qm(rng: random.Random) -> str:
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    return "Qm" + "".join(rng.choice(alphabet) for _ in range(44))


def node_message(rng: random.Random, index: int, ts: int, peers: list[str]) -> dict[str, object]:
    """One node message of a common kind; its id fields carry `index`."""
    roll = rng.random()
    tag = f"Qm{index:044d}"
    iso = f"2026-11-23T{(ts // 3600) % 24:02d}:{(ts // 60) % 60:02d}:{ts % 60:02d}Z"
    if roll < 0.35:
        return {
            "notification": {
                "coinType": rng.choice(("BTC", "LTC", "BCH", "ZEC")),
                "fundingTotal": rng.randrange(1000, 10_000_000),
                "notificationId": tag,
                "orderId": rng.choice(peers),
                "type": "payment",
            }
        }
    if roll < 0.55:
        return {
            "notification": {
                "notificationId": tag,
                "orderId": rng.choice(peers),
                "thumbnail": {
                    "small": "zb2rhdmv4SqzsxFzZK6tPeYkant6rRyFHDfJx3saUZLQsf6VT",
                    "tiny": "zb2rhjj2XQEJ4XrquY6C1ATdAvYN6HL1HzFcZg65Se9cMnBhk",
                },
                "type": rng.choice(("orderConfirmation", "fulfillment", "orderComplete")),
                "vendorHandle": "",
                "vendorId": rng.choice(peers),
            }
        }
    if roll < 0.75:
        return {
            "wallet": {
                "address": "",
                "canBumpFee": rng.random() < 0.5,
                "confirmations": rng.randrange(0, 6),
                "height": 1_578_000 + rng.randrange(1000),
                "memo": "Test Issue v2 &amp; more",
                "orderId": rng.choice(peers),
                "status": rng.choice(("UNCONFIRMED", "PENDING", "CONFIRMED")),
                "thumbnail": "",
                "timestamp": iso,
                "txid": f"{index:064x}",
                "value": rng.randrange(-50_000, 50_000),
                "wallet": "LTC",
            }
        }
    if roll < 0.95:
        return {
            "message": {
                "message": "Hello, is this still available? &lt;3",
                "messageId": tag,
                "outgoing": False,
                "peerId": rng.choice(peers),
                "read": False,
                "subject": "",
                "timestamp": iso,
            }
        }
    return {"messageTyping": {"messageId": tag, "peerId": rng.choice(peers), "subject": ""}}


def write_node(path: Path, live_path: Path, rng: random.Random) -> None:
    """A node capture (with a walletUpdate every ~15 s) and the live one-envelope-per-frame set."""
    peers = [_qm(rng) for _ in range(50)]
    with open(path, "w", encoding="utf-8") as out, open(live_path, "w", encoding="utf-8") as live:
        header = compact(HEADER_NODE) + "\n"
        out.write(header)
        live.write(header)
        offset = 0
        next_wallet = 0
        for index in range(LIVE_FRAMES):
            offset += int(rng.expovariate(1 / 100_000)) + 1
            ts = START_EPOCH + offset // 1_000_000
            if offset >= next_wallet:
                next_wallet += 15_000_000
                update = {
                    coin: {
                        "confirmed": rng.randrange(10**6),
                        "height": 569_437 + index,
                        "unconfirmed": 0,
                    }
                    for coin in ("BCH", "BTC", "LTC", "ZEC")
                }
                out.write(capture_line(offset, "text", pretty({"walletUpdate": update})) + "\n")
            line = capture_line(offset, "text", pretty(node_message(rng, index, ts, peers))) + "\n"
            out.write(line)
            live.write(line)


def find_wstail() -> list[str]:
    """The command that runs wstail: the project venv next to bench/, this Python, or PATH."""
    venv = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "wstail"
    if venv.exists():
        return [str(venv)]
    if importlib.util.find_spec("wstail") is not None:
        return [sys.executable, "-m", "wstail"]
    on_path = shutil.which("wstail")
    if on_path:
        return [on_path]
    raise SystemExit(
        "gen: wstail not found (no .venv/bin/wstail, not importable by "
        f"{sys.executable}, not on PATH): run bench/run, or pip install -e . first"
    )


def write_ndjson(wstail: list[str], capture: Path, path: Path, lines: int) -> None:
    """`wstail replay CAPTURE | head -n LINES`, as wstail prints it."""
    tmp = path.with_suffix(".tmp")
    try:
        with open(tmp, "wb") as out:
            proc = subprocess.Popen([*wstail, "replay", str(capture)], stdout=subprocess.PIPE)
            assert proc.stdout is not None
            written = 0
            for line in proc.stdout:
                out.write(line)
                written += 1
                if written == lines:
                    break
            proc.stdout.close()
            rc = proc.wait()
        if written != lines:
            raise SystemExit(
                f"gen: {' '.join(wstail)} replay {capture} gave {written} envelopes (rc {rc}), "
                f"need {lines}: make the capture bigger"
            )
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    """Write every data set (skip those already there unless --force)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(Path(__file__).parent / "data"))
    parser.add_argument("--frames", type=int, default=300_000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = out / "STAMP"
    want = f"seed={args.seed} frames={args.frames} ndjson={NDJSON_LINES} live={LIVE_FRAMES} v4\n"
    names = [
        "public.jsonl",
        "live_public.jsonl",
        "node.jsonl",
        "live_node.jsonl",
        "public.ndjson",
        "public.jsonl.gz",
        "public.jsonl.zst",
        "public.jsonl.idx",
        "public.jsonl.gz.idx",
        "public.jsonl.zst.idx",
    ]
    if (
        not args.force
        and stamp.exists()
        and stamp.read_text() == want
        and all((out / name).exists() for name in names)
    ):
        return 0
    wstail = find_wstail()  # before writing anything: no half-made data set
    stamp.unlink(missing_ok=True)
    print(f"gen: writing data sets into {out} (seed {args.seed})", file=sys.stderr)
    write_public(
        out / "public.jsonl", out / "live_public.jsonl", random.Random(args.seed), args.frames
    )
    write_node(out / "node.jsonl", out / "live_node.jsonl", random.Random(args.seed + 1))
    write_indexed_public(wstail, out / "public.jsonl")
    write_ndjson(wstail, out / "public.jsonl", out / "public.ndjson", NDJSON_LINES)
    stamp.write_text(want)
    return 0


if __name__ == "__main__":
    sys.exit(main())
