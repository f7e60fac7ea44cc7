"""`--eio auto`: how one connection at `?EIO=4` tells what the server speaks, and goes on.

- An open packet with `maxPayload` comes from an Engine.IO 4 server
  (socket.io 4.2+, python-engineio): the connection goes on as an EIO4
  session (`40/<ns>,`, the ack, the channels).
- Otherwise the client asks to join the namespace with `40/<ns>`, a request
  both dialects accept. socket.io 1.x/2.x (the live Paymium server) ignore
  `EIO=4`, answer in EIO3 and ack with a bare `40/<ns>`: the connection goes
  on as an EIO3 session (channels, client pings). A Socket.IO v5 server
  (socket.io 3.0-4.1) acks with a socket id, `40/<ns>,{"sid":…}`: it goes on
  as an EIO4 session.
- On the root namespace `/` the client does not ask at once: socket.io
  1.x/2.x join `/` by themselves (an unasked bare `40`, taken as the ack),
  and asked again they would open a second socket on it (every event
  twice). Only after a grace (`protocol.ROOT_JOIN_GRACE`) with no such
  `40` does it ask, as a Socket.IO v5 server without maxPayload waits to be.
Either way no channel is sent before the protocol is known, and there is no
second connection. These rules are pure; `protocol.SioProtocol` applies them
and `driver.open_session(target, "auto")` dials.

Asking for `?EIO=3` first does not work: socket.io 4 (engine.io 6) accepts
the upgrade and only then writes an HTTP 400 into the WebSocket.
"""

from __future__ import annotations

from wstail.sources.socketio import codec

__all__ = ["ack_dialect", "is_socketio_v5", "open_says_eio4"]


def open_says_eio4(opened: codec.Open) -> bool:
    """Whether the open packet alone shows Engine.IO 4 (engine.io 5.2+, python-engineio)."""
    return opened.max_payload is not None  # socket.io 1.x/2.x never send it


def ack_dialect(ack: codec.Connect) -> str:
    """The dialect a namespace ack shows: "eio4" when it carries a socket id, else "eio3"."""
    return "eio4" if ack.sid is not None else "eio3"


def is_socketio_v5(opened: codec.Open, ack: codec.Connect) -> bool:
    """Whether a server dialled at `?EIO=4` really speaks it (not socket.io 1.x/2.x)."""
    return ack.sid is not None or opened.max_payload is not None
