"""A node-like WebSocket server flooding each client: `flood_server.py COUNT SIZE [PORT [PAUSE]]`.

Prints its port on the first line of stdout, then for every client sends
COUNT pretty-printed `status`-like frames of about SIZE bytes as fast as it
can (or PAUSE seconds apart), each numbered, and prints `sent N` when done.
Never reads a frame. Listens on 127.0.0.1, PORT (default 0: any free port).
"""

from __future__ import annotations

import asyncio
import sys

from websockets.asyncio.server import ServerConnection, serve


async def main(count: int, size: int, port: int = 0, pause: float = 0.0) -> None:
    """Serve until killed."""
    padding = "x" * max(0, size - 80)

    async def flood(connection: ServerConnection) -> None:
        for number in range(1, count + 1):
            await connection.send(
                f'{{\n  "notification": {{\n    "notificationId": "n{number}",\n'
                f'    "pad": "{padding}",\n    "type": "follow"\n  }}\n}}'
            )
            if pause:
                await asyncio.sleep(pause)
        print(f"sent {count}", flush=True)
        await connection.wait_closed()

    async with serve(flood, "127.0.0.1", port, max_size=None, compression=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        print(port, flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    args = sys.argv[1:]
    asyncio.run(
        main(
            int(args[0]),
            int(args[1]),
            int(args[2]) if len(args) > 2 else 0,
            float(args[3]) if len(args) > 3 else 0.0,
        )
    )
