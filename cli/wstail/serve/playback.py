"""What every `--serve` protocol shares: one paced pass (or loop) over a capture per client.

A server hands `play` the frames a client should get (`keep`) and how to
send one (`send`), and ends the client's session when it returns True (the
end of the capture); `Replays` owns the tasks, one per client and namespace,
so that a client that leaves only cancels its own, and so that an error
reading the capture ends the whole server instead of vanishing in a task.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine, Hashable, Iterable
from dataclasses import dataclass
from typing import Any

from wstail.frames import Frame
from wstail.pacing import Pacer

__all__ = ["LOOP_GAP", "ClientGone", "FrameOpener", "Playback", "Replays", "Say", "play"]

log = logging.getLogger("wstail.serve")

FrameOpener = Callable[[], Iterable[Frame]]

# Where a server tells who connects, leaves and reaches the end of the capture:
# the command's stderr (`run`), the debug log otherwise.
Say = Callable[[str], None]

# Recorded seconds between the last frame of a pass and the first of the next
# (--loop); paced like any gap, so --max-gap and --speed shorten it. Without
# it a one-frame capture would be sent in a hot loop.
LOOP_GAP = 1.0


class ClientGone(Exception):
    """The client closed its connection while a frame was being sent to it."""


@dataclass(frozen=True, slots=True)
class Playback:
    """How a capture is played to each client."""

    open_frames: FrameOpener
    speed: float | None = 1.0
    max_gap: float | None = None
    loop: bool = False


async def play(
    playback: Playback,
    keep: Callable[[Frame], bool],
    send: Callable[[Frame], Awaitable[None]],
) -> bool:
    """Send the kept frames of the capture from its beginning, paced; again and again with loop.

    True once the capture is over for this client: after its last frame
    without loop, or with loop when a pass sent nothing (the caller ends the
    session); False when `send` raised ClientGone. Errors of `open_frames`
    and its iterator propagate.
    """
    clock = asyncio.get_running_loop()
    pacer = Pacer(playback.speed, playback.max_gap)
    started = clock.time()
    while True:
        sent = 0
        frames = iter(playback.open_frames())
        try:
            for frame in frames:
                if not keep(frame):
                    continue
                delay = started + pacer.due(frame.recv_us) - clock.time()
                # sleep(0) at full speed too: other clients get their turn
                await asyncio.sleep(max(delay, 0.0))
                try:
                    await send(frame)
                except ClientGone:
                    return False
                sent += 1
        finally:
            close = getattr(frames, "close", None)
            if close is not None:
                close()  # a generator holding the capture file open
        if not playback.loop or sent == 0:
            return True
        pacer.rewind(LOOP_GAP)


class Replays:
    """The running replay tasks of one server, by key (client, namespace)."""

    def __init__(self) -> None:
        self._tasks: dict[Hashable, asyncio.Task[None]] = {}
        self._failed: asyncio.Future[BaseException] = asyncio.get_running_loop().create_future()

    def __len__(self) -> int:
        return len(self._tasks)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._tasks

    @property
    def failed(self) -> asyncio.Future[BaseException]:
        """Resolves with the first error a replay raised (a capture that cannot be read)."""
        return self._failed

    def start(self, key: Hashable, replay: Coroutine[Any, Any, None]) -> None:
        """Run `replay` under `key`, unless a replay with that key is running already."""
        if key in self._tasks:
            replay.close()
            return
        task = asyncio.create_task(replay, name=f"wstail-replay-{key!r}")
        self._tasks[key] = task
        task.add_done_callback(lambda done: self._finished(key, done))

    def _finished(self, key: Hashable, task: asyncio.Task[None]) -> None:
        if self._tasks.get(key) is task:
            del self._tasks[key]
        if task.cancelled():
            return
        error = task.exception()
        if error is not None and not self._failed.done():
            self._failed.set_result(error)

    def cancel(self, key: Hashable) -> None:
        """Stop the replay under `key` (its client left); nothing if there is none."""
        task = self._tasks.pop(key, None)
        if task is not None:
            task.cancel()

    def cancel_where(self, match: Callable[[Hashable], bool]) -> None:
        """Stop every replay whose key matches."""
        for key in [key for key in self._tasks if match(key)]:
            self.cancel(key)

    async def close(self) -> None:
        """Cancel every replay and wait until they are all over."""
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
