"""The one type every source yields: a frame as received, with its receive time."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable
from dataclasses import dataclass, field
from typing import Any, Literal

from wstail.words import counted

FrameKind = Literal["sio", "text", "binary", "meta"]

BAD_FRAME_CHARS = 200
# --max-frame-size's default: 64 MiB (0 means no limit).
DEFAULT_MAX_FRAME_SIZE = 64 * 1024 * 1024


@dataclass(slots=True)
class Frame:
    """One message as received, before normalization; never changed once made.

    (Not a frozen dataclass: making one costs twice as long, once per frame.)

    kind "sio": a Socket.IO event; `channel` is the namespace ("/public",
      "/user") and `payload` the JSON text of the event array, exactly as on
      the wire: '["stream",{"asks":[...]}]'. A binary event keeps its
      placeholders in the text ('["stream",{"_placeholder":true,"num":0}]')
      and its attachments' bytes in `data`: {"attachments": [b"...", ...]};
      `data` is None for every other event.
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


async def frames_of(batches: AsyncGenerator[list[Frame], None]) -> AsyncGenerator[Frame, None]:
    """A batched source's frames one at a time (closing the batches when closed)."""
    try:
        async for batch in batches:
            for frame in batch:
                yield frame
    finally:
        await batches.aclose()


async def batches_of_one(frames: AsyncIterable[Frame]) -> AsyncGenerator[list[Frame], None]:
    """A source of single frames as batches of one (closing it when closed)."""
    iterator = aiter(frames)
    try:
        async for frame in iterator:
            yield [frame]
    finally:
        closer = getattr(iterator, "aclose", None)
        if closer is not None:
            await closer()


def raw_payload(frame: Frame) -> str | bytes:
    """What --raw prints of a frame: its payload; a binary event's text with its bytes in place.

    (Each placeholder becomes `{"_binary":"<base64>"}`, all else as received.)
    """
    if frame.kind == "sio" and frame.data is not None and type(frame.payload) is str:
        from wstail.placeholders import filled_text

        return filled_text(frame.payload, frame.data)
    return frame.payload


def truncate_frame(data: str | bytes) -> str:
    """The raw packet for a meta.bad_frame, as text, at most BAD_FRAME_CHARS characters."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        data = bytes(data[: BAD_FRAME_CHARS * 4]).decode("utf-8", "backslashreplace")
    return data[:BAD_FRAME_CHARS]


def oversized_frame(recv_us: int, size: int | None, limit: int, head: bytes = b"") -> Frame:
    """The meta.bad_frame of a frame over --max-frame-size (`size` None: not known)."""
    if size is None:
        reason = f"frame over the limit of {counted(limit, 'byte')}"
    else:
        reason = f"frame of {counted(size, 'byte')} over the limit"
    return meta_frame(recv_us, "meta.bad_frame", reason=reason, frame=truncate_frame(head))


def too_big_frame(recv_us: int, close_reason: str, limit: int) -> Frame:
    """The meta.bad_frame of a connection closed with 1009, N taken from websockets' reason."""
    import re

    found = re.search(r"with (\d+) bytes", close_reason)
    return oversized_frame(recv_us, int(found.group(1)) if found else None, limit)


def meta_frame(recv_us: int, name: str, **details: Any) -> Frame:
    """Build a lifecycle frame (`meta.connected`, `meta.disconnected`, ...)."""
    return Frame(recv_us=recv_us, kind="meta", payload=name, data=dict(details))
