"""`--serve --eio 3` for Paymium captures: Engine.IO 3 like the live Paymium server.

Socket.IO 1.x/2.x (Engine.IO 3) over aiohttp WebSockets, written here with
the `eio3` codec. WebSocket transport only: a polling request gets HTTP 400,
so socket.io-client 1.x/2.x need `transports: ['websocket']`. The recorded
event text goes out verbatim. The `EIO` query parameter is ignored, as the
live server does, so that `--eio auto` clients find an EIO3 server. Which
frames go to which namespace: `wstail.serve.paymium`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
from collections.abc import Callable, Hashable

from aiohttp import WSCloseCode, WSMsgType, web

from wstail import eio3
from wstail.frames import Frame
from wstail.serve.paymium import NAMESPACES, replays_namespace
from wstail.serve.playback import ClientGone, Playback, Replays, play

__all__ = ["PING_INTERVAL_MS", "PING_TIMEOUT_MS", "PaymiumEio3Server"]

# Engine.IO 3 heartbeat announced to clients (ms); engine.io's defaults.
PING_INTERVAL_MS = 25_000
PING_TIMEOUT_MS = 60_000
_CLOSE_TIMEOUT = 2.0  # seconds a closing client is given

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
        async with self._lock:
            if self.ws.closed:
                raise ClientGone()
            try:
                await self.ws.send_str(text)
            except ConnectionError:  # aiohttp's ClientConnectionResetError among them
                raise ClientGone() from None


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
        self._numbers = itertools.count(1)

    def add_routes(self, app: web.Application) -> None:
        """Route /ws/socket.io/ (with or without the slash) to the endpoint."""
        app.router.add_get(self._path + "/", self._handle)
        app.router.add_get(self._path, self._handle)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(
            timeout=_CLOSE_TIMEOUT, autoping=True, heartbeat=None, compress=False
        )
        if request.query.get("transport") != "websocket" or not ws.can_prepare(request).ok:
            # engine.io's error body; polling is not served (see the module docstring)
            return web.json_response(
                {"code": 0, "message": "Transport unknown: this replay serves transport=websocket"},
                status=400,
                headers={"Access-Control-Allow-Origin": "*"},
            )
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
        silence = (PING_INTERVAL_MS + PING_TIMEOUT_MS) / 1000
        while True:
            try:
                message = await client.ws.receive(timeout=silence)
            except TimeoutError:
                log.info("Engine.IO 3 client %d sent no ping for %g s", client.number, silence)
                return
            if message.type == WSMsgType.TEXT:
                if not await self._on_packet(client, eio3.decode_packet(message.data)):
                    return
            elif message.type != WSMsgType.BINARY:  # CLOSE, CLOSING, CLOSED, ERROR
                return

    async def _on_packet(self, client: _Eio3Client, packet: eio3.Packet) -> bool:
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

    def _start(self, client: _Eio3Client, namespace: str) -> None:
        async def send(frame: Frame) -> None:
            if namespace not in client.joined:
                raise ClientGone()  # left the namespace between two frames
            if isinstance(frame.payload, str):  # always, from a capture
                await client.send(eio3.encode_event_text(namespace, frame.payload))

        replay = play(self._playback, replays_namespace(namespace), send)
        self._replays.start(("eio3", client.number, namespace), replay)

    async def close(self) -> None:
        """Close every client: the Engine.IO close packet, then the WebSocket (going away)."""
        for client in list(self._clients):
            with contextlib.suppress(ClientGone):
                await client.send(eio3.encode_close())
            await client.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down")
