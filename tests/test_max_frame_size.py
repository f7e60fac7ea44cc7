"""--max-frame-size: a frame over the limit becomes a meta.bad_frame and is never held."""

from __future__ import annotations

import asyncio
import os
import re
from typing import Any

import pytest
from websockets.asyncio.server import serve

from helpers.live import run_wstail, wstail_env
from helpers.node_peers import NodePeer, Tail, run, scaled
from helpers.sio_peers import collect, ensure_node_modules, start_peer
from test_wsclient import (
    BINARY,
    CONT,
    TEXT,
    Deflater,
    drain,
    frame,
    open_client,
    raw_peer,
    take,
    text,
)
from wstail.frames import Frame
from wstail.sources.node import NodeSource
from wstail.sources.retry import backoff
from wstail.sources.socketio import SocketIOSource
from wstail.sources.wsframes import Oversized

LIMIT = 1000


def meta(frame: Frame) -> tuple[str, dict[str, Any]]:
    """A frame as (name, data) for meta frames, (kind, payload) for the rest."""
    if frame.kind == "meta":
        return str(frame.payload), dict(frame.data or {})
    return frame.kind, {"payload": frame.payload}


@pytest.mark.parametrize("how", ["at once", "byte by byte"])
def test_client_drops_oversized_frames_and_fragmented_messages(how: str) -> None:
    """Whole and fragmented messages over the limit become markers; the connection stays open."""
    big = os.urandom(LIMIT + 1)
    wire = (
        text("a")
        + frame(BINARY, big)
        + text("b")
        + frame(TEXT, b"c" * 600, fin=False)
        + frame(CONT, b"c" * 600, fin=False)
        + frame(CONT, b"c" * 10)
        + text("d")
        + frame(TEXT, b"e" * 400, fin=False)
        + frame(CONT, b"e" * 400)
        + text("f")
    )

    async def body() -> None:
        async with raw_peer() as peer:
            client = await open_client(peer.url, max_size=LIMIT)
            server = await peer.accepted()
            await server.write(wire, **({"step": 7, "client": client} if how != "at once" else {}))
            got = await take(client, 7)
            # The marker holds the body's first bytes at hand when the header came.
            heads = [m.head for m in got if isinstance(m, Oversized)]
            assert heads[0] == big[: len(heads[0])] and heads[1] == b"c" * len(heads[1])
            if how == "at once":
                assert heads == [big[:800], b"c" * 600]
            assert [Oversized(m.size, b"") if isinstance(m, Oversized) else m for m in got] == [
                "a",
                Oversized(LIMIT + 1, b""),
                "b",
                Oversized(1200, b""),
                "d",
                "e" * 800,
                "f",
            ]
            assert client.fast_path
            assert client.close_code is None
            await client.close()

    run(body, timeout=60)


@pytest.mark.parametrize(
    ("compressed", "why"),
    [
        (os.urandom(LIMIT * 2), "its compressed frame over the limit"),
        (b"w" * (LIMIT * 20), "inflated over the limit"),
    ],
    ids=["frame", "inflated"],
)
def test_client_with_deflate_marks_plain_frames_and_lets_websockets_judge_compressed(
    compressed: bytes, why: str
) -> None:
    """permessage-deflate: a plain frame over the limit is a marker (the connection stays);
    a compressed one is websockets' to judge (1009), whatever makes it too big."""
    big = os.urandom(LIMIT + 1)
    deflater = Deflater()
    wire = text("a") + frame(BINARY, big) + deflater.frame(TEXT, b"small") + text("b")

    async def body() -> None:
        async with raw_peer(deflate=True) as peer:
            client = await open_client(peer.url, max_size=LIMIT)
            server = await peer.accepted()
            await server.write(wire)
            got = await take(client, 4)
            assert got == ["a", Oversized(LIMIT + 1, big[:800]), "small", "b"]
            assert client.fast_path
            await server.write(deflater.frame(BINARY, compressed) + text("never"))
            messages, reason = await drain(client)
            assert messages == [], why
            assert re.fullmatch(
                r"closed the connection: 1009 \(message too big\) frame (with \d+ bytes )?"
                rf"exceeds limit of {LIMIT} bytes",
                reason,
            ), why

    run(body, timeout=60)


def test_node_source_reports_oversized_frame_and_goes_on() -> None:
    """tail node: one meta.bad_frame naming N (whole, then fragmented) between small frames."""

    async def body() -> None:
        peer = await NodePeer().start()
        tail = Tail(NodeSource(peer.url, ping_interval=5, max_frame_size=LIMIT))
        assert meta(await tail.next())[0] == "meta.connected"
        server = await peer.accepted()
        await server.send("small 1")
        await server.send("x" * (LIMIT + 1))
        await server.send("small 2")
        await server.send(["y" * 600, "y" * 600, "y"])
        await server.send("small 3")
        got = [meta(await tail.next()) for _ in range(5)]
        assert got == [
            ("text", {"payload": "small 1"}),
            (
                "meta.bad_frame",
                {"reason": f"frame of {LIMIT + 1} bytes over the limit", "frame": "x" * 200},
            ),
            ("text", {"payload": "small 2"}),
            (
                "meta.bad_frame",
                {"reason": "frame of 1200 bytes over the limit", "frame": "y" * 200},
            ),
            ("text", {"payload": "small 3"}),
        ]
        assert peer.attempts == 1
        await tail.close()
        await peer.stop()

    run(body)


