"""Running a live source through the stream (and the recorder), until an end condition."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterator,
    Sequence,
)
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from wstail.exitcodes import IdleTimeout, Interrupted
from wstail.frames import Frame, batches_of_one, raw_payload
from wstail.normalize import Normalizer
from wstail.pipeline import FrameItems, Stream, StreamDone
from wstail.recorder import Recorder
from wstail.status import RecordStatus


@runtime_checkable
class BatchedFrames(Protocol):
    """A source that can also hand over every frame received so far in one step."""

    def batches(self) -> AsyncIterator[Sequence[Frame]]:
        """A fresh run of the source, as non-empty batches of frames in order."""
        ...


@dataclass(slots=True)
class LiveSource:
    """A live source ready to run: its frames, their normalizer and the capture's facts.

    `protocol` is "" while `--eio auto` has not decided (meta.connected tells).
    """

    frames: AsyncIterable[Frame]
    source: str
    normalize: Normalizer
    display_url: str
    protocol: str
    private: bool
    header: dict[str, Any] = field(default_factory=dict)  # more for a capture's header line


async def pump(
    frames: AsyncIterable[Frame] | BatchedFrames,
    source: str,
    normalize: Normalizer,
    stream: Stream,
    recorder: Recorder | None = None,
) -> None:
    """Feed frames to the recorder, and normalized to the stream, until the end or a limit.

    A source with `batches()` is read a batch per await, any other one frame
    by frame. --duration ends with StreamDone (exit 0), --idle-timeout with
    IdleTimeout (exit 124); -n and --until end inside the stream. The
    recorder sees every frame first, whatever the filters say.
    """
    options = stream.options
    deadline = None if options.duration is None else time.monotonic() + options.duration
    batches = frames.batches() if isinstance(frames, BatchedFrames) else batches_of_one(frames)
    loop = asyncio.get_running_loop()
    feed = stream.feed_frames
    hand_over = _HandOver(stream, loop)
    try:
        # One reschedulable timeout for the whole run: no task or timer object
        # piles up per frame, as asyncio.wait_for would.
        async with asyncio.timeout(None) as limit:
            while True:
                limit.reschedule(_next_deadline(stream, deadline, loop))
                try:
                    batch = await anext(batches)
                except StopAsyncIteration:
                    hand_over.finish()
                    return
                except asyncio.CancelledError:
                    hand_over.raise_failure()
                    raise
                hand_over.raise_failure()
                for start in range(0, len(batch), _OUTPUT_BATCH):
                    chunk = batch[start : start + _OUTPUT_BATCH]
                    if recorder is None:
                        feed(
                            [
                                (
                                    normalize(f, source),
                                    f.recv_us,
                                    f.payload if f.data is None else raw_payload(f),
                                )
                                for f in chunk
                            ]
                        )
                    else:
                        feed(_recorded(chunk, source, normalize, stream, recorder))
                    hand_over.fed(len(chunk))
    except TimeoutError:
        if deadline is not None and time.monotonic() >= deadline - 0.001:
            raise StreamDone from None
        raise IdleTimeout(f"no envelope passed the filters for {options.idle_timeout:g}s") from None
    finally:
        hand_over.cancel()
        closer = getattr(batches, "aclose", None)
        if closer is not None:
            try:
                await closer()
            except Exception:  # noqa: BLE001 - closing a dead source must not mask the outcome
                pass


class _HandOver:
    """When the records of frames fed go to the output: when the source has no more ready.

    Frames that arrived together (a socket read's worth, parsed at once) are
    taken by the pump without a pause; their records go to the stdout thread
    in one hand-over once the pump waits for the next frame (a callback run
    by the loop right after), or every _OUTPUT_BATCH frames. One hand-over
    per frame would cost the stdout thread a wake-up (and a GIL round trip)
    each. A failure of the output in the callback (stdout closed, a full
    disk) is raised in the pump, which it wakes.
    """

    def __init__(self, stream: Stream, loop: asyncio.AbstractEventLoop) -> None:
        self._stream = stream
        self._loop = loop
        self._task = asyncio.current_task()
        self._frames = 0  # fed, records not handed over yet
        self._handle: asyncio.Handle | None = None
        self._failure: BaseException | None = None
        # The output may fail in the writer's thread while the pump waits on a quiet source.
        stream.writer.on_failure(self._output_failed_soon)

    def fed(self, frames: int) -> None:
        self._frames += frames
        if self._frames >= _OUTPUT_BATCH:
            self._hand()
        elif self._handle is None:
            self._handle = self._loop.call_soon(self._run)

    def _hand(self) -> None:
        if self._frames:
            self._frames = 0
            self._stream.end_batch()

    def _run(self) -> None:
        self._handle = None
        try:
            self._hand()
        except BaseException as exc:  # noqa: BLE001 - raised in the pump, which owns the run
            self._fail(exc)

    def _output_failed_soon(self) -> None:
        """From the writer's thread: have the loop run `_output_failed`."""
        self._loop.call_soon_threadsafe(self._output_failed)

    def _output_failed(self) -> None:
        """The writer's thread met a failure: the pump, perhaps waiting, raises it."""
        try:
            self._stream.end_batch()  # raises why the output failed
        except BaseException as exc:  # noqa: BLE001 - raised in the pump, which owns the run
            self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        if self._failure is None:
            self._failure = exc
        if self._task is not None:
            self._task.cancel()

    def raise_failure(self) -> None:
        failure = self._failure
        if failure is not None:
            self._failure = None
            raise failure

    def finish(self) -> None:
        """The source ended: what is held goes to the writer now."""
        self.cancel()
        self._hand()

    def cancel(self) -> None:
        """The pump ends: no late hand-over (Stream.close writes what is held)."""
        self._stream.writer.on_failure(None)
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


def _recorded(
    frames: Sequence[Frame], source: str, normalize: Normalizer, stream: Stream, recorder: Recorder
) -> Iterator[FrameItems]:
    """Each frame written to the capture just before the stream numbers its envelopes."""
    for frame in frames:
        items = normalize(frame, source)  # first: how many envelopes goes into the index
        recorder.write(frame, stream.next_seq, len(items))
        yield items, frame.recv_us, raw_payload(frame)


# Frames whose envelopes go to the output in one hand-over, at most: bounds
# how long the first envelope of a big batch waits for the last (~4 ms).
_OUTPUT_BATCH = 256


def _next_deadline(
    stream: Stream, deadline: float | None, loop: asyncio.AbstractEventLoop
) -> float | None:
    """When (loop time) the next wait must end, or None for no limit."""
    timeout = _next_timeout(stream, deadline)
    return None if timeout is None else loop.time() + max(timeout, 0.0)


def _next_timeout(stream: Stream, deadline: float | None) -> float | None:
    now = time.monotonic()
    limits = []
    if deadline is not None:
        limits.append(deadline - now)
    idle = stream.options.idle_timeout
    if idle is not None:
        # an envelope passed but not handed over yet (which moves last_pass) counts as now
        limits.append((now if stream.holding else stream.last_pass) + idle - now)
    return min(limits) if limits else None


Prepare = Callable[[AsyncExitStack], Awaitable[LiveSource]]


async def run_source(
    prepare: Prepare,
    stream: Stream,
    make_recorder: Callable[[LiveSource], Recorder] | None = None,
    status: RecordStatus | None = None,
    recorders: list[Recorder] | None = None,
) -> None:
    """Prepare the source, then pump it until the end; what was prepared is closed after.

    The one live path: `run_live` (the commands) and the Python API
    (`wstail.tail`, `wstail.atail`) both run it; a cancel ends it cleanly
    (the source closes its connection). Recorders made are appended to `recorders`.
    """
    async with AsyncExitStack() as stack:
        live = await prepare(stack)
        recorder = make_recorder(live) if make_recorder is not None else None
        if recorder is not None:
            if recorders is not None:
                recorders.append(recorder)
            if status is not None:
                ticker = asyncio.create_task(status.follow(recorder))
                stack.callback(ticker.cancel)
        await pump(live.frames, live.source, live.normalize, stream, recorder)


def run_live(
    prepare: Prepare,
    stream: Stream,
    make_recorder: Callable[[LiveSource], Recorder] | None = None,
    status: RecordStatus | None = None,
) -> None:
    """Prepare the source (and anything it needs, like the demo server), then pump.

    SIGINT, SIGTERM and SIGHUP end the run with exit 130, files closed whole.
    `status` draws record's status line while the recorder writes, erased at exit.
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
            await run_source(prepare, stream, make_recorder, status, recorders)
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
        if status is not None:
            status.clear()
        try:
            stream.close()
        finally:
            for recorder in recorders:
                recorder.close()


_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
