"""The heartbeat of a Socket.IO session on a timer, off the reader's path, for every transport.

At the protocol's `next_deadline()` the timer applies `on_deadline`: what the
protocol queued (EIO3 pings) goes to `send`; when the protocol gives the
server up, `cut(reason)` ends the session. A server is judged only once the
reader has waited on it for a moment (`waiting_since()`): a slow consumer
that keeps the reader away never makes a live server look dead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from wstail.sources.socketio.protocol import SioProtocol

__all__ = ["MIN_WAIT", "Heartbeat"]

MIN_WAIT = 0.02  # seconds the reader waits on the server before the server is judged


class Heartbeat:
    """The timer of one session: `start()` once it is read, `stop()` when it ends."""

    def __init__(
        self,
        sio: SioProtocol,
        send: Callable[[list[str]], None],
        cut: Callable[[str], None],
        waiting_since: Callable[[], float | None],
    ) -> None:
        self._sio = sio
        self._send = send
        self._cut = cut
        self._waiting_since = waiting_since
        self._loop = asyncio.get_running_loop()
        self._timer: asyncio.TimerHandle | None = None

    def start(self) -> None:
        """Start the protocol's liveness rules now and arm the timer."""
        self._sio.start_heartbeat(self._loop.time())
        self._arm()

    def stop(self) -> None:
        """Disarm the timer (idempotent)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _arm(self) -> None:
        self._timer = self._loop.call_at(self._sio.next_deadline(), self._on_deadline)

    def _on_deadline(self) -> None:
        self._timer = None
        sio = self._sio
        now = self._loop.time()
        reason = sio.on_deadline(now)
        if sio.outgoing:
            self._send(sio.take_outgoing())
        if reason is None:
            self._arm()
            return
        since = self._waiting_since()
        if since is None or now - since < MIN_WAIT:
            # The reader is away (a slow consumer): what the server sent may sit unread.
            self._timer = self._loop.call_at(now + MIN_WAIT, self._on_deadline)
            return
        self._cut(reason)