def test_node_source_without_limit_lets_a_large_frame_through() -> None:
    """--max-frame-size 0: a 2 MiB frame arrives whole."""
    huge = "z" * (2 * 2**20)

    async def body() -> None:
        peer = await NodePeer().start()
        tail = Tail(NodeSource(peer.url, ping_interval=5, max_frame_size=0))
        assert meta(await tail.next())[0] == "meta.connected"
        server = await peer.accepted()
        await server.send(huge)
        await server.send("after")
        assert [(await tail.next()).payload for _ in range(2)] == [huge, "after"]
        await tail.close()
        await peer.stop()

    run(body)


def test_node_source_with_deflate_reconnects_after_an_oversized_frame() -> None:
    """permessage-deflate (websockets parses): 1009, meta.bad_frame, then a reconnect."""
    sent: list[int] = []

    async def handler(connection: Any) -> None:
        sent.append(1)
        if len(sent) == 1:
            await connection.send("before")
            await connection.send("w" * (LIMIT * 3))
        else:
            await connection.send("after")
        await connection.wait_closed()

    async def body() -> None:
        async with serve(handler, "127.0.0.1", 0, compression="deflate", max_size=None) as server:
            port = server.sockets[0].getsockname()[1]
            source = NodeSource(
                f"ws://127.0.0.1:{port}/ws",
                ping_interval=5,
                max_frame_size=LIMIT,
                delays=lambda: backoff(base=0.01, cap=0.05),
            )
            tail = Tail(source)
            got = [meta(await tail.next()) for _ in range(7)]
            await tail.close()
        names = [name for name, _ in got]
        assert names == [
            "meta.connected",
            "text",
            "meta.bad_frame",
            "meta.disconnected",
            "meta.reconnecting",
            "meta.connected",
            "text",
        ]
        reason = got[2][1]["reason"]
        assert re.fullmatch(
            rf"frame (of \d+ bytes over the limit|over the limit of {LIMIT} bytes)", reason
        )
        assert got[6][1] == {"payload": "after"}

    run(body)


@pytest.mark.parametrize("kind", ["sio2", "sio4", "python"])
def test_socketio_source_reports_oversized_event_and_reconnects(kind: str) -> None:
    """Socket.IO: an event over the limit is a meta.bad_frame, then events after the reconnect.

    socket.io 2/4 send plain frames (the frame's size read from its header,
    its body never held); python-socketio (aiohttp) negotiates
    permessage-deflate, where websockets' parser closes with 1009.
    """
    steps = [
        {"ns": "/public", "data": "first"},
        {"ns": "/public", "data": "x" * (LIMIT * 2)},
        {"ns": "/public", "data": "after", "after_connects": 2},
    ]
    eio = "4" if kind in ("sio4", "python") else "3"

    if kind != "python":
        ensure_node_modules()

    async def body() -> None:
        async with start_peer(kind, steps) as peer:
            source = SocketIOSource(peer.url, "/public", eio=eio, max_frame_size=LIMIT)
            frames = await collect(
                source, lambda got: any(f.kind == "sio" and "after" in f.payload for f in got)
            )
        names = [meta(f)[0] if f.kind == "meta" else f.kind for f in frames]
        assert names.count("meta.bad_frame") == 1
        bad = next(meta(f)[1] for f in frames if f.payload == "meta.bad_frame")
        assert re.fullmatch(
            rf"frame (of \d+ bytes over the limit|over the limit of {LIMIT} bytes)", bad["reason"]
        )
        assert names.index("meta.bad_frame") < names.index("meta.reconnecting")
        assert [f.payload for f in frames if f.kind == "sio"] == [
            '["stream","first"]',
            '["stream","after"]',
        ]

    run(body, timeout=scaled(30))


@pytest.mark.parametrize("value", ["-1", "abc", "1.5", ""])
def test_invalid_max_frame_size_exits_2(value: str, tmp_path: Any) -> None:
    """A negative or non-integer --max-frame-size is a one-line usage error."""

    async def body() -> None:
        for args in (
            ("tail", "node", f"--max-frame-size={value}"),
            ("record", "public", "-o", str(tmp_path / "x.jsonl"), f"--max-frame-size={value}"),
        ):
            done = await run_wstail(*args, "--retries", "0", env=wstail_env(tmp_path))
            assert done.code == 2, done
            assert len(done.err_lines) == 1, done.err_lines
            assert "--max-frame-size" in done.err_lines[0]

    asyncio.run(body())
