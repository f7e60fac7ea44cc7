"""Reading what a child wrote to a pseudo-terminal."""

from __future__ import annotations

import os

__all__ = ["drain"]


def drain(leader: int) -> list[bytes]:
    """Everything written to a pseudo-terminal until its last writer closes it."""
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # EIO on Linux once the follower side is closed
            break
        if not data:
            break
        chunks.append(data)
    return chunks
