"""Running a live source through the stream (and the recorder), until an end condition."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterable, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass

from wstail.exitcodes import IdleTimeout, Interrupted
from wstail.frames import Frame
from wstail.pipeline import Stream, StreamDone
from wstail.recorder import Recorder


@dataclass(slots=True)
class LiveSource:
    """A live source ready to run: its frames, envelope source name and capture facts.

    `protocol` is "" while `--eio auto` has not decided (meta.connected tells).
    """

    frames: AsyncIterable[Frame]
    source: str
    display_url: str
    protocol: str
    private: bool


async def pump(
    frames: AsyncIterable[Frame],
    source: str,
    stream: Stream,
    recorder: Recorder | None = None,
) -> None:
    """Feed frames to the recorder and the stream until the source ends or a limit hits.

    --duration ends with StreamDone (exit 0), --idle-timeout with IdleTimeout
    (exit 124); -n and --until end inside the stream. The recorder sees every
    frame first, whatever the filters say.
    """
    options = stream.options
    deadline = None if options.duration is None else time.monotonic() + options.duration
    iterator = aiter(frames)
    loop = asyncio.get_running_loop()
    try:
        # One reschedulable timeout for the whole run: no task or timer object
        # piles up per frame, as asyncio.wait_for would.
        async with asyncio.timeout(None) as limit:
            while True:
                timeout = _next_timeout(stream, deadline)
                limit.reschedule(None if timeout is None else loop.time() + max(timeout, 0.0))
                try:
                    frame = await anext(iterator)
                except StopAsyncIteration:
                    return
                if recorder is not None:
                    recorder.write(frame, stream.next_seq)
                stream.feed_frame(frame, source)
    except TimeoutError:
        if deadline is not None and time.monotonic() >= deadline - 0.001:
            raise StreamDone from None
        raise IdleTimeout(f"no envelope passed the filters for {options.idle_timeout:g}s") from None
    finally:
        closer = getattr(iterator, "aclose", None)
        if closer is not None:
            try:
                await closer()
            except Exception:  # noqa: BLE001 - closing a dead source must not mask the outcome
                pass


def _next_timeout(stream: Stream, deadline: float | None) -> float | None:
    now = time.monotonic()
    limits = []
    if deadline is not None:
        limits.append(deadline - now)
    idle = stream.options.idle_timeout
    if idle is not None:
        limits.append(stream.last_pass + idle - now)
    return min(limits) if limits else None


Prepare = Callable[[AsyncExitStack], Awaitable[LiveSource]]


def run_live(
    prepare: Prepare,
    stream: Stream,
    make_recorder: Callable[[LiveSource], Recorder] | None = None,
) -> None:
    """Prepare the source (and anything it needs, like the demo server), then pump.

    SIGINT, SIGTERM and SIGHUP end the run with exit 130, files closed whole.
    """
    recorders: list[Recorder] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        signalled: list[int] = []

        def stop(signum: int) -> None:
            signalled.append(signum)
            task.cancel()

        for signum in _SIGNALS:
            loop.add_signal_handler(signum, stop, signum)
        try:
            async with AsyncExitStack() as stack:
                live = await prepare(stack)
                recorder = make_recorder(live) if make_recorder is not None else None
                if recorder is not None:
                    recorders.append(recorder)
                await pump(live.frames, live.source, stream, recorder)
        except asyncio.CancelledError:
            if signalled:
                raise Interrupted("interrupted") from None
            raise
        finally:
            for signum in _SIGNALS:
                loop.remove_signal_handler(signum)

    try:
        asyncio.run(main())
    finally:
        try:
            stream.writer.flush()
        finally:
            for recorder in recorders:
                recorder.close()


_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
