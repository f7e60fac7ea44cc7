"""Helpers for the end-to-end tests of `wstail tail` and `wstail record`.

- `Wstail`: the real `wstail` command as a subprocess (asyncio), its stdout
  read line by line as it comes, signals, exit code, stderr.
- `wstail_env`: a clean environment (no WSTAIL_* from the caller, HOME in the
  test's directory so no real node cookie is picked up).
- `masked` / `expected_line`: envelope lines compared to the byte, recv_ts
  checked for its format and then masked.
- The Paymium and node message tables the tests send, with the exact
  envelopes they must give (the normalizer tests' tables, plus messages the
  servers serialize themselves).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers.sio_peers import scaled

WSTAIL = str(Path(sys.executable).with_name("wstail"))
RECV_TS = re.compile(rb'^\{"seq":(\d+),"recv_ts":"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)",')

# Channel IDs are secrets: the tests grep every output for these.
USER_CHANNEL = "u-5ecre7-chan-9f3a1c77d2"
PAYMENT_UUID = "0d6a1c59-5ecre7-4a8e-8b1e-pay0c7d1e11"
SECRETS = (USER_CHANNEL, PAYMENT_UUID)


def wstail_env(home: Path, **extra: str) -> dict[str, str]:
    """The caller's environment without WSTAIL_*, proxies and NO_COLOR, HOME moved, + `extra`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if (not key.startswith("WSTAIL_") or key == "WSTAIL_TEST_TIMEOUT_SCALE")
        and not key.lower().endswith("_proxy")
    }
    env.pop("NO_COLOR", None)
    env["HOME"] = str(home)
    env.update(extra)
    return env


@dataclass
class Done:
    """A finished wstail run."""

    code: int
    out: bytes
    err: bytes

    @property
    def lines(self) -> list[bytes]:
        """Stdout, one entry per line ("\n" ends a line, nothing else)."""
        return self.out.removesuffix(b"\n").split(b"\n") if self.out else []

    @property
    def err_lines(self) -> list[str]:
        """Stderr, one entry per line."""
        return self.err.decode().splitlines()


class Wstail:
    """`wstail ARGS...` running in the background; `async with Wstail(...) as w`."""

    def __init__(
        self, *args: str, env: dict[str, str], cwd: Path | None = None, stdin: bytes = b""
    ) -> None:
        self.args = args
        self.env = env
        self.cwd = cwd
        self.stdin = stdin
        self.process: asyncio.subprocess.Process | None = None
        self.out = bytearray()  # stdout read so far, as is
        self._err: asyncio.Task[bytes] | None = None

    async def __aenter__(self) -> Wstail:
        self.process = await asyncio.create_subprocess_exec(
            WSTAIL,
            *self.args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self.env,
            cwd=self.cwd,
        )
        assert self.process.stderr is not None and self.process.stdin is not None
        self._err = asyncio.create_task(self.process.stderr.read())
        self.process.stdin.write(self.stdin)
        self.process.stdin.close()
        return self

    async def __aexit__(self, *exc: object) -> None:
        process = self.process
        if process is not None and process.returncode is None:
            process.kill()
            await process.wait()
        if self._err is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await self._err

    async def line(self, timeout: float = 10.0) -> bytes:
        """The next stdout line (without newline); b"" at end of output."""
        assert self.process is not None and self.process.stdout is not None
        async with asyncio.timeout(scaled(timeout)):
            line = await self.process.stdout.readline()
        self.out += line
        return line.removesuffix(b"\n")

    def send_signal(self, signum: signal.Signals) -> None:
        """Send a signal to the process."""
        assert self.process is not None
        self.process.send_signal(signum)

    async def finish(self, timeout: float = 10.0) -> Done:
        """Wait for the exit; the rest of stdout and all of stderr with it."""
        assert self.process is not None and self.process.stdout is not None
        assert self._err is not None
        async with asyncio.timeout(scaled(timeout)):
            rest = await self.process.stdout.read()
            code = await self.process.wait()
            err = await self._err
        self.out += rest
        return Done(code, bytes(self.out), err)


async def run_wstail(
    *args: str,
    env: dict[str, str],
    timeout: float = 15.0,
    cwd: Path | None = None,
    stdin: bytes = b"",
) -> Done:
    """Run `wstail ARGS...` to its end (`stdin` is its whole input)."""
    async with Wstail(*args, env=env, cwd=cwd, stdin=stdin) as process:
        return await process.finish(timeout)


