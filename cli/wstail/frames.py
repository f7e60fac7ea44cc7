"""The one type every source yields: a frame as received, with its receive time."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

FrameKind = Literal["sio", "text", "binary", "meta"]


@dataclass(slots=True)
class Frame:
    """One message as received, before normalization; never changed once made.

    (Not a frozen dataclass: making one costs twice as long, once per frame.)

    kind "sio": a Socket.IO event; `channel` is the namespace ("/public",
      "/user") and `payload` the JSON text of the event array, exactly as on
      the wire: '["stream",{"asks":[...]}]'.
    kind "text": a WebSocket text frame (node); `payload` is the text.
    kind "binary": a WebSocket binary frame; `payload` is the bytes.
    kind "meta": a lifecycle event; `payload` is its name ("meta.connected")
      and `data` its details.
    """

    recv_us: int
    kind: FrameKind
    payload: str | bytes
    channel: str = ""
    data: dict[str, Any] | None = field(default=None)


def meta_frame(recv_us: int, name: str, **details: Any) -> Frame:
    """Build a lifecycle frame (`meta.connected`, `meta.disconnected`, ...)."""
    return Frame(recv_us=recv_us, kind="meta", payload=name, data=dict(details))
