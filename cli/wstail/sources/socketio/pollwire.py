"""The HTTP edge of Engine.IO long-polling: requests, headers, cookies, and why one failed.

What `wire.py` is to the WebSocket transport, over aiohttp (imported with
this module, which only the long-polling fallback imports). A request
carries what the WebSocket upgrade carries: the `-H` headers as given (a
`Cookie` among them untouched), the URL's own query first, the same TLS
settings, and the proxy of the environment except on loopback. Cookies the
server sets (engine.io's `io`, a load balancer's affinity cookie) are sent
back on the session's later requests, as a browser would.

Every failure comes out as a `session` exception with a reason that holds
no secret: Refused (401/403, an untrusted certificate, a server that speaks
Engine.IO 4 only) or HandshakeFailed. A request is sent once, never again
behind our back (`_sent_once`): a long-poll's answer lost in flight ends the
session, so that the gap is marked.
"""

from __future__ import annotations

import codecs
import logging
import ssl
import time
from collections.abc import Callable
from urllib.parse import quote, urlsplit, urlunsplit

import aiohttp
import orjson
import yarl

from wstail.frames import BAD_FRAME_CHARS
from wstail.sources.node import is_loopback
from wstail.sources.retry import os_reason, untrusted
from wstail.sources.socketio.payload import SEPARATOR, ascii_packet, encode_payload
from wstail.sources.socketio.session import REFUSED_STATUSES, HandshakeFailed, Refused, SioTarget

__all__ = ["EIO4_ONLY", "PollWire", "error_reason"]

log = logging.getLogger(__name__)

EIO4_ONLY = "speaks Socket.IO 3/4 (Engine.IO 4), not Engine.IO 3: use --eio 4 or --eio auto"
_ERROR_BODY = 1000  # bytes of an error response read for its message


class PollWire:
    """The HTTP requests of one polling session (`sid` set once it is open).

    `eio` (3 or 4) is the Engine.IO version asked and spoken; an `auto`
    session asks its first GET at 4 and sets it from the answer.
    """

    def __init__(self, target: SioTarget, eio: int = 3) -> None:
        self.target = target
        self.eio = eio
        self.sid: str | None = None
        self._cookies: dict[str, str] = {}
        self._count = 0
        self._ssl: ssl.SSLContext | bool = target.ssl_context() or True
        host = urlsplit(f"//{target.netloc}").hostname or ""
        self._client = aiohttp.ClientSession(
            cookie_jar=aiohttp.DummyCookieJar(),  # ours, so that a -H Cookie goes as it is
            trust_env=not is_loopback(host),  # the proxy of the environment, as websockets
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=target.connect_timeout),
            middlewares=(_sent_once,),
        )

    def url(self) -> yarl.URL:
        """The polling URL: the target's query, then EIO, transport, a cache buster, b64, sid.

        `b64=1` (binary packets as base64 text) is Engine.IO 3's question; an
        Engine.IO 4 server always answers so, and ignores it on the first GET
        of `auto`, which goes to either kind of server.
        """
        target = self.target
        self._count += 1
        params = f"EIO={self.eio}&transport=polling&t={time.time_ns() // 1_000_000:x}-{self._count}"
        if self.eio == 3 or self.sid is None:
            params += "&b64=1"
        if self.sid:
            params += f"&sid={quote(self.sid, safe='')}"
        query = f"{target.query}&{params}" if target.query else params
        path = target.path.rstrip("/") + "/"
        return yarl.URL(urlunsplit((target.scheme, target.netloc, path, query, "")), encoded=True)

    def headers(self) -> list[tuple[str, str]]:
        """The -H headers, the server's cookies added to (or as) the Cookie header."""
        headers = list(self.target.headers)
        if not self._cookies:
            return headers
        ours = "; ".join(f"{name}={value}" for name, value in self._cookies.items())
        for index, (name, value) in enumerate(headers):
            if name.lower() == "cookie":
                headers[index] = (name, f"{value}; {ours}")
                return headers
        return [*headers, ("Cookie", ours)]

    async def get(self, feed: Callable[[str], None], *, handshake: bool = False) -> None:
        """One long-poll: `feed` takes the response text as it arrives.

        The body is read as UTF-8; bytes that are not stay escaped
        (surrogateescape), so that the protocol reports them. What `feed`
        raises ends the request and goes on up.
        """
        decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
        try:
            async with self._client.get(
                self.url(), headers=self.headers(), ssl=self._ssl
            ) as response:
                await self._check(response, "GET", handshake)
                if response.content_type == "application/octet-stream":
                    raise HandshakeFailed("the server sent a binary payload (b64=1 was asked)")
                async for chunk in response.content.iter_any():
                    feed(decoder.decode(chunk))
            feed(decoder.decode(b"", final=True))
        except aiohttp.ClientError as exc:
            raise self._failed(exc) from None
        except OSError as exc:
            raise HandshakeFailed(error_reason(exc)) from None

    async def post(self, packets: list[str]) -> None:
        """Send packets in one POST (engine.io takes one at a time)."""
        texts = [ascii_packet(packet) for packet in packets]  # both parsers read ASCII alike
        body = encode_payload(texts) if self.eio == 3 else SEPARATOR.join(texts)
        headers = [*self.headers(), ("Content-Type", "text/plain;charset=UTF-8")]
        try:
            async with self._client.post(
                self.url(), data=body.encode("utf-8"), headers=headers, ssl=self._ssl
            ) as response:
                await self._check(response, "POST", False)
                await response.read()
        except aiohttp.ClientError as exc:
            raise self._failed(exc) from None
        except OSError as exc:
            raise HandshakeFailed(error_reason(exc)) from None

    async def close(self) -> None:
        """Release the HTTP connections (idempotent)."""
        await self._client.close()

    async def _check(self, response: aiohttp.ClientResponse, method: str, handshake: bool) -> None:
        for morsel in response.cookies.values():
            self._cookies[morsel.key] = morsel.coded_value
        status = response.status
        if status == 200:
            return
        display = self.target.display_url
        message = _error_message(await response.content.read(_ERROR_BODY))
        if handshake and status in REFUSED_STATUSES:
            raise Refused(f"{display}: server refused the polling handshake: HTTP {status}")
        if handshake and status == 400 and "nsupported" in message:  # engine.io's code 5
            raise Refused(f"{display} {EIO4_ONLY}")
        what = "the polling handshake" if handshake else f"a long-polling {method}"
        detail = f": {message}" if message else ""
        raise HandshakeFailed(f"server rejected {what}: HTTP {status}{detail}")

    def _failed(self, exc: aiohttp.ClientError) -> Exception:
        if isinstance(exc, aiohttp.ClientConnectorCertificateError):
            return Refused(untrusted(self.target.display_url, exc.certificate_error))
        return HandshakeFailed(error_reason(exc))


