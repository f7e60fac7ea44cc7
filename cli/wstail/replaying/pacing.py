"""Replay's waiting: the pure pacing rule (wstail.pacing) applied with a real clock.

The only place replay sleeps. It also ends the replay at --duration and
--idle-timeout while it waits.
"""

from __future__ import annotations

import time

from wstail.exitcodes import IdleTimeout
from wstail.pacing import Pacer
from wstail.pipeline import Stream, StreamDone


class ReplayTimer:
    """Sleeps so that items come out at their recorded pace (--speed, --max-gap)."""

    def __init__(
        self,
        speed: float | None,
        max_gap: float | None,
        stream: Stream,
        idle_timeout: float | None,
        deadline: float | None,
    ) -> None:
        self.speed = speed
        self.clock = Pacer(speed, max_gap)
        self.stream = stream
        self.idle_timeout = idle_timeout
        self.deadline = deadline
        self.started = time.monotonic()

    def wait(self, recorded_us: int | None) -> None:
        """Sleep until the item recorded at `recorded_us` is due; StreamDone past --duration.

        Unpaced (or with no recorded time) this only checks the --duration deadline.
        """
        deadline = self.deadline
        if not self.speed or self.speed <= 0 or recorded_us is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise StreamDone
            return
        due = self.started + self.clock.due(recorded_us)
        idle = self.idle_timeout
        stream = self.stream
        while True:
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                raise StreamDone
            if idle is not None and now - stream.last_pass >= idle:
                raise IdleTimeout(f"no envelope passed the filters for {idle:g}s")
            if now >= due:
                return
            limit = due - now
            if deadline is not None:
                limit = min(limit, deadline - now)
            if idle is not None:
                limit = min(limit, stream.last_pass + idle - now)
            stream.flush()
            time.sleep(max(limit, 0.0))
