"""wsconnect.connect: through an HTTP CONNECT proxy named by the environment, and redirects."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed, InvalidProxyStatus, InvalidStatus, SecurityError
from websockets.http11 import Response

from helpers.node_peers import run
from wstail.sources.wsconnect import connect, redirect_target


@contextlib.asynccontextmanager
async def connect_proxy(answer: bytes = b"") -> AsyncIterator[tuple[int, list[bytes]]]:
    """A CONNECT proxy on a free port: tunnels (or, given `answer`, refuses with it)."""
    requests: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        requests.append(head)
        if answer:
            writer.write(answer)
            writer.close()
            return
        host, port = head.split(b" ")[1].decode().rsplit(":", 1)
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1], requests
    finally:
        server.close()


async def greet(connection: ServerConnection) -> None:
    """Send two messages, then close."""
    await connection.send("through")
    await connection.send(b"the proxy")
    await connection.close(1000, "done")


def test_frames_come_through_the_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """http_proxy is used: a CONNECT to the server, then the WebSocket inside the tunnel."""

    async def body() -> None:
        async with serve(greet, "127.0.0.1", 0) as server, connect_proxy() as (port, requests):
            target = server.sockets[0].getsockname()[1]
            monkeypatch.setenv("http_proxy", f"http://user:pw@127.0.0.1:{port}")
            monkeypatch.delenv("no_proxy", raising=False)
            client = await connect(f"ws://127.0.0.1:{target}/", user_agent="wstail-test")
            got: list[str | bytes] = []
            with contextlib.suppress(ConnectionClosed):
                while True:
                    got += await client.recv_batch()
            assert got == ["through", b"the proxy"]
            assert requests[0].startswith(f"CONNECT 127.0.0.1:{target} HTTP/1.1\r\n".encode())
            assert b"Proxy-Authorization: Basic dXNlcjpwdw==" in requests[0]

    run(body)


def test_no_proxy_goes_direct_and_a_refusal_is_invalid_proxy_status(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """proxy=False never asks the proxy; a 407 from it raises InvalidProxyStatus."""
    refusal = b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n"

    async def body() -> None:
        async with serve(greet, "127.0.0.1", 0) as server, connect_proxy(refusal) as (port, asked):
            target = server.sockets[0].getsockname()[1]
            monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{port}")
            monkeypatch.delenv("no_proxy", raising=False)
            client = await connect(f"ws://127.0.0.1:{target}/", proxy=False)
            assert await client.recv_batch() == ["through", b"the proxy"]
            await client.close()
            assert asked == []
            with pytest.raises(InvalidProxyStatus) as caught:
                await connect(f"ws://127.0.0.1:{target}/")
            assert caught.value.response.status_code == 407

    run(body)


def test_a_redirect_is_followed_without_credentials_across_origins() -> None:
    """A 302 to another port is followed; Authorization and Cookie stay behind, others go."""
    seen: list[Headers] = []

    async def moved(connection: ServerConnection, request: Any) -> Any:
        response = connection.respond(302, "")
        response.headers["Location"] = f"ws://127.0.0.1:{target}/there"
        return response

    async def record(connection: ServerConnection, request: Any) -> None:
        seen.append(request.headers)

    async def body() -> None:
        nonlocal target
        async with (
            serve(greet, "127.0.0.1", 0, process_request=record) as there,
            serve(greet, "127.0.0.1", 0, process_request=moved) as here,
        ):
            target = there.sockets[0].getsockname()[1]
            port = here.sockets[0].getsockname()[1]
            headers = [("Authorization", "Basic eDp5"), ("Cookie", "c=1"), ("X-Other", "1")]
            client = await connect(f"ws://127.0.0.1:{port}/", headers=headers, proxy=False)
            assert await client.recv_batch() == ["through", b"the proxy"]
            await client.close()
            assert "Authorization" not in seen[0] and "Cookie" not in seen[0]
            assert seen[0]["X-Other"] == "1"

    target = 0
    run(body)


def test_redirect_rules() -> None:
    """Only 3xx with a Location redirect, relative ones resolved; wss never goes down to ws."""

    def refused(status: int, location: str | None) -> InvalidStatus:
        headers = Headers() if location is None else Headers(Location=location)
        return InvalidStatus(Response(status, "", headers))

    assert redirect_target("ws://h/a", refused(301, "/b")) == "ws://h/b"
    assert redirect_target("wss://h/a", refused(308, "wss://g/")) == "wss://g/"
    assert redirect_target("ws://h/a", refused(302, None)) is None
    assert redirect_target("ws://h/a", refused(403, "/b")) is None
    with pytest.raises(SecurityError):
        redirect_target("wss://h/a", refused(307, "ws://h/a"))
