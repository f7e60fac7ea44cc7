"""live.pump: when the records of a live source's frames reach the writer, and how it fails."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator

import pytest

from conftest import make_stream
from helpers.node_peers import run
from wstail.frames import Frame
from wstail.live import pump
from wstail.normalize import normalize_node_frame
from wstail.pipeline import Stream
from wstail.sinks import OutputWriter


class CountingWriter(OutputWriter):
    """The test stream's writer, counting hand-overs and the lines written at each."""

    def __init__(self, out: io.BytesIO) -> None:
        super().__init__(out, block=False)
        self.hand_overs = 0
        self.fail: OSError | None = None

    def end_batch(self) -> None:
        if self.fail is not None:
            raise self.fail
        self.hand_overs += 1
        super().end_batch()


def counting_stream() -> tuple[Stream, CountingWriter, io.BytesIO]:
    stream, _ = make_stream()
    out = io.BytesIO()
    writer = CountingWriter(out)
    stream.writer = writer
    return stream, writer, out


def status(n: int) -> Frame:
    return Frame(n, "text", json.dumps({"status": f"s{n}"}))


def lines(out: io.BytesIO) -> list[str]:
    return out.getvalue().decode().splitlines()


def test_frames_ready_together_are_handed_over_once_the_source_waits() -> None:
    """Frames a source yields without waiting (one socket read) reach the writer together."""
    seen: list[tuple[int, int]] = []

    async def body() -> None:
        stream, writer, out = counting_stream()

        async def frames() -> AsyncIterator[Frame]:
            for n in range(10):
                yield status(n)
            assert writer.hand_overs == 0  # nothing handed over while frames were ready
            await asyncio.sleep(0.001)  # the source waits: the ten go out in one hand-over
            seen.append((writer.hand_overs, len(lines(out))))
            for n in range(10, 15):
                yield status(n)
            await asyncio.sleep(0.001)
            seen.append((writer.hand_overs, len(lines(out))))

        await pump(frames(), "node", normalize_node_frame, stream)
        stream.close()
        assert [json.loads(line)["data"]["status"] for line in lines(out)] == [
            f"s{n}" for n in range(15)
        ]

    run(body)
    assert seen == [(1, 10), (2, 15)]


def test_a_long_run_of_ready_frames_is_handed_over_every_256() -> None:
    """A source that never waits still reaches the writer every 256 frames."""
    seen: list[tuple[int, int]] = []

    async def body() -> None:
        stream, writer, out = counting_stream()

        async def frames() -> AsyncIterator[Frame]:
            for n in range(600):
                yield status(n)
                if n in (254, 255, 510, 511):  # (resumed once the pump took frame n)
                    seen.append((writer.hand_overs, len(lines(out))))
            await asyncio.sleep(0.001)
            seen.append((writer.hand_overs, len(lines(out))))

        await pump(frames(), "node", normalize_node_frame, stream)
        stream.close()
        assert len(lines(out)) == 600

    run(body)
    assert seen == [(0, 0), (1, 256), (1, 256), (2, 512), (3, 600)]


def test_an_output_failure_at_a_hand_over_ends_a_quiet_run() -> None:
    """The writer fails while the source has nothing more to say: the pump raises it at once."""

    async def body() -> None:
        stream, writer, out = counting_stream()
        writer.fail = OSError(28, "No space left on device")

        async def frames() -> AsyncIterator[Frame]:
            yield status(1)
            await asyncio.Event().wait()  # a feed gone quiet
            yield status(2)

        with pytest.raises(OSError, match="No space left"):
            await pump(frames(), "node", normalize_node_frame, stream)

    run(body)  # a hang (the failure never raised) fails on run()'s timeout
