"""`--serve` for Socket.IO captures (Paymium's, `tail sio`'s): Engine.IO 3 or 4.

Socket.IO on aiohttp, written here with the client's codec
(`sources/socketio/codec.py`): a WebSocket from the start, or long-polling
first (socket.io-client's default transports) and an upgrade to a WebSocket
(`sio_polling`), with CORS for the origins allowed (`access`). No JSONP. The
recorded event text goes out verbatim, so every number keeps its digits; a
recorded binary event goes out as one (`45<n>-…`, then its attachments).
The namespaces served are data (`endpoints.Namespace`): each replays its own
recorded frames, with their recorded event names, to the clients that joined
it, from the moment they join (or once they emit its gate event: Paymium's
/user waits for `channel`); any other namespace but `/` is refused. Without
--loop a namespace ends after the capture's last frame with its disconnect
packet (`41/ns,`), after which socket.io-client (and wstail) do not
reconnect; the client closes the connection.

The two dialects differ in a few rules (`_Dialect`):
- Engine.IO 3 (socket.io 1.x/2.x): the server joins `/` by itself (`40`
  after the open packet; a served `/` replays from then), the client pings
  and the server answers, an attachment's frame starts with the packet type
  byte 4. The `EIO` query
  parameter is ignored, as the live server does, so that `--eio auto`
  clients find an EIO3 server.
- Engine.IO 4 (socket.io 3+): the open packet announces `maxPayload`, a
  namespace join is acked with a socket id (`40/public,{"sid":…}`), the
  server pings every interval and the client answers, attachments go bare,
  polling payloads are joined by `\\x1e`. A client asking another `EIO`
  version is refused (HTTP 400, as engine.io 4+ does).
Either way a client silent for a ping interval plus the ping timeout is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Protocol

import orjson
from aiohttp import WSCloseCode, WSMsgType, web
from aiohttp.web_urldispatcher import PlainResource
from yarl import URL

from wstail.frames import Frame
from wstail.placeholders import attachments_of
from wstail.serve.access import client_address
from wstail.serve.endpoints import Namespace
from wstail.serve.playback import ClientGone, Playback, Replays, Say, play
from wstail.serve.sio_polling import (
    Packet,
    PollingSession,
    cors_headers,
    decode_payload,
    decode_payload4,
    encode_payload,
    encode_payload4,
    preflight_headers,
)
from wstail.sources.socketio import codec
from wstail.sources.socketio.binary import encode_binary_event_text

__all__ = ["EIO3", "EIO4", "SocketIOServer"]

_CLOSE_TIMEOUT = 2.0  # seconds a closing client is given

log = logging.getLogger("wstail.serve")


@dataclass(frozen=True, slots=True)
class _Dialect:
    """What an Engine.IO version's server does its own way."""

    name: str  # "eio3", "eio4": also the key of its replays
    label: str  # for the log: "Engine.IO 3"
    ping_interval_ms: int
    ping_timeout_ms: int
    max_payload: int | None  # announced in the open packet (EIO4)
    eio3: bool  # joins `/` by itself (`40` after the open packet), the client pings
    attachment_head: bytes  # in front of an attachment in its WebSocket frame

    @property
    def silence(self) -> float:
        """Seconds without a packet from the client after which it is gone."""
        return (self.ping_interval_ms + self.ping_timeout_ms) / 1000

    def open_packet(self, sid: str, upgrades: tuple[str, ...]) -> str:
        opened = codec.Open(
            sid, self.ping_interval_ms, self.ping_timeout_ms, upgrades, self.max_payload
        )
        return codec.encode_packet(opened)

    def ack(self, namespace: str) -> str:
        """The answer to a namespace join."""
        if self.eio3:
            return codec.encode_connect(namespace)
        sid = orjson.dumps({"sid": secrets.token_urlsafe(15)}).decode()
        return codec.encode_packet(codec.Connect(namespace, data=sid))

    def disconnect(self, namespace: str) -> str:
        """A namespace ended by the server: `41/ns,`, as socket.io 2.x and 4.x send it."""
        return f"41{namespace},"

    def refusal(self, namespace: str, message: str) -> str:
        """A namespace refused: `44/ns,"message"` (EIO3), `44/ns,{"message": …}` (EIO4)."""
        if self.eio3:
            return codec.encode_packet(codec.NamespaceError(namespace, message))
        return f"44{namespace},{orjson.dumps({'message': message}).decode()}"

    def payload(self, packets: Sequence[Packet], session: PollingSession) -> str | bytes:
        """The body of a GET's answer."""
        if self.eio3:
            return encode_payload(packets, binary=not session.b64)
        return encode_payload4(packets)

    def packets(self, payload: str) -> list[str]:
        """The packets of a POST's body; ValueError if its framing is broken."""
        return decode_payload(payload) if self.eio3 else decode_payload4(payload)


