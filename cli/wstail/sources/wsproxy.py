"""Reaching a WebSocket server through an HTTP(S) proxy from the environment (CONNECT).

The proxy is chosen as websockets' own client chooses it (RFC 6455's
"Proxy Usage": `wss`/`ws` proxies first, then SOCKS, then `https`, then
`http`, as `urllib.request.getproxies()` reads them; `no_proxy` honoured).
"""

from __future__ import annotations

import asyncio
import base64
import ssl as ssl_module
import urllib.parse
import urllib.request
from collections.abc import Callable

from websockets.datastructures import Headers
from websockets.exceptions import InvalidProxyMessage, InvalidProxyStatus
from websockets.http11 import Response
from websockets.uri import WebSocketURI

__all__ = ["open_tunnel", "proxy_for"]

_END_OF_HEAD = b"\r\n\r\n"


def proxy_for(uri: WebSocketURI) -> str | None:
    """The proxy URL the environment names for this WebSocket URI, or None."""
    if urllib.request.proxy_bypass(f"{uri.host}:{uri.port}"):
        return None
    proxies = urllib.request.getproxies()
    schemes = ["wss", "socks", "https"] if uri.secure else ["ws", "socks", "https", "http"]
    for scheme in schemes:
        proxy = proxies.get(scheme)
        if proxy is not None:
            if scheme == "socks" and proxy.startswith("http://"):
                proxy = "socks5h://" + proxy[7:]
            return proxy
    return None


def connect_request(proxy: urllib.parse.SplitResult, uri: WebSocketURI, user_agent: str) -> bytes:
    """The CONNECT request for the server's host and port (with the proxy's credentials)."""
    host = f"[{uri.host}]" if ":" in uri.host else uri.host
    target = f"{host}:{uri.port}"
    lines = [f"CONNECT {target} HTTP/1.1", f"Host: {target}", f"User-Agent: {user_agent}"]
    if proxy.username is not None:
        user = urllib.parse.unquote(proxy.username)
        password = urllib.parse.unquote(proxy.password or "")
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        lines.append(f"Proxy-Authorization: Basic {token}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class _TunnelReply(asyncio.Protocol):
    """Reads the proxy's answer to CONNECT, up to the end of its head."""

    def __init__(self, request: bytes) -> None:
        self.request = request
        self.head = b""
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.head += data
        if _END_OF_HEAD in self.head and not self.done.done():
            self.done.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            error = InvalidProxyMessage("did not receive a valid HTTP response from proxy")
            error.__cause__ = exc if exc is not None else EOFError("connection closed")
            self.done.set_exception(error)


async def open_tunnel(
    proxy_url: str,
    uri: WebSocketURI,
    user_agent: str,
    protocol: Callable[[], asyncio.Protocol],
    ssl: ssl_module.SSLContext | None,
) -> None:
    """Open a CONNECT tunnel to the server, TLS inside it for wss://, and start `protocol` on it.

    Raises InvalidProxyStatus (a non-2xx answer), InvalidProxyMessage, OSError,
    and ImportError for a SOCKS proxy, as websockets does without python-socks.
    """
    proxy = urllib.parse.urlsplit(proxy_url)
    if proxy.scheme.startswith("socks"):
        raise ImportError("connecting through a SOCKS proxy requires python-socks")
    if proxy.scheme not in ("http", "https") or not proxy.hostname:
        raise InvalidProxyMessage(f"unsupported proxy: {proxy.scheme}://")
    loop = asyncio.get_running_loop()
    port = proxy.port or (443 if proxy.scheme == "https" else 80)
    request = connect_request(proxy, uri, user_agent)
    transport, reply = await loop.create_connection(
        lambda: _TunnelReply(request),
        proxy.hostname,
        port,
        ssl=True if proxy.scheme == "https" else None,
    )
    try:
        await reply.done
        status_line = reply.head.split(b"\r\n", 1)[0].decode("latin-1")
        try:
            _, code, *reason = status_line.split(" ", 2)
            status = int(code)
        except ValueError:
            raise InvalidProxyMessage(f"invalid status line: {status_line}") from None
        if not 200 <= status < 300:
            raise InvalidProxyStatus(Response(status, reason[0] if reason else "", Headers()))
        client = protocol()
        transport.set_protocol(client)
        if ssl is not None:
            tls = await loop.start_tls(transport, client, ssl, server_hostname=uri.host)
            assert tls is not None
            transport = tls
        client.connection_made(transport)
    except BaseException:
        transport.abort()
        raise
