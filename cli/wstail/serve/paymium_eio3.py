"""`--serve --eio 3` for Paymium captures: Engine.IO 3 like the live Paymium server.

Socket.IO 1.x/2.x (Engine.IO 3) on aiohttp, written here with the `eio3`
codec: a WebSocket from the start, or long-polling first (socket.io-client's
default transports) and an upgrade to a WebSocket (`eio3_polling`), with CORS
for credentialed browser requests. No JSONP. The recorded event text goes
out verbatim; a recorded binary event goes out as one (`45<n>-…`, then its
attachments). The `EIO` query parameter is ignored, as the
live server does, so that `--eio auto` clients find an EIO3 server. Which
frames go to which namespace: `wstail.serve.paymium`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
from collections.abc import Callable, Hashable, Sequence
from typing import Protocol

from aiohttp import WSCloseCode, WSMsgType, web

from wstail.frames import Frame
from wstail.placeholders import attachments_of
from wstail.serve.eio3_polling import (
    Packet,
    PollingSession,
    cors_headers,
    decode_payload,
    encode_payload,
    preflight_headers,
)
from wstail.serve.paymium import NAMESPACES, replays_namespace
from wstail.serve.playback import ClientGone, Playback, Replays, play
from wstail.sources.socketio import codec as eio3
from wstail.sources.socketio.binary import encode_binary_event_text

__all__ = ["PING_INTERVAL_MS", "PING_TIMEOUT_MS", "PaymiumEio3Server"]

# Engine.IO 3 heartbeat announced to clients (ms); engine.io's defaults.
PING_INTERVAL_MS = 25_000
PING_TIMEOUT_MS = 60_000
_CLOSE_TIMEOUT = 2.0  # seconds a closing client is given
_SILENCE = (PING_INTERVAL_MS + PING_TIMEOUT_MS) / 1000  # seconds without a ping: gone

_EIO3_MESSAGE = b"\x04"  # the Engine.IO type byte in front of a binary message

log = logging.getLogger("wstail.serve")


class _Eio3Client:
    """One Engine.IO 3 WebSocket client: its namespaces and its send lock."""

    def __init__(self, ws: web.WebSocketResponse, number: int) -> None:
        self.ws = ws
        self.number = number
        self.sid = secrets.token_urlsafe(15)
        self.joined: set[str] = set()
        self._lock = asyncio.Lock()  # replays of two namespaces and pongs share the socket

    async def send(self, text: str) -> None:
        """Write one packet; ClientGone if the client is no longer there."""
        await self.send_many((text,))

    async def send_many(self, packets: Sequence[Packet]) -> None:
        """Write packets together (a binary event and its attachments); ClientGone if gone."""
        async with self._lock:
            if self.ws.closed:
                raise ClientGone()
            try:
                for packet in packets:
                    if isinstance(packet, str):
                        await self.ws.send_str(packet)
                    else:
                        await self.ws.send_bytes(packet)
            except ConnectionError:  # aiohttp's ClientConnectionResetError among them
                raise ClientGone() from None


class _Peer(Protocol):
    """What the packet handling needs of a client, WebSocket or long-polling."""

    number: int
    joined: set[str]

    async def send(self, text: str) -> None: ...

    async def send_many(self, packets: Sequence[Packet]) -> None: ...


def _refusal(request: web.Request, code: int, message: str) -> web.Response:
    """engine.io's error answer (HTTP 400, `{"code", "message"}`), with CORS."""
    body = {"code": code, "message": message}
    return web.json_response(body, status=400, headers=cors_headers(request))


def _of_client(number: int) -> Callable[[Hashable], bool]:
    """A `cancel_where` rule: the replays of one Engine.IO 3 client, every namespace."""
    return lambda key: isinstance(key, tuple) and key[:2] == ("eio3", number)


