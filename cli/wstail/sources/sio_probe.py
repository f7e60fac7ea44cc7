"""`--eio auto`: one connection at `?EIO=4` that finds out what the server speaks and goes on.

- An open packet with `maxPayload` comes from an Engine.IO 4 server
  (socket.io 4.2+, python-engineio): the connection goes on as the EIO4
  session (`40/<ns>,`, the ack, the channels).
- Otherwise the probe asks to join the namespace with `40/<ns>`, a request
  both dialects accept. socket.io 1.x/2.x (the live Paymium server) ignore
  `EIO=4`, answer in EIO3 and ack with a bare `40/<ns>`: the connection goes
  on as the EIO3 session (channels, client pings). A Socket.IO v5 server
  (socket.io 3.0-4.1) acks with a socket id, `40/<ns>,{"sid":…}`: it goes on
  as the EIO4 session.
Either way no channel is sent before the protocol is known, and there is no
second connection.

Asking for `?EIO=3` first does not work: socket.io 4 (engine.io 6) accepts
the upgrade and only then writes an HTTP 400 into the WebSocket.
"""

from __future__ import annotations

from websockets.asyncio.client import ClientConnection

from wstail import eio3
from wstail.sources import sio_wire
from wstail.sources.sio_eio3 import Eio3Session
from wstail.sources.sio_eio4 import Eio4Session
from wstail.sources.sio_session import SioSession, SioTarget


async def open_probing(target: SioTarget) -> SioSession:
    """Dial `?EIO=4`, tell the dialect from the server's answers, return that session.

    Raises what `sio_wire.handshake` raises: Refused (401/403, namespace
    refused), UpgradeRejected (another HTTP status) or HandshakeFailed.
    """

    async def join(ws: ClientConnection) -> SioSession:
        opened = await sio_wire.read_open(ws)
        if opened.max_payload is not None:  # engine.io 5.2+ and python-engineio; 1.x/2.x never
            return await Eio4Session.join(ws, target, opened)
        namespace = target.namespace
        await sio_wire.send(ws, eio3.encode_connect(namespace))
        ack = await sio_wire.await_namespace(ws, namespace)
        if ack.sid is not None:
            return await Eio4Session.join(ws, target, opened, ack)
        return await Eio3Session.join(ws, target, opened, ack)

    return await sio_wire.handshake(target, 4, join)
