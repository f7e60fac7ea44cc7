"""The Paymium source: one Socket.IO namespace as an async iterator of Frames.

Two protocols sit behind one reconnect loop, so the lifecycle (`meta.*`
frames, retries, exit codes) is the same whatever the server speaks:
- `eio3`: Engine.IO 3 (socket.io 1.x/2.x, the live Paymium server), our own
  sans-I/O protocol (`protocol.py`, on the `codec.py` packets) driven over
  our WebSocket client (`driver.py`, `wire.py`);
- `eio4`: Engine.IO 4 (socket.io 3.x/4.x, python-socketio), the same
  protocol and driver.
A server that refuses the WebSocket upgrade with HTTP 400 (polling only, or
a proxy dropping the Upgrade header) is read over long-polling by our own
client (`polling.py`, the same protocol over HTTP, both Engine.IO versions),
imported (with aiohttp) only then.

How `eio="auto"` decides (`probe.py`): the first connection dials
`?EIO=4` and goes on as whatever the server turns out to speak, without a
second connection: an open packet with `maxPayload`, or a namespace ack
with a socket id, is Engine.IO 4; a bare ack is socket.io 1.x/2.x, which
ignore `EIO=4` and answer in EIO3. A server that refuses `EIO=4` with a 4xx
(other than 401/403) gets a plain EIO3 attempt at once, and if that is
refused with HTTP 400 too, long-polling, whose first GET (at `?EIO=4`) tells
EIO3 framing (`86:0{…}`) from EIO4 (`0{…}`), and the session goes on in
the dialect of the answer. 401/403 refuse us
whatever the protocol (exit 3, never retried); a network error decides
nothing and is retried as it is. The protocol of the first successful
connection is kept for every reconnect.

The end: a disconnect packet of our namespace from the server ends the run
(`meta.disconnected`, then the iterator returns: exit 0), as
socket.io-client does not reconnect after it; `replay --serve` sends it at
the end of the capture.

Reconnects: after any other drop, `meta.disconnected` with the reason; then
before each attempt `meta.reconnecting` with its number and delay (socket.io-
client's backoff: 1 s doubling, randomized by half, capped at
`retry_max_delay`), and the reason when the previous attempt never
connected. A failed first connection is retried the same way. `retries`
(None: forever) caps the attempts in a row; then ConnectError, exit 3. A
connection that delivered an event or stayed up 30 s starts the count (and
the backoff) afresh; one dropped before either does not. Channel IDs (the
only credential of /user) are sent and nowhere else: not in messages,
frames, logs or reprs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Iterator, Mapping, Sequence
from typing import Any

from wstail.envelope import now_us
from wstail.exitcodes import ConnectError, UsageError
from wstail.fastpaths import FastPaths
from wstail.frames import DEFAULT_MAX_FRAME_SIZE, Frame, frames_of, meta_frame
from wstail.jsonexact import dumps
from wstail.sources.retry import RETRY_MAX_DELAY, attempts_left, backoff, gave_up
from wstail.sources.socketio.driver import open_session
from wstail.sources.socketio.session import (
    DEFAULT_PATH,
    HandshakeFailed,
    Refused,
    ServerEnded,
    SessionDropped,
    SioSession,
    SioTarget,
    UpgradeRejected,
    parse_target_url,
    redact_url,
)

__all__ = ["DEFAULT_URL", "EIO_CHOICES", "POLLING_STATUS", "SocketIOSource", "is_stable"]

DEFAULT_URL = "https://paymium.com"
EIO_CHOICES = ("auto", "3", "4")
STABLE_AFTER = 30.0  # seconds up after which a connection that delivered nothing counts
POLLING_STATUS = 400  # what engine.io and python-engineio answer an upgrade they do not allow

log = logging.getLogger(__name__)


def is_stable(delivered: bool, lasted: float) -> bool:
    """Whether a connection counts as a success that resets backoff and --retries.

    One that delivered an event, or stayed up a while. A server that accepts
    and drops at once must not turn the reconnect loop into a hot loop that
    --retries never ends.
    """
    return delivered or lasted >= STABLE_AFTER


def event_array(event: str, argument: str) -> str:
    """The JSON text of an event array from its name and its argument's JSON text (kept as is)."""
    return "[" + dumps(event).decode() + "," + argument.strip() + "]"