def masked(line: bytes) -> bytes:
    """An envelope line with its recv_ts (checked to be RFC 3339 UTC µs) replaced by *."""
    match = RECV_TS.match(line)
    assert match, f"not an envelope line with a well-formed recv_ts: {line[:120]!r}"
    return b'{"seq":' + match.group(1) + b',"recv_ts":"*",' + line[match.end() :]


def seqs(lines: list[bytes]) -> list[int]:
    """The seq of every envelope line."""
    return [int(json.loads(line)["seq"]) for line in lines]


def events(lines: list[bytes]) -> list[str]:
    """The event name of every envelope line."""
    return [str(json.loads(line)["event"]) for line in lines]


Item = tuple[str, str, str | None, str]  # source, event, event_ts, data as printed


def expected_line(seq: int, item: Item) -> bytes:
    """The masked envelope line an item must print as."""
    source, event, event_ts, data = item
    ts = "null" if event_ts is None else f'"{event_ts}"'
    return (
        f'{{"seq":{seq},"recv_ts":"*","source":"{source}","event":"{event}",'
        f'"event_ts":{ts},"data":{data}}}'
    ).encode()


def expected_lines(items: list[Item], first_seq: int) -> list[bytes]:
    """Masked envelope lines for items numbered from first_seq on."""
    return [expected_line(first_seq + i, item) for i, item in enumerate(items)]


# -- Paymium: what the servers send, and what wstail must print ------------------------


@dataclass
class Case:
    """One Socket.IO message (a scenario step without its namespace) and its items."""

    step: dict[str, Any]
    items: list[Item]


def _table_cases(params: list[Any], namespace: str) -> list[Case]:
    """Normalizer-test cases of one namespace, sent as their exact text ("raw" steps)."""
    cases = []
    for param in params:
        frame, items = param.values
        if frame.channel != namespace or not isinstance(frame.payload, str):
            continue
        if any(item[1].startswith("meta.") for item in items):
            continue
        cases.append(Case({"raw": frame.payload}, list(items)))
    return cases


PUB = "paymium.public"
USR = "paymium.user"

# Messages the server serializes itself (emit), the way Paymium's server does:
# both generations, decimal strings, several keys in one frame, announcements.
EMITTED_PUBLIC = [
    Case(
        {
            "event": "stream",
            "data": {
                "event": "new-trade",
                "payload": {
                    "price": 201.28,
                    "traded_btc": 12.4,
                    "timestamp": 1445348298584,
                    "currency": "EUR",
                },
            },
        },
        [
            (
                PUB,
                "trade",
                "2015-10-20T13:38:18.584000Z",
                '{"price":201.28,"traded_btc":12.4,"timestamp":1445348298584,"currency":"EUR"}',
            )
        ],
    ),
    Case(
        {
            "event": "stream",
            "data": {
                "event": "tick",
                "payload": '{"high":"205.5","price":"201.28","at":1445348298,"currency":"EUR"}',
            },
        },
        [
            (
                PUB,
                "ticker",
                "2015-10-20T13:38:18.000000Z",
                '{"high":205.5,"price":201.28,"at":1445348298,"currency":"EUR"}',
            )
        ],
    ),
    Case(
        {
            "event": "stream",
            "data": {
                "ticker": {"price": "77792.10", "at": 1790139583, "currency": "EUR"},
                "trades": [
                    {
                        "price": "77792.10",
                        "traded_btc": "0.00250000",
                        "timestamp": 1790139583123,
                        "currency": "EUR",
                    },
                    {
                        "price": "1234567890.12345678",
                        "traded_btc": "0.1",
                        "timestamp": "1790139590250",
                        "currency": "EUR",
                    },
                ],
                "bids": [
                    {
                        "amount": "0",
                        "price": "76300.00",
                        "currency": "EUR",
                        "category": "buy",
                        "timestamp": 0,
                    }
                ],
                "asks": [
                    {
                        "amount": "0.05245168",
                        "price": "76360.74",
                        "category": "sell",
                        "currency": "EUR",
                        "timestamp": 1790139583,
                    }
                ],
            },
        },
        [
            (
                PUB,
                "ticker",
                "2026-09-23T04:59:43.000000Z",
                '{"price":77792.1,"at":1790139583,"currency":"EUR"}',
            ),
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
                '{"amount":0.05245168,"price":76360.74,"category":"sell","currency":"EUR",'
                '"timestamp":1790139583}',
            ),
        ],
    ),
    Case(
        {"event": "announcement", "data": [{"id": 12, "title": "Maintenance &amp; upgrade"}]},
        [
            (
                PUB,
                "announcement",
                None,
                '{"notices":[{"id":12,"title":"Maintenance &amp; upgrade"}]}',
            )
        ],
    ),
]

