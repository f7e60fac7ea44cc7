"""Opening a `WebSocketClient`: TCP or a proxy tunnel, TLS, the handshake, redirects.

What websockets' own asyncio `connect()` does for a client, on its public
sans-I/O API: the same errors, the same redirects (up to 10, never from
wss:// to ws://, credentials dropped on a cross-origin one).
"""

from __future__ import annotations

import asyncio
import logging
import ssl as ssl_module
import urllib.parse
from collections.abc import Sequence
from typing import Any

from websockets.client import ClientProtocol
from websockets.exceptions import InvalidStatus, SecurityError
from websockets.extensions.permessage_deflate import enable_client_permessage_deflate
from websockets.http11 import USER_AGENT
from websockets.uri import WebSocketURI, parse_uri

from wstail.sources.wsclient import WebSocketClient
from wstail.sources.wsproxy import open_tunnel, proxy_for

__all__ = ["MAX_REDIRECTS", "connect", "redirect_target"]

MAX_REDIRECTS = 10
_REDIRECTS = (300, 301, 302, 303, 307, 308)
_CREDENTIALS = ("authorization", "cookie", "proxy-authorization")


def redirect_target(url: str, exc: BaseException) -> str | None:
    """The URL a refused handshake redirects to, or None when it is no redirect.

    Raises SecurityError for a redirect from wss:// to ws://.
    """
    if not isinstance(exc, InvalidStatus) or exc.response.status_code not in _REDIRECTS:
        return None
    location = exc.response.headers.get("Location")
    if location is None:
        return None
    target = urllib.parse.urljoin(url, location)
    if parse_uri(url).secure and not parse_uri(target).secure:
        raise SecurityError(f"cannot follow redirect to non-secure URI {target}") from exc
    return target


def _same_origin(old: WebSocketURI, new: WebSocketURI) -> bool:
    return (old.secure, old.host, old.port) == (new.secure, new.host, new.port)


async def connect(
    url: str,
    *,
    headers: Sequence[tuple[str, str]] = (),
    user_agent: str | None = None,
    ssl: ssl_module.SSLContext | None = None,
    open_timeout: float = 10.0,
    ping_interval: float | None = None,
    ping_timeout: float | None = None,
    close_timeout: float = 2.0,
    max_queue: tuple[int, int] = (4096, 1024),
    max_size: int | None = None,
    strict_text: bool = True,
    compression: str | None = "deflate",
    logger: logging.Logger | None = None,
    client_class: type[WebSocketClient] = WebSocketClient,
    proxy: bool = True,
) -> WebSocketClient:
    """Open a client connection to a ws:// or wss:// URL.

    A message over `max_size` bytes (None or 0: no limit) is never held:
    see `WebSocketClient`.

    With `proxy`, through the HTTP(S) proxy the environment names for it
    (`wsproxy`). Raises what websockets' own `connect()` raises:
    InvalidStatus, InvalidMessage, InvalidProxyStatus, SecurityError,
    OSError, TimeoutError (no handshake within `open_timeout`).
    """
    options: dict[str, Any] = {
        "user_agent": user_agent,
        "ssl": ssl,
        "ping_interval": ping_interval,
        "ping_timeout": ping_timeout,
        "close_timeout": close_timeout,
        "max_queue": max_queue,
        "max_size": max_size,
        "strict_text": strict_text,
        "compression": compression,
        "logger": logger,
        "client_class": client_class,
        "proxy": proxy,
    }
    async with asyncio.timeout(open_timeout):
        for _ in range(MAX_REDIRECTS):
            try:
                return await _open(url, headers, **options)
            except InvalidStatus as exc:
                target = redirect_target(url, exc)
                if target is None:
                    raise
                if not _same_origin(parse_uri(url), parse_uri(target)):
                    headers = [(k, v) for k, v in headers if k.lower() not in _CREDENTIALS]
                url = target
        raise SecurityError(f"more than {MAX_REDIRECTS} redirects")


async def _open(
    url: str,
    headers: Sequence[tuple[str, str]],
    *,
    user_agent: str | None,
    ssl: ssl_module.SSLContext | None,
    ping_interval: float | None,
    ping_timeout: float | None,
    close_timeout: float,
    max_queue: tuple[int, int],
    max_size: int | None,
    strict_text: bool,
    compression: str | None,
    logger: logging.Logger | None,
    client_class: type[WebSocketClient],
    proxy: bool,
) -> WebSocketClient:
    """One attempt: connect, send the upgrade request, wait for the response."""
    uri = parse_uri(url)
    extensions = enable_client_permessage_deflate(None) if compression == "deflate" else None
    # Control frames (up to 125 bytes) always get through, whatever the limit.
    ws_limit = max(max_size, 125) if max_size else None
    protocol = ClientProtocol(uri, extensions=extensions, max_size=ws_limit, logger=logger)
    request = protocol.connect()
    request.headers.update(headers)
    if user_agent is not None:
        request.headers.setdefault("User-Agent", user_agent)
    protocol.send_request(request)
    tls: ssl_module.SSLContext | None = None
    if uri.secure:
        tls = ssl if ssl is not None else ssl_module.create_default_context()
    via = proxy_for(uri) if proxy else None
    client: WebSocketClient | None = None

    def make() -> WebSocketClient:
        nonlocal client
        client = client_class(
            protocol,
            max_queue=max_queue,
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
            close_timeout=close_timeout,
            max_size=max_size,
            strict_text=strict_text,
        )
        return client

    try:
        if via is not None:
            await open_tunnel(via, uri, user_agent or USER_AGENT, make, tls)
        else:
            tcp: dict[str, Any] = {}
            if tls is not None:
                tcp = {"ssl": tls, "server_hostname": uri.host}
            await asyncio.get_running_loop().create_connection(make, uri.host, uri.port, **tcp)
        assert client is not None
        await client.wait_open()
    except BaseException:
        if client is not None:
            client.abort()
        raise
    return client
