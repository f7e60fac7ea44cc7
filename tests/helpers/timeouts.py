"""The one timeout scale of the suite: WSTAIL_TEST_TIMEOUT_SCALE stretches every wait.

Shared machines are slow at times; a test waits `scaled(n)` seconds, never a
bare constant, so one variable makes the whole suite patient.
"""

from __future__ import annotations

import os

SCALE = float(os.environ.get("WSTAIL_TEST_TIMEOUT_SCALE", "1"))


def scaled(seconds: float) -> float:
    """A test timeout stretched by WSTAIL_TEST_TIMEOUT_SCALE."""
    return seconds * SCALE
