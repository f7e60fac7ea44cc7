"""The Paymium source: Socket.IO 1.x-4.x (Engine.IO 3 and 4) as an async iterator of Frames.

The package, from the wire up:
- `codec.py`: Engine.IO 3/4 and Socket.IO packets, text in, values out;
- `protocol.py`: one session, sans I/O (handshake, namespace join,
  heartbeat, bad frames), the same for EIO3 and EIO4;
- `probe.py`: how `--eio auto` tells the two apart on one connection;
- `wire.py`, `driver.py`: the `websockets` connection and the asyncio
  driver of the protocol;
- `payload.py`, `polling.py`, `pollwire.py`: the long-polling client, for
  servers that refuse WebSocket (the same protocol over GET/POST, Engine.IO
  3 and 4, aiohttp imported only then);
- `session.py`: the target, the session shape and the failures;
- `source.py`: `SocketIOSource`, the reconnect loop over all of them.
"""

from __future__ import annotations

from wstail.redact import redact_url
from wstail.sources.socketio.source import (
    DEFAULT_URL,
    EIO_CHOICES,
    SocketIOSource,
    is_stable,
)

__all__ = ["DEFAULT_URL", "EIO_CHOICES", "SocketIOSource", "is_stable", "redact_url"]