async def _sent_once(
    request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
) -> aiohttp.ClientResponse:
    """One attempt per request: a connection lost before the response head ends it.

    aiohttp sends an idempotent request (our GETs) again, once, when the
    connection breaks before the response head arrives (ClientOSError or
    ServerDisconnectedError in `ClientSession._request`, after RFC 9112's
    "retrying requests"), on a new connection as well as a reused one. A
    long-poll is not idempotent: the server may have flushed events into the
    answer that was lost, and a second GET in the same Engine.IO session goes
    on after them, a silent gap. Ending the session instead makes it a
    `meta.disconnected` and a reconnect. aiohttp has no public switch for
    that retry (aio-libs/aiohttp#10790; `_retry_connection` is private,
    `force_close` does not stop it); a client middleware (public since 3.12)
    wraps each attempt inside the retry loop, and an exception other than
    those two ends the request. Keep-alive stays: nothing else changes.
    POSTs are never retried by aiohttp; they pass here the same way.
    """
    try:
        return await handler(request)
    except aiohttp.ClientConnectorError:
        raise  # nothing was sent (and aiohttp retries no connect): `_failed` reads it
    except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError) as exc:
        what = f"the answer to a long-polling {request.method}"
        raise HandshakeFailed(f"{error_reason(exc)} before {what}") from None


def _error_message(body: bytes) -> str:
    """engine.io's `{"code":1,"message":"Session ID unknown"}`, or the body's first line."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        value = None
    if isinstance(value, dict) and isinstance(value.get("message"), str):
        text = value["message"]
    elif isinstance(value, str):
        text = value
    else:
        text = body.decode("utf-8", "replace").strip().partition("\n")[0]
    return text[:BAD_FRAME_CHARS]


def error_reason(exc: BaseException) -> str:
    """A failed request as a short reason: `connection refused`, `the response was cut short`."""
    if isinstance(exc, aiohttp.ClientConnectorError):
        return os_reason(exc.os_error) or str(exc.os_error) or "cannot connect"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "the response was cut short"
    reason = os_reason(exc)
    if reason is not None:
        return reason
    return (str(exc) or type(exc).__name__)[:BAD_FRAME_CHARS]
