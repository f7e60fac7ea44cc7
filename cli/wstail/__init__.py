"""wstail: tap live Socket.IO and WebSocket feeds as normalized NDJSON; from Python too.

    import wstail

    for envelope in wstail.replay("day.jsonl.zst", events="trade"):
        print(envelope["seq"], envelope["data"]["price"])

    for envelope in wstail.tail("public", events="trade", count=10):
        ...

    async for envelope in wstail.atail("sio", "http://127.0.0.1:3000", namespace="/chat"):
        ...

Envelopes are dicts (seq, recv_ts, source, event, event_ts, data) equal, as
JSON values, to what the commands print. Numbers are int and float (exact=True:
Decimal). Errors are WstailError subclasses with the commands' messages:
UsageError, ConnectError, BadInputError, OutputError, IdleTimeout,
Interrupted. wstail.dask (extra `wstail[dask]`) reads captures as a
dask.bag. See docs/python.md.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing itself is not imported: `import wstail` stays cheap

__version__ = "0.1.0"

__all__ = [
    "BadInputError",
    "CaptureHeader",
    "ConnectError",
    "Envelope",
    "Frame",
    "IdleTimeout",
    "Interrupted",
    "OutputError",
    "UsageError",
    "WstailError",
    "__version__",
    "atail",
    "capture_frames",
    "capture_header",
    "replay",
    "tail",
]

if TYPE_CHECKING:
    from typing import Any

    from wstail.api import (
        BadInputError,
        CaptureHeader,
        ConnectError,
        Envelope,
        Frame,
        IdleTimeout,
        Interrupted,
        OutputError,
        UsageError,
        WstailError,
        atail,
        capture_frames,
        capture_header,
        replay,
        tail,
    )


def __getattr__(name: str) -> Any:
    """The API's names, imported on first use: `import wstail` (and the CLI) stays cheap."""
    if name in __all__:
        from wstail import api

        value = getattr(api, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'wstail' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The module's names, the API's included."""
    return sorted(set(globals()) | set(__all__))