class PaymiumEio3Server:
    """Socket.IO 1.x/2.x (Engine.IO 3) over aiohttp WebSockets, with the `eio3` codec."""

    def __init__(self, path: str, playback: Playback, replays: Replays) -> None:
        self._path = path
        self._playback = playback
        self._replays = replays
        self._clients: set[_Eio3Client] = set()
        self._sessions: dict[str, PollingSession] = {}
        self._watchers: set[asyncio.Task[None]] = set()
        self._numbers = itertools.count(1)

    def add_routes(self, app: web.Application) -> None:
        """Route /ws/socket.io/ (with or without the slash) to the endpoint: GET, POST, OPTIONS."""
        for path in (self._path + "/", self._path):
            app.router.add_get(path, self._handle)
            app.router.add_post(path, self._handle)
            app.router.add_route("OPTIONS", path, self._preflight)

    async def _preflight(self, request: web.Request) -> web.StreamResponse:
        """Answer a browser's CORS preflight."""
        return web.Response(headers=preflight_headers(request))

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        transport = request.query.get("transport")
        sid = request.query.get("sid")
        if transport == "polling" and "j" not in request.query:  # no JSONP
            return await self._poll(request, sid)
        ws = web.WebSocketResponse(
            timeout=_CLOSE_TIMEOUT, autoping=True, heartbeat=None, compress=False
        )
        if transport != "websocket" or request.method != "GET" or not ws.can_prepare(request).ok:
            return _refusal(request, 0, "Transport unknown")
        if sid is not None:
            return await self._upgrade(request, ws, sid)
        await ws.prepare(request)
        client = _Eio3Client(ws, next(self._numbers))
        self._clients.add(client)
        log.info("Engine.IO 3 client %d connected from %s", client.number, request.remote)
        try:
            await self._converse(client)
        except ClientGone:
            pass
        finally:
            self._replays.cancel_where(_of_client(client.number))
            self._clients.discard(client)
            await ws.close()
            log.info("Engine.IO 3 client %d left", client.number)
        return ws

    async def _converse(self, client: _Eio3Client) -> None:
        """Handshake, then answer the client's packets until it leaves or falls silent."""
        opened = eio3.Open(client.sid, PING_INTERVAL_MS, PING_TIMEOUT_MS)
        await client.send(eio3.encode_packet(opened))
        await client.send(eio3.encode_connect("/"))  # socket.io 1.x/2.x join "/" at once
        await self._read_socket(client, client.ws)

    async def _read_socket(self, client: _Peer, ws: web.WebSocketResponse) -> None:
        """Answer the client's packets on its WebSocket until it leaves or falls silent."""
        while True:
            try:
                message = await ws.receive(timeout=_SILENCE)
            except TimeoutError:
                log.info("Engine.IO 3 client %d sent no ping for %g s", client.number, _SILENCE)
                return
            if message.type == WSMsgType.TEXT:
                if not await self._on_packet(client, eio3.decode_packet(message.data)):
                    return
            elif message.type != WSMsgType.BINARY:  # CLOSE, CLOSING, CLOSED, ERROR
                return

    async def _poll(self, request: web.Request, sid: str | None) -> web.StreamResponse:
        """One long-polling request: the handshake, a GET for packets or a POST of packets."""
        headers = cors_headers(request)
        if sid is None:
            if request.method != "GET":
                return _refusal(request, 1, "Session ID unknown")
            session = PollingSession(next(self._numbers), b64="b64" in request.query)
            self._sessions[session.sid] = session
            log.info("Engine.IO 3 client %d connected from %s", session.number, request.remote)
            opened = eio3.Open(session.sid, PING_INTERVAL_MS, PING_TIMEOUT_MS, ("websocket",))
            await session.send(eio3.encode_packet(opened))
            await session.send(eio3.encode_connect("/"))  # socket.io 1.x/2.x join "/" at once
            self._watch(session)
        else:
            found = self._sessions.get(sid)
            if found is None or found.ws is not None:
                return _refusal(request, 1, "Session ID unknown")
            session = found
        if request.method == "POST":
            try:
                packets = decode_payload(await request.text())
            except ValueError:
                return _refusal(request, 3, "Bad request")
            session.heard.set()
            try:
                for packet in packets:
                    if not await self._on_packet(session, eio3.decode_packet(packet)):
                        self._end(session)
                        break
            except ClientGone:  # ended while its packets were being answered
                pass
            return web.Response(text="ok", content_type="text/html", headers=headers)
        queued = await session.poll(PING_INTERVAL_MS / 1000)
        payload = encode_payload(queued, binary=not session.b64)
        if isinstance(payload, bytes):
            return web.Response(
                body=payload, content_type="application/octet-stream", headers=headers
            )
        return web.Response(text=payload, content_type="text/plain", headers=headers)

    def _watch(self, session: PollingSession) -> None:
        """End a polling session whose client falls silent (no ping) before it upgrades."""

        async def watch() -> None:
            while session.ws is None and not session.closed:
                try:
                    await asyncio.wait_for(session.heard.wait(), _SILENCE)
                except TimeoutError:
                    number = session.number
                    log.info("Engine.IO 3 client %d sent no ping for %g s", number, _SILENCE)
                    self._end(session)
                    return
                session.heard.clear()

        task = asyncio.create_task(watch(), name=f"wstail-eio3-watch-{session.number}")
        self._watchers.add(task)
        task.add_done_callback(self._watchers.discard)

    def _end(self, session: PollingSession) -> None:
        """Forget a session: its replays stop, its next GET gets the close packet."""
        session.close()
        self._sessions.pop(session.sid, None)
        self._replays.cancel_where(_of_client(session.number))
        log.info("Engine.IO 3 client %d left", session.number)

    async def _upgrade(
        self, request: web.Request, ws: web.WebSocketResponse, sid: str
    ) -> web.StreamResponse:
        """A polling session moving to a WebSocket: `2probe`/`3probe`, then `5`, then as usual."""
        session = self._sessions.get(sid)
        if session is None or session.ws is not None:
            return _refusal(request, 1, "Session ID unknown")
        await ws.prepare(request)
        try:
            while session.ws is None:
                message = await ws.receive(timeout=_SILENCE)
                if message.type != WSMsgType.TEXT:
                    return ws
                match eio3.decode_packet(message.data):
                    case eio3.Ping(data="probe"):
                        await ws.send_str(eio3.encode_pong("probe"))
                        session.wake()  # the GET in flight returns: the client pauses polling
                    case eio3.Upgrade():
                        await session.upgrade(ws)
                        log.info("Engine.IO 3 client %d upgraded to a WebSocket", session.number)
                    case _:
                        return ws
            session.heard.set()
            await self._read_socket(session, ws)
        except (TimeoutError, ClientGone, ConnectionError):
            pass
        finally:
            if session.ws is ws and session.sid in self._sessions:
                self._end(session)  # a failed probe leaves the client polling, as engine.io does
            await ws.close()
        return ws

    async def _on_packet(self, client: _Peer, packet: eio3.Packet) -> bool:
        """Act on one client packet; False when the client closed the session."""
        match packet:
            case eio3.Ping(data=data):
                await client.send(eio3.encode_pong(data))
            case eio3.Connect(namespace=namespace) if namespace in NAMESPACES:
                await client.send(eio3.encode_connect(namespace))
                client.joined.add(namespace)
                if namespace == "/public":
                    self._start(client, namespace)
            case eio3.Connect(namespace=namespace) if namespace not in ("", "/"):
                refusal = eio3.NamespaceError(namespace, "Invalid namespace")
                await client.send(eio3.encode_packet(refusal))
            case eio3.Event(namespace="/user", name="channel") if "/user" in client.joined:
                self._start(client, "/user")  # the value is a secret: never logged
            case eio3.Disconnect(namespace=namespace):
                client.joined.discard(namespace)
                self._replays.cancel(("eio3", client.number, namespace))
            case eio3.Close():
                return False
            case _:
                pass  # pongs, upgrades, noops, acks, events of no interest
        return True

    def _start(self, client: _Peer, namespace: str) -> None:
        async def send(frame: Frame) -> None:
            if namespace not in client.joined:
                raise ClientGone()  # left the namespace between two frames
            payload = frame.payload
            if not isinstance(payload, str):  # never, from a capture
                return
            attachments = attachments_of(frame.data)
            if attachments is None:
                await client.send(eio3.encode_event_text(namespace, payload))
                return
            # A binary event: its text, then each attachment behind the message type byte.
            text = encode_binary_event_text(namespace, payload, len(attachments))
            await client.send_many([text, *(_EIO3_MESSAGE + part for part in attachments)])

        replay = play(self._playback, replays_namespace(namespace), send)
        self._replays.start(("eio3", client.number, namespace), replay)

    async def close(self) -> None:
        """Close every client: the Engine.IO close packet, then the WebSocket (going away)."""
        for client in list(self._clients):
            with contextlib.suppress(ClientGone):
                await client.send(eio3.encode_close())
            await client.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down")
        for session in list(self._sessions.values()):
            if session.ws is not None:
                with contextlib.suppress(ClientGone):
                    await session.send(eio3.encode_close())
                await session.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down")
            self._end(session)  # a GET in flight returns the close packet
        for task in list(self._watchers):
            task.cancel()
