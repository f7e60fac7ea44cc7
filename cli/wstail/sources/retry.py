"""Reconnection rules as small pure functions: backoff delays and retry limits."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator


def backoff(
    base: float = 0.5,
    cap: float = 30.0,
    factor: float = 2.0,
    rand: Callable[[], float] = random.random,
) -> Iterator[float]:
    """Delays before each reconnect attempt: exponential, capped, with full jitter.

    The n-th delay is uniform in [d/2, d] where d = min(cap, base * factor**n),
    so a herd of clients spreads out while each still backs off.
    """
    attempt = 0
    while True:
        ceiling = min(cap, base * factor**attempt)
        yield ceiling / 2 + rand() * ceiling / 2
        if ceiling < cap:
            attempt += 1


def attempts_left(attempt: int, retries: int | None) -> bool:
    """Whether reconnect attempt number `attempt` (1-based) is allowed by --retries."""
    return retries is None or attempt <= retries