EMITTED_USER = [
    Case(
        {
            "event": "stream",
            "data": {
                "event": "balance",
                "payload": {"balance": 10.5, "currency": "EUR", "trading": "true"},
            },
        },
        [(USR, "balance", None, '{"balance":10.5,"currency":"EUR","trading":true}')],
    ),
    Case(
        {
            "event": "stream",
            "data": {
                "event": "payment",
                "payload": '{"uuid":"p1","state":"paid","amount":"201.28",'
                '"btc_amount":"0.99999999","updated_at":1445348398}',
            },
        },
        [
            (
                USR,
                "payment",
                "2015-10-20T13:39:58.000000Z",
                '{"uuid":"p1","state":"paid","amount":201.28,"btc_amount":0.99999999,'
                '"updated_at":1445348398}',
            )
        ],
    ),
    Case(
        {"event": "stream", "data": {"event": "state", "payload": {"state": "paid"}}},
        [(USR, "state", None, '{"state":"paid"}')],
    ),
    Case(
        {
            "event": "stream",
            "data": {
                "balance_eur": "410.04",
                "locked_eur": "20.24",
                "orders": [
                    {
                        "uuid": "d64e6450",
                        "state": "filled",
                        "price": "77792.10",
                        "traded_btc": "0.01000000",
                        "updated_at": "2026-09-23T05:00:00.123Z",
                    }
                ],
                "balance_btc": "12345678901234567890.123456789",
                "locked_btc": "0",
            },
        },
        [
            (USR, "balance", None, '{"balance":410.04,"currency":"EUR","trading":false}'),
            (USR, "balance", None, '{"balance":20.24,"currency":"EUR","trading":true}'),
            (
                USR,
                "order",
                "2026-09-23T05:00:00.123000Z",
                '{"uuid":"d64e6450","state":"filled","price":77792.1,"traded_btc":0.01,'
                '"updated_at":"2026-09-23T05:00:00.123Z"}',
            ),
            (
                USR,
                "balance",
                None,
                '{"balance":12345678901234567890.123456789,"currency":"BTC","trading":false}',
            ),
            (USR, "balance", None, '{"balance":0,"currency":"BTC","trading":true}'),
        ],
    ),
]


def paymium_cases(namespace: str) -> list[Case]:
    """Every message sent on a namespace: emitted ones, then the normalizer tables as raw text."""
    import test_normalize_paymium as table

    params = (
        table.SEED_CASES
        + table.LEGACY_CASES
        + table.CURRENT_CASES
        + table.EDGE_CASES
        + table.EVENT_CASES
    )
    emitted = EMITTED_PUBLIC if namespace == "/public" else EMITTED_USER
    return emitted + _table_cases(params, namespace)


def scenario_steps(cases: list[Case], namespace: str, after_channels: int = 0) -> list[Any]:
    """Scenario steps sending the cases on a namespace."""
    steps = []
    for case in cases:
        step = dict(case.step, ns=namespace)
        if after_channels:
            step["after_channels"] = after_channels
        steps.append(step)
    return steps


def case_items(cases: list[Case]) -> list[Item]:
    """The items of the cases, in order."""
    return [item for case in cases for item in case.items]


# -- node: frames of every top-level key and notification type ----------------------


def node_frames() -> list[tuple[str, list[Item]]]:
    """Node text frames (pretty-printed, as the node writes them) and their items."""
    import test_normalize_node as table

    params = (
        table.SEED_CASES + table.PROTOCOL_CASES + table.NOTIFICATION_CASES + table.UNKNOWN_CASES
    )
    frames = []
    for param in params:
        frame, items = param.values
        if frame.kind != "text" or any(item[1].startswith("meta.") for item in items):
            continue
        frames.append((str(frame.payload), list(items)))
    return frames


def grep_secrets(*texts: bytes | str) -> list[str]:
    """The secrets that appear in any of the texts."""
    found = []
    for text in texts:
        blob = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        found += [secret for secret in SECRETS if secret in blob]
    return found
