"""Real peers for the node source tests: a node-like WebSocket server on 127.0.0.1.

`NodePeer` is a `websockets` server that behaves like an OpenBazaar node's
socket: it never pings, checks credentials before the upgrade (401 for Basic,
403 for the cookie, as openbazaar-go does) and records anything a client
sends. Tests script what each accepted connection sends.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from helpers.timeouts import scaled

T = TypeVar("T")


def run(make: Callable[[], Awaitable[T]], timeout: float = 10.0) -> T:
    """Run one async test body under a (scaled) overall timeout."""

    async def bounded() -> T:
        async with asyncio.timeout(scaled(timeout)):
            return await make()

    return asyncio.run(bounded())


class NodePeer:
    """A node-like WebSocket server; each accepted connection is handed to the test."""

    def __init__(
        self,
        *,
        user: str | None = None,
        password: str | None = None,
        cookie: str | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.user = user
        self.password = password
        self.cookie = cookie
        self.tls = tls
        self.attempts = 0
        self.refused = 0
        self.request_headers: list[Headers] = []
        self.received: list[str | bytes] = []
        self.port = 0
        self._server: Server | None = None
        self._accepted: asyncio.Queue[ServerConnection] = asyncio.Queue()

    @property
    def url(self) -> str:
        """The ws:// (or wss://) URL of the node socket."""
        scheme = "wss" if self.tls else "ws"
        return f"{scheme}://127.0.0.1:{self.port}/ws"

    async def start(self, port: int = 0) -> NodePeer:
        """Listen on 127.0.0.1 (port 0: any free port, read back)."""
        self._server = await serve(
            self._handle,
            "127.0.0.1",
            port,
            process_request=self._check_credentials,
            ping_interval=None,  # the node never pings
            compression=None,  # nor compresses (gorilla's default)
            max_size=None,
            ssl=self.tls,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def kill(self) -> None:
        """Stop like a killed process: connections cut without a close frame."""
        assert self._server is not None
        self._server.server.close()  # stop listening now, before anyone notices the cut
        for connection in list(self._server.connections):
            connection.transport.abort()
        self._server.close(close_connections=False)
        await self._server.wait_closed()
        self._server = None

    async def stop(self) -> None:
        """Shut down at the end of a test, without waiting on any close handshake."""
        if self._server is not None:
            await self.kill()

    async def accepted(self, timeout: float = 5.0) -> ServerConnection:
        """The next connection that passed the upgrade."""
        async with asyncio.timeout(scaled(timeout)):
            return await self._accepted.get()

    def _check_credentials(self, connection: ServerConnection, request: Request) -> Response | None:
        self.attempts += 1
        self.request_headers.append(request.headers)
        if self.user is not None:
            expected = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
            if request.headers.get("Authorization") != f"Basic {expected}":
                self.refused += 1
                return connection.respond(401, "401 - Unauthorized\n")
        elif self.cookie is not None:
            sent = request.headers.get("Cookie", "")
            if f"OpenBazaar_Auth_Cookie={self.cookie}" not in sent.split("; "):
                self.refused += 1
                return connection.respond(403, "403 - Forbidden\n")
        return None

    async def _handle(self, connection: ServerConnection) -> None:
        await self._accepted.put(connection)
        # Reading keeps pings answered and records anything a client sends.
        async for message in connection:
            self.received.append(message)


@contextlib.asynccontextmanager
async def silent_tcp_server(accepted: asyncio.Event | None = None) -> AsyncIterator[int]:
    """A TCP server that accepts and then never says a word (no handshake); yields its port.

    `accepted` is set once a connection came in.
    """
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        if accepted is not None:
            accepted.set()
        await reader.read()  # until the client gives up

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for writer in held:
            writer.close()
        await server.wait_closed()


async def free_port() -> int:
    """A port nothing listens on (bound, read back, released)."""
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port: int = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    return port


class Tail:
    """Consumes a source in a task so a test can await its frames one by one."""

    def __init__(self, source: AsyncIterator[Any] | Any) -> None:
        self.frames: asyncio.Queue[Any] = asyncio.Queue()
        self.error: BaseException | None = None
        self._task = asyncio.get_running_loop().create_task(self._pump(source))

    async def _pump(self, source: Any) -> None:
        try:
            async for frame in source:
                await self.frames.put(frame)
        except Exception as exc:  # handed to the test through next()
            self.error = exc
            await self.frames.put(exc)

    async def next(self, timeout: float = 5.0) -> Any:
        """The next frame (an exception the source raised is raised here)."""
        async with asyncio.timeout(scaled(timeout)):
            item = await self.frames.get()
        if isinstance(item, BaseException):
            raise item
        return item

    async def ended(self, timeout: float = 5.0) -> None:
        """Wait until the source's run ended by itself (its iterator returned)."""
        async with asyncio.timeout(scaled(timeout)):
            await asyncio.shield(self._task)

    async def close(self) -> None:
        """Stop consuming; the source closes its connection."""
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
