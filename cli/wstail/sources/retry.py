"""Reconnection rules as small pure functions: backoff delays, retry limits, reasons."""

from __future__ import annotations

import random
import socket
import ssl
from collections.abc import Callable, Iterator

from wstail.words import counted

RETRY_DELAY = 1.0
"""Seconds before the first reconnect attempt, before jitter (socket.io-client's 1000 ms)."""

RETRY_MAX_DELAY = 5.0
"""The cap on reconnect delays, by default (socket.io-client's 5000 ms; --retry-max-delay)."""


def backoff(
    base: float = RETRY_DELAY,
    cap: float = RETRY_MAX_DELAY,
    factor: float = 2.0,
    jitter: float = 0.5,
    rand: Callable[[], float] = random.random,
) -> Iterator[float]:
    """Delays before each reconnect attempt: exponential, randomized, capped.

    As the official socket.io-client's: the n-th delay is uniform in
    [d(1 - jitter), d(1 + jitter)] where d = base * factor**n, and never
    more than `cap` (so 0.5-1.5 s, 1-3 s, 2-5 s, 4-5 s, then 5 s by
    default): a herd of clients spreads out, and a short outage costs
    seconds, not the half minute a long cap lets the delays grow to.
    """
    attempt = 0
    while True:
        step = base * factor**attempt
        yield min(cap, step * (1 + jitter * (2 * rand() - 1)))
        if step * (1 - jitter) < cap:  # until even the lowest draw is over the cap
            attempt += 1


# Without --retries, a feed never reached gives up after this many retries
# (about 3.5-9.5 s of backoff): a wrong port or host will not fix itself, and a
# cron job should learn so. A feed reached once is retried forever.
FIRST_CONNECT_RETRIES = 3


def attempts_left(attempt: int, retries: int | None, reached: bool = True) -> bool:
    """Whether reconnect attempt number `attempt` (1-based) is allowed.

    --retries N caps it; without it, forever once the feed has been reached
    (`reached`), else FIRST_CONNECT_RETRIES.
    """
    if retries is None:
        return reached or attempt <= FIRST_CONNECT_RETRIES
    return attempt <= retries


def gave_up(url: str, retries: int | None, reason: str) -> str:
    """The one-line ConnectError message when attempts_left says no."""
    if retries is None:
        return (
            f"could not connect to {url} after {counted(FIRST_CONNECT_RETRIES, 'retry', 'retries')}"
            f": {reason}"
            " (never reached; --retries N to try longer)"
        )
    return f"could not connect to {url} after {counted(retries, 'retry', 'retries')}: {reason}"


def untrusted(url: str, exc: BaseException) -> str:
    """The one-line error for a TLS certificate the system does not trust (exit 3 at once)."""
    detail = getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or str(exc)
    return (
        f"{url}: TLS certificate not trusted ({detail}); --cacert FILE trusts its"
        " authority, --insecure skips verification"
    )


def tls_context(cacert: str | None, insecure: bool) -> ssl.SSLContext:
    """The client TLS settings: the system's authorities, or --cacert's, or none (--insecure)."""
    context = ssl.create_default_context(cafile=cacert)
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def os_reason(exc: BaseException) -> str | None:
    """A system error as the same few words for every source, or None if not one.

    `connection refused`, not `[Errno 111] Connect call failed ('127.0.0.1', 9)`.
    """
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the host name: {exc.strerror}"
    if isinstance(exc, OSError) and exc.strerror and exc.errno is not None:
        return exc.strerror[:1].lower() + exc.strerror[1:]
    return None
