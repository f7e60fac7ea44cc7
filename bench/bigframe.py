"""Peak RSS of `wstail tail node` receiving one 300 MB frame, with and without a limit.

    python bench/bigframe.py [--mb 300] [--wstail .venv/bin/wstail]

A node-like WebSocket server on 127.0.0.1 (port 0) sends one text frame of
MB megabytes (written in 1 MiB pieces: the server never holds it), then a
small frame. `tail node --meta --until "data.after == `1`"` (default
--max-frame-size: a meta.bad_frame, then the small frame; `--max-frame-size
0`: the big frame, then the small one; the small frame ends the run, as
`-n` counts data envelopes only) runs in a fresh child process per setting, so
`getrusage(RUSAGE_CHILDREN).ru_maxrss` is that run's peak alone.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import resource
import subprocess
import sys
import time

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_PIECE = 1 << 20


def _frame_head(opcode: int, size: int) -> bytes:
    """An unmasked FIN frame header for a payload of `size` bytes."""
    if size < 126:
        return bytes([0x80 | opcode, size])
    if size < 65536:
        return bytes([0x80 | opcode, 126]) + size.to_bytes(2, "big")
    return bytes([0x80 | opcode, 127]) + size.to_bytes(8, "big")


async def _serve_one(size: int, ready: asyncio.Future[int], done: asyncio.Event) -> None:
    """Accept one upgrade, send the big frame and a small one, then wait for the close."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        key = next(
            line.split(b":", 1)[1].strip()
            for line in request.split(b"\r\n")
            if line.lower().startswith(b"sec-websocket-key:")
        )
        accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
        writer.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        # A JSON string of `size` bytes in all: '"' + 'a' * (size - 2) + '"'.
        writer.write(_frame_head(0x1, size) + b'"')
        piece = b"a" * _PIECE
        left = size - 2
        while left > 0:
            writer.write(piece[: min(left, _PIECE)])
            left -= min(left, _PIECE)
            await writer.drain()
        small = b'{"after": 1}'
        writer.write(b'"' + _frame_head(0x1, len(small)) + small)
        await writer.drain()
        await reader.read()  # until the client goes
        writer.close()
        done.set()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    ready.set_result(server.sockets[0].getsockname()[1])
    async with server:
        await done.wait()


async def _measure(size: int, wstail: str, extra: list[str]) -> dict[str, object]:
    """Run `tail node` against the server once; its peak RSS and what it printed."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[int] = loop.create_future()
    done = asyncio.Event()
    server = asyncio.create_task(_serve_one(size, ready, done))
    port = await ready
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        wstail,
        "tail",
        "node",
        "--url",
        f"ws://127.0.0.1:{port}/ws",
        "--meta",
        "--until",
        "data.after == `1`",
        "--compact",
        *extra,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    seconds = time.monotonic() - started
    done.set()
    await server
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    events = [json.loads(line).get("event") for line in out.splitlines()]
    return {
        "args": extra,
        "exit": process.returncode,
        "events": events,
        "peak_rss_mb": round(peak_kib / 1024, 1),
        "seconds": round(seconds, 2),
        "stderr": err.decode()[-200:],
    }


def main() -> None:
    """Each setting in a fresh Python child (RUSAGE_CHILDREN is per process tree)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=300)
    parser.add_argument("--wstail", default=os.path.join(sys.prefix, "bin", "wstail"))
    parser.add_argument("--one", help=argparse.SUPPRESS)  # one run: its extra args
    args = parser.parse_args()
    size = args.mb * 1_000_000
    if args.one is not None:
        print(json.dumps(asyncio.run(_measure(size, args.wstail, args.one.split()))))
        return
    for extra in ([], ["--max-frame-size", "0"]):
        result = subprocess.run(
            [sys.executable, __file__, "--mb", str(args.mb), "--wstail", args.wstail]
            + [f"--one={' '.join(extra)}"],
            capture_output=True,
            text=True,
            check=True,
        )
        print(result.stdout.strip())


if __name__ == "__main__":
    main()