class SocketIOSource:
    """Frames of one Socket.IO namespace, reconnecting; `async for frame in source`.

    `url` is the server (`https://paymium.com`); a path in it replaces `path`
    as the Socket.IO path. `channels` are emitted as `channel` events after
    every (re)connect, then `emits` (event name, the argument's JSON text).
    `eio` is "auto", "3" or "4". `connect_timeout` bounds each handshake,
    namespace join included. `ping_interval` replaces the server's
    pingInterval for the client pings of EIO3; in EIO4 the server pings and
    it has no effect. A namespace the server disconnects on purpose ends the
    frames (after its meta.disconnected), as socket.io-client does not
    reconnect then; any other end reconnects. Yields
    `sio` frames (payload: the event array's JSON text) and `meta.*` frames;
    raises ConnectError (exit 3).
    """

    def __init__(
        self,
        url: str,
        namespace: str,
        channels: Sequence[str] = (),
        *,
        eio: str = "auto",
        headers: Mapping[str, str] | None = None,
        insecure: bool = False,
        cacert: str | None = None,
        connect_timeout: float = 10.0,
        retries: int | None = None,
        retry_max_delay: float = RETRY_MAX_DELAY,
        ping_interval: float | None = None,
        path: str = DEFAULT_PATH,
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
        fast_paths: FastPaths | None = None,
        emits: Sequence[tuple[str, str]] = (),
        url_given_as: str = "--url ",
    ) -> None:
        if eio not in EIO_CHOICES:
            raise UsageError(f"--eio {eio}: expected one of {', '.join(EIO_CHOICES)}")
        if not namespace.startswith("/") or "," in namespace:
            raise UsageError(f"bad Socket.IO namespace {namespace!r}")
        scheme, netloc, query, socketio_path = parse_target_url(url, path, url_given_as)
        self.display_url = redact_url(url)
        self.namespace = namespace
        self.retries = retries
        self.retry_max_delay = retry_max_delay
        self._eio = eio
        self._protocol: str | None = {"3": "eio3", "4": "eio4"}.get(eio)
        self._upgrade = True  # whether a polling session tries the upgrade to WebSocket
        self._target = SioTarget(
            scheme=scheme,
            netloc=netloc,
            query=query,
            path=socketio_path,
            namespace=namespace,
            display_url=self.display_url,
            channels=tuple(channels),
            emits=tuple(event_array(event, argument) for event, argument in emits),
            headers=tuple((headers or {}).items()),
            insecure=insecure,
            cacert=cacert,
            connect_timeout=connect_timeout,
            ping_interval=ping_interval,
            max_frame_size=max_frame_size,
            fast_paths=fast_paths,
        )

    def __repr__(self) -> str:
        return (
            f"SocketIOSource({self.display_url!r}, {self.namespace!r}, "
            f"channels=<{len(self._target.channels)}>, eio={self._eio!r})"
        )

    @property
    def protocol(self) -> str | None:
        """The protocol in use ("eio3", "eio4"), or None while `auto` has not decided."""
        return self._protocol

    def __aiter__(self) -> AsyncGenerator[Frame, None]:
        """The frames one by one (`batches()` is what the pump reads)."""
        return frames_of(self.batches())

    async def batches(self) -> AsyncGenerator[list[Frame], None]:
        """A fresh run: the frames of each read together, lifecycle frames alone."""
        delays: Iterator[float] = backoff(cap=self.retry_max_delay)
        attempt = 0
        reached = False
        while True:
            reason = ""
            ended = False  # the server disconnected the namespace, and that ends the run
            session: SioSession | None = None
            try:
                session = await self._open()
            except Refused as exc:
                raise ConnectError(str(exc)) from None
            except HandshakeFailed as exc:
                reason = str(exc)
                log.info("connecting to %s failed: %s", self.display_url, reason)
            if session is not None:
                reached = True
                loop = asyncio.get_running_loop()
                connected_at, delivered, ended = loop.time(), False, False
                try:
                    connected = meta_frame(
                        now_us(),
                        "meta.connected",
                        url=self.display_url,
                        protocol=session.protocol,
                        namespace=self.namespace,
                        transport=session.transport,
                    )
                    yield [connected]
                    async for batch in session.batches():
                        if not delivered:
                            delivered = any(frame.kind == "sio" for frame in batch)
                        yield batch
                    reason = "the session ended"  # pragma: no cover - batches() never returns
                except SessionDropped as exc:
                    reason = str(exc)
                    ended = isinstance(exc, ServerEnded)
                finally:
                    await session.close()
                if is_stable(delivered, loop.time() - connected_at):
                    attempt, delays = 0, backoff(cap=self.retry_max_delay)
                yield [meta_frame(now_us(), "meta.disconnected", reason=reason)]
                if ended:
                    return  # as socket.io-client: no reconnect after the server's disconnect
            attempt += 1
            if not attempts_left(attempt, self.retries, reached):
                raise ConnectError(gave_up(self.display_url, self.retries, reason))
            delay = next(delays)
            details: dict[str, Any] = {"attempt": attempt, "delay": round(delay, 3)}
            if session is None:  # say why an attempt that never connected failed
                details["reason"] = reason
            yield [meta_frame(now_us(), "meta.reconnecting", **details)]
            await asyncio.sleep(delay)

    async def _open(self) -> SioSession:
        """One connection attempt with the protocol chosen (or being chosen) for this source."""
        if self._protocol is not None:  # eio3, eio4: WebSocket, then long-polling on HTTP 400
            try:
                return await open_session(self._target, self._protocol)
            except UpgradeRejected as exc:
                if exc.status != POLLING_STATUS:
                    raise
            return await self._open_polling(self._protocol)
        session: SioSession
        try:
            session = await open_session(self._target, "auto")
        except UpgradeRejected as exc:
            if not 400 <= exc.status < 500:
                raise
            log.info("%s refused EIO=4 (HTTP %d): trying EIO3", self.display_url, exc.status)
            try:
                session = await open_session(self._target, "eio3")
            except UpgradeRejected as again:
                if again.status != POLLING_STATUS:
                    raise
                session = await self._open_polling("auto")
        self._protocol = session.protocol
        return session

    async def _open_polling(self, dialect: str) -> SioSession:
        """Our long-polling client (aiohttp: imported only now); the upgrade tried once."""
        log.info(
            "%s refused the WebSocket upgrade (HTTP %d): falling back to long-polling",
            self.display_url,
            POLLING_STATUS,
        )
        from wstail.sources.socketio.polling import open_polling  # aiohttp

        session, self._upgrade = await open_polling(self._target, dialect, upgrade=self._upgrade)
        return session
