"""`replay --serve`: a capture served as a live endpoint of its own protocol.

    await serve_capture(lambda: read_frames(path), header.source, port=8080, speed=1.0)
    serve_file("capture.jsonl.zst", ServeSettings(listen="8080"))  # the command's way

- Paymium captures (`paymium.public`, `paymium.user`): Socket.IO at
  `/ws/socket.io`, namespaces /public and /user (`paymium`), in Engine.IO 4
  or Engine.IO 3 (like the live server), one server for both
  (`paymium_sio`, with long-polling in `sio_polling`).
- node captures: a WebSocket at `/ws` (`node`).
- captures of `tail ws`: a WebSocket at the recorded URL's path (`node`'s
  server); of `tail sio`: Socket.IO at the recorded path, in the recorded
  namespace (`paymium_sio`'s server, its namespaces as data).

What a capture is served as (feed, path, namespaces) comes from its header
and the feed registry (`endpoints`, `wstail.feeds`).
`app` runs the aiohttp server, `playback` paces one pass of the capture per
client, `capture_file` reads a capture file for it, `run` serves a file until
interrupted, `access` refuses the Host names and web origins not allowed
(`cors=`, `allow_hosts=`; by default loopback names and no other origin).
The server stack (aiohttp) is imported only when a capture is served;
python-socketio never is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wstail.feeds import Feed
from wstail.serve.endpoints import Namespace, ServedCapture, served_capture

if TYPE_CHECKING:
    from wstail.serve.app import serve_capture
    from wstail.serve.run import ServeSettings, serve_file

__all__ = [
    "SERVE_EIO_CHOICES",
    "Namespace",
    "ServeSettings",
    "ServedCapture",
    "served_capture",
    "served_feed",
    "serve_capture",
    "serve_file",
]

SERVE_EIO_CHOICES = ("auto", "3", "4")  # auto: Engine.IO 4


def served_feed(source: str, extra: dict[str, Any] | None = None) -> Feed:
    """The feed whose server serves a capture (its header's source and other fields).

    ValueError if none is served.
    """
    return served_capture(source, "", extra).feed


_LAZY = {
    "serve_capture": "wstail.serve.app",
    "ServeSettings": "wstail.serve.run",
    "serve_file": "wstail.serve.run",
}


def __getattr__(name: str) -> Any:
    """The entry points whose modules import the server stack, imported on first use."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