# engine.io's defaults for each version.
EIO3 = _Dialect("eio3", "Engine.IO 3", 25_000, 60_000, None, True, b"\x04")
EIO4 = _Dialect("eio4", "Engine.IO 4", 25_000, 20_000, 1_000_000, False, b"")


class _WebSocketClient:
    """One client on a WebSocket from the start: its namespaces and its send lock."""

    def __init__(self, ws: web.WebSocketResponse, number: int, address: str) -> None:
        self.ws = ws
        self.number = number
        self.address = address
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
    address: str
    joined: set[str]

    async def send(self, text: str) -> None: ...

    async def send_many(self, packets: Sequence[Packet]) -> None: ...


def _refusal(request: web.Request, code: int, message: str) -> web.Response:
    """engine.io's error answer (HTTP 400, `{"code", "message"}`), with CORS."""
    body = {"code": code, "message": message}
    return web.json_response(body, status=400, headers=cors_headers(request))


def _of_client(dialect: str, number: int) -> Callable[[Hashable], bool]:
    """A `cancel_where` rule: the replays of one client, every namespace."""
    return lambda key: isinstance(key, tuple) and key[:2] == (dialect, number)


class SocketIOServer:
    """Socket.IO over aiohttp (WebSocket and long-polling) in one Engine.IO dialect.

    `path` is the Socket.IO path (with or without its trailing slash);
    `namespaces` the namespaces served, each replaying its own recorded frames.
    """

    def __init__(
        self,
        path: str,
        playback: Playback,
        replays: Replays,
        dialect: _Dialect,
        namespaces: Sequence[Namespace],
        say: Say = log.info,
    ) -> None:
        self._path = path.rstrip("/")
        self._playback = playback
        self._replays = replays
        self._dialect = dialect
        self._say = say
        self._namespaces = {namespace.name: namespace for namespace in namespaces}
        self._clients: set[_WebSocketClient] = set()
        self._sessions: dict[str, PollingSession] = {}
        self._tasks: set[asyncio.Task[None]] = set()  # watchers and pingers
        self._numbers = itertools.count(1)

    def add_routes(self, app: web.Application) -> None:
        """Route the path (/socket.io/, with or without the slash): GET, POST, OPTIONS."""
        for path in dict.fromkeys((self._path + "/", self._path or "/")):
            # matched as written (no `{name}` patterns), escapes decoded as aiohttp does
            resource = PlainResource(URL.build(path=path, encoded=True).path_safe)
            app.router.register_resource(resource)
            resource.add_route("GET", self._handle)
            resource.add_route("POST", self._handle)
            resource.add_route("OPTIONS", self._preflight)

    async def _preflight(self, request: web.Request) -> web.StreamResponse:
        """Answer a browser's CORS preflight."""
        return web.Response(headers=preflight_headers(request))

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        transport = request.query.get("transport")
        sid = request.query.get("sid")
        if not self._dialect.eio3 and request.query.get("EIO", "4") != "4":
            return _refusal(request, 5, "Unsupported protocol version")
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
        client = _WebSocketClient(ws, next(self._numbers), client_address(request))
        self._clients.add(client)
        self._connected(client, "websocket")
        try:
            await self._converse(client)
        except ClientGone:
            pass
        finally:
            self._replays.cancel_where(_of_client(self._dialect.name, client.number))
            self._clients.discard(client)
            await ws.close()
            self._say(f"client {client.number} left ({client.address}, websocket)")
        return ws

    def _connected(self, client: _Peer, transport: str) -> None:
        label = self._dialect.label
        self._say(f"client {client.number} connected from {client.address} ({transport}, {label})")

    async def _converse(self, client: _WebSocketClient) -> None:
        """Handshake, then answer the client's packets until it leaves or falls silent."""
        await client.send(self._dialect.open_packet(client.sid, ()))
        if self._dialect.eio3:
            await client.send(codec.encode_connect("/"))  # socket.io 1.x/2.x join "/" at once
            self._joined_root(client)
        pinger = self._ping(client)
        try:
            await self._read_socket(client, client.ws)
        finally:
            if pinger is not None:
                pinger.cancel()

    def _ping(self, client: _Peer) -> asyncio.Task[None] | None:
        """EIO4: ping the client every interval until it is gone (its pongs keep it alive)."""
        if self._dialect.eio3:
            return None
        interval = self._dialect.ping_interval_ms / 1000

        async def ping() -> None:
            with contextlib.suppress(ClientGone):
                while True:
                    await asyncio.sleep(interval)
                    await client.send(codec.encode_ping())

        return self._keep(asyncio.create_task(ping(), name=f"wstail-ping-{client.number}"))

    def _keep(self, task: asyncio.Task[None]) -> asyncio.Task[None]:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _read_socket(self, client: _Peer, ws: web.WebSocketResponse) -> None:
        """Answer the client's packets on its WebSocket until it leaves or falls silent."""
        silence = self._dialect.silence
        while True:
            try:
                message = await ws.receive(timeout=silence)
            except TimeoutError:
                self._say(f"client {client.number} silent for {silence:g} s")
                return
            if message.type == WSMsgType.TEXT:
                if not await self._on_packet(client, codec.decode_packet(message.data)):
                    return
            elif message.type != WSMsgType.BINARY:  # CLOSE, CLOSING, CLOSED, ERROR
                return

    async def _poll(self, request: web.Request, sid: str | None) -> web.StreamResponse:
        """One long-polling request: the handshake, a GET for packets or a POST of packets."""
        headers = cors_headers(request)
        dialect = self._dialect
        if sid is None:
            if request.method != "GET":
                return _refusal(request, 1, "Session ID unknown")
            session = PollingSession(
                next(self._numbers), client_address(request), b64="b64" in request.query
            )
            self._sessions[session.sid] = session
            self._connected(session, "polling")
            await session.send(dialect.open_packet(session.sid, ("websocket",)))
            if dialect.eio3:
                await session.send(codec.encode_connect("/"))  # socket.io 1.x/2.x join "/"
                self._joined_root(session)
            self._watch(session)
            self._ping(session)
        else:
            found = self._sessions.get(sid)
            if found is None or found.ws is not None:
                return _refusal(request, 1, "Session ID unknown")
            session = found
        if request.method == "POST":
            try:
                packets = dialect.packets(await request.text())
            except ValueError:
                return _refusal(request, 3, "Bad request")
            session.heard.set()
            try:
                for packet in packets:
                    if not await self._on_packet(session, codec.decode_packet(packet)):
                        self._end(session)
                        break
            except ClientGone:  # ended while its packets were being answered
                pass
            return web.Response(text="ok", content_type="text/html", headers=headers)
        queued = await session.poll(dialect.ping_interval_ms / 1000)
        payload = dialect.payload(queued, session)
        if isinstance(payload, bytes):
            return web.Response(
                body=payload, content_type="application/octet-stream", headers=headers
            )
        return web.Response(text=payload, content_type="text/plain", headers=headers)

    def _watch(self, session: PollingSession) -> None:
        """End a polling session whose client falls silent before it upgrades."""
        silence = self._dialect.silence

        async def watch() -> None:
            while session.ws is None and not session.closed:
                try:
                    await asyncio.wait_for(session.heard.wait(), silence)
                except TimeoutError:
                    self._say(f"client {session.number} silent for {silence:g} s")
                    self._end(session)
                    return
                session.heard.clear()

        self._keep(asyncio.create_task(watch(), name=f"wstail-watch-{session.number}"))

    def _end(self, session: PollingSession) -> None:
        """Forget a session: its replays stop, its next GET gets the close packet."""
        session.close()
        self._sessions.pop(session.sid, None)
        self._replays.cancel_where(_of_client(self._dialect.name, session.number))
        transport = "polling" if session.ws is None else "websocket"
        self._say(f"client {session.number} left ({session.address}, {transport})")

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
                message = await ws.receive(timeout=self._dialect.silence)
                if message.type != WSMsgType.TEXT:
                    return ws
                match codec.decode_packet(message.data):
                    case codec.Ping(data="probe"):
                        await ws.send_str(codec.encode_pong("probe"))
                        session.wake()  # the GET in flight returns: the client pauses polling
                    case codec.Upgrade():
                        await session.upgrade(ws)
                        self._say(f"client {session.number} upgraded to websocket")
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

    def _joined_root(self, client: _Peer) -> None:
        """EIO3: the server joined the client to `/` by itself; a served `/` replays from now."""
        root = self._namespaces.get("/")
        if root is not None:
            client.joined.add("/")
            if root.gate is None:
                self._start(client, root)

    async def _on_packet(self, client: _Peer, packet: codec.Packet) -> bool:
        """Act on one client packet; False when the client closed the session."""
        dialect = self._dialect
        served = self._namespaces
        match packet:
            case codec.Ping(data=data) if dialect.eio3:
                await client.send(codec.encode_pong(data))
            case codec.Connect(namespace=("" | "/")) if dialect.eio3:
                pass  # joined at the open packet already
            case codec.Connect(namespace=namespace) if (namespace or "/") in served:
                joined = served[namespace or "/"]
                await client.send(dialect.ack(joined.name))
                client.joined.add(joined.name)
                self._say(f"client {client.number} joined {joined.name}")
                if joined.gate is None:
                    self._start(client, joined)
            case codec.Connect(namespace=("" | "/")):
                await client.send(dialect.ack("/"))  # EIO4 clients join "/" on request
            case codec.Connect(namespace=namespace):
                await client.send(dialect.refusal(namespace, "Invalid namespace"))
            case codec.Event(namespace=namespace, name=name) if (
                namespace in client.joined and served[namespace].gate == name
            ):
                self._start(client, served[namespace])  # its value may be a secret: never logged
            case codec.Disconnect(namespace=namespace):
                client.joined.discard(namespace)
                self._replays.cancel((dialect.name, client.number, namespace))
            case codec.Close():
                return False
            case _:
                pass  # pongs, upgrades, noops, acks, events of no interest
        return True

    def _start(self, client: _Peer, served: Namespace) -> None:
        """Replay a namespace's frames to a client that joined it (once: a replay runs or not)."""
        head = self._dialect.attachment_head
        namespace = served.name

        async def send(frame: Frame) -> None:
            if namespace not in client.joined:
                raise ClientGone()  # left the namespace between two frames
            payload = frame.payload
            if not isinstance(payload, str):  # never, from a capture
                return
            attachments = attachments_of(frame.data)
            if attachments is None:
                await client.send(codec.encode_event_text(namespace, payload))
                return
            # A binary event: its text, then each attachment in a binary message.
            text = encode_binary_event_text(namespace, payload, len(attachments))
            await client.send_many([text, *(head + part for part in attachments)])

        async def replay() -> None:
            if await play(self._playback, served.keep, send):
                await self._end_namespace(client, namespace)

        self._replays.start((self._dialect.name, client.number, namespace), replay())

    async def _end_namespace(self, client: _Peer, namespace: str) -> None:
        """The end of the capture: the namespace's disconnect packet (socket.io-client stops)."""
        if namespace not in client.joined:
            return
        client.joined.discard(namespace)
        self._say(f"client {client.number}: end of the capture on {namespace}: disconnecting it")
        with contextlib.suppress(ClientGone):
            await client.send(self._dialect.disconnect(namespace))

    async def close(self) -> None:
        """Close every client: the Engine.IO close packet, then the WebSocket (going away)."""
        for client in list(self._clients):
            with contextlib.suppress(ClientGone):
                await client.send(codec.encode_close())
            await client.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down")
        for session in list(self._sessions.values()):
            if session.ws is not None:
                with contextlib.suppress(ClientGone):
                    await session.send(codec.encode_close())
                await session.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down")
            self._end(session)  # a GET in flight returns the close packet
        for task in list(self._tasks):
            task.cancel()
