"""A node-like WebSocket server that floods each client: `flood_server.py COUNT SIZE`.

Prints its port on the first line of stdout, then for every client sends
COUNT pretty-printed `status`-like frames of about SIZE bytes as fast as it
can, each numbered, and prints `sent N` when done. Never reads a frame.
"""

from __future__ import annotations

import asyncio
import sys

from websockets.asyncio.server import ServerConnection, serve


async def main(count: int, size: int) -> None:
    """Serve until killed."""
    padding = "x" * max(0, size - 80)

    async def flood(connection: ServerConnection) -> None:
        for number in range(1, count + 1):
            await connection.send(
                f'{{\n  "notification": {{\n    "notificationId": "n{number}",\n'
                f'    "pad": "{padding}",\n    "type": "follow"\n  }}\n}}'
            )
        print(f"sent {count}", flush=True)
        await connection.wait_closed()

    async with serve(flood, "127.0.0.1", 0, max_size=None, compression=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        print(port, flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
