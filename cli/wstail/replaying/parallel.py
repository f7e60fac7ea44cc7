"""`replay -j N`: a capture's blocks read in worker processes, printed in their order.

A capture's numbering depends on how many envelopes every frame before
gives, so each block takes three steps in one worker:

1. read: its lines decoded and normalized (`capture_entries`, the same
   reader as one process), kept in the worker; the parent is told how many
   envelopes they make and where numbering restarts (a next part's header);
2. render: once every block before it is counted, the parent sends the
   block's first sequence number and the worker runs the entries through a
   stream of the same options (`Stream.feed_frames`: window, filters, -q,
   styling), keeping the records;
3. write: once every block before it is written, the parent gives the
   block its turn, with how many envelopes -n still lets pass; the worker
   writes its records to stdout itself (cut at -n or --until) and tells the
   parent how many passed, by event name, and whether the run ends there.

So every filter, query and --from/--to sees the very numbers one process
gives, and the records never cross to the parent: it only numbers blocks
and passes the turn. A block with bad lines comes back whole instead, and
the parent writes it, reporting the bad lines in their place (so does every
block when the output is no file: the Python API's). A block read with the
wrong part (a header inside a block before it changed the feed) is read
again; a block of lines holding a header is read alone first, so that is
rare. At the end, or at -n, --until, Ctrl-C, a closed pipe or an error, the
workers are killed: nothing waits for the rest of the input. A write that
fails (a closed pipe, a full disk) is the parent's to report, as its own.

A plain file's blocks are byte ranges the workers read themselves (the
parent only finds line ends, and numbers their lines from the counts they
give back); compressed input and stdin are read by the parent, in a thread,
and their lines sent. Workers are forked (they share the parent's imports
and options; nothing is pickled but blocks and records) and ignore SIGINT:
the parent ends them.
"""

from __future__ import annotations

import gc
import io
import os
import queue
import signal
import stat
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO

from wstail.fastpaths import FastPaths
from wstail.filters import is_truthy
from wstail.pipeline import Stream, StreamDone
from wstail.sinks import OutputWriter, records_text

from .blocks import content_of, newlines
from .captures import BadHeader, NewPart, Part, ReadingFor, capture_entries

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.context import ForkProcess
    from multiprocessing.queues import Queue

AUTO_THRESHOLD = 4 << 20
"""Bytes of a capture's lines read in one process before the default -j starts workers."""

IN_FLIGHT = 3
"""Blocks a worker holds at once at most (read, waiting for their turn, or rendering)."""

PIECE_SIZE = 256 << 10
"""Bytes of lines a worker reads at once: the entries of one stay in the CPU's caches."""

_HEADER_MARK = b'"wstail_capture"'
_IOV_MAX = 1024  # buffers one writev takes at most (POSIX's least IOV_MAX)
_POLL = 1.0  # seconds between looks at whether the other side is still alive
_LAST_WRITE = 1.0  # seconds Ctrl-C waits for the piece being written

PartState = tuple[str, int, dict[str, Any]]


def default_jobs() -> int:
    """The cores this process may run on (the default -j above AUTO_THRESHOLD)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


@dataclass(slots=True)
class Jobs:
    """How many workers read captures: `count` (1: none), `auto`: only past AUTO_THRESHOLD."""

    count: int
    auto: bool = False

    @classmethod
    def of(cls, given: int | None) -> Jobs:
        """-j as given: None is the default (every core, for a big input), N is N from the start."""
        if given is None:
            return cls(default_jobs(), auto=True)
        return cls(max(1, given))

    @property
    def parallel(self) -> bool:
        """Whether workers may be used at all."""
        return self.count > 1


@dataclass(slots=True)
class _Sent:
    """A block handed to a worker, kept until it is printed (it may be read again)."""

    before: int
    data: bytes | tuple[str, int, int, int, int]  # lines, or a plain file's range
    part: PartState
    worker: int
    summary: list[Any] | None = None  # the worker's read: see _Worker.read
    error: BaseException | None = None  # what the read met, raised in its place

    @property
    def read(self) -> bool:
        """Whether the worker's read came back."""
        return self.summary is not None or self.error is not None


@dataclass(slots=True)
class _Setup:
    """What a worker needs, inherited by fork: the parent's stream and reader settings."""

    stream: Stream
    reading_for: ReadingFor
    short: bool
    strict: bool
    direct: tuple[int, bytes] | None  # where workers write records themselves, and their prefix


class WorkerPool:
    """Forked workers, started on first use; `close` ends them.

    Tasks go to each worker through a queue (its thread writes them, so the
    parent never waits on a busy worker); each worker sends its results back
    on a pipe of its own, from its one thread.
    """

    def __init__(self, jobs: Jobs) -> None:
        self.jobs = jobs
        self.tasks: list[Queue[Any]] = []
        self.results: list[Connection] = []
        self.processes: list[ForkProcess] = []
        # The input's pieces (each capture's reading thread): a byte on `wake` says
        # one came, so the parent waits for them and the workers' results at once.
        self.events: queue.Queue[Any] = queue.Queue()
        self.wake: tuple[int, int] | None = None
        # Blocks are numbered across inputs: a late result of a block dropped from one
        # capture (after a bad next header) is never taken for another's.
        self.issued = 0

    @property
    def started(self) -> bool:
        """Whether the workers run."""
        return bool(self.processes)

    def start(self, setup: _Setup) -> None:
        """Fork the workers (after the options are final: they keep what they see now)."""
        import multiprocessing

        context = multiprocessing.get_context("fork")
        parent = os.getpid()
        for index in range(self.jobs.count):
            tasks: Queue[Any] = context.Queue()
            tasks.cancel_join_thread()  # a killed worker's queue must not hold up the exit
            results, sender = context.Pipe(duplex=False)
            process = context.Process(
                target=_work,
                args=(tasks, sender, setup, parent),
                name=f"wstail-replay-{index}",
                daemon=True,
            )
            process.start()
            sender.close()  # the worker's end: its end of file says the worker ended
            self.tasks.append(tasks)
            self.results.append(results)
            self.processes.append(process)
        self.wake = os.pipe()
        os.set_blocking(self.wake[1], False)

    def tell(self, event: tuple[Any, ...]) -> None:
        """An event for the parent, from another of its threads."""
        self.events.put(event)
        if self.wake is not None:
            try:
                os.write(self.wake[1], b"!")
            except OSError:  # full of wake-ups already (BlockingIOError), or closed
                pass

    def next_event(self, timeout: float | None = None) -> tuple[Any, ...] | None:
        """The next input piece or worker result, waiting for either (None after `timeout`)."""
        from multiprocessing.connection import wait

        assert self.wake is not None
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                return self.events.get_nowait()
            except queue.Empty:
                pass
            wait_for = _POLL if deadline is None else deadline - time.monotonic()
            if wait_for <= 0:
                return None
            ready = wait([*self.results, self.wake[0]], timeout=wait_for)
            if self.wake[0] in ready:
                os.read(self.wake[0], 1 << 16)
            for index, results in enumerate(self.results):
                if results not in ready:
                    continue
                try:
                    event: tuple[Any, ...] = results.recv()
                except (EOFError, OSError):
                    name = self.processes[index].name
                    return ("error", -1, RuntimeError(f"replay worker {name} ended"))
                return event

    def wait_for_write(self, timeout: float) -> None:
        """Wait up to `timeout` seconds for the worker writing a piece to say it is done."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                event = self.next_event(left)
            except KeyboardInterrupt:  # Ctrl-C again: no more waiting
                return
            if event is None or event[0] in ("written", "failed", "out", "error"):
                return

    def close(self, *, kill: bool = False) -> None:
        """End the workers: at once (`kill`: an early stop, an error), else once idle."""
        if not kill:
            for tasks in self.tasks:
                tasks.put(None)
        for process in self.processes:
            if kill:
                process.kill()
            process.join(None if kill else 5)
            if process.is_alive():
                process.kill()
                process.join()
        for tasks in self.tasks:
            tasks.close()
        for results in self.results:
            results.close()
        if self.wake is not None:
            for fd in self.wake:
                os.close(fd)
        self.tasks, self.processes, self.results, self.wake = [], [], [], None


class ParallelCaptures:
    """Feeds a capture's frame blocks through the workers into the stream, in order."""

    def __init__(
        self,
        jobs: Jobs,
        stream: Stream,
        reading_for: ReadingFor,
        *,
        short: bool,
        paths: FastPaths,
        piece_size: int = PIECE_SIZE,
    ) -> None:
        self.jobs = jobs
        self.piece_size = piece_size
        self.writing = False  # a worker is writing a piece to stdout now
        self.stream = stream
        self.pool = WorkerPool(jobs)
        self.paths = paths
        # Workers write their blocks to stdout themselves, in turn: the records never
        # cross to this process (unless the writer is no file, or a block has bad lines).
        writer = stream.writer
        self.direct: OutputWriter | None = writer if isinstance(writer, OutputWriter) else None
        where = None if self.direct is None else self.direct.descriptor()
        self.setup = _Setup(stream, reading_for, short, paths.strict, where)

    def close(self, *, kill: bool = False) -> None:
        """End the workers, if any started."""
        if self.pool.started:
            self.pool.close(kill=kill)

    def feed(
        self,
        blocks: Iterator[tuple[int, bytes]],
        part: Part,
        serial: Callable[[Iterator[tuple[int, bytes]]], bool],
        report: Callable[[int, str], None],
        tick: Callable[[], None] | None = None,
        handle: BinaryIO | None = None,
    ) -> None:
        """A capture's blocks after its header: the first ones by `serial` with the default -j.

        With the default -j, a plain file past AUTO_THRESHOLD bytes goes to
        the workers from its first line; other input (compressed, a pipe)
        once its first AUTO_THRESHOLD bytes of lines are fed by `serial`.
        `serial(blocks)` feeds blocks in this process and says whether the
        capture's entries ended there (a bad next header). `report(lineno,
        reason)` reports a bad line; `tick()` redraws the progress line (after each piece).
        `handle`: the input; a plain file's workers read their pieces from it themselves.
        """
        consumed, before = 0, None
        regular = _regular_file(handle)
        if self.jobs.auto and (regular is None or regular[1].st_size <= AUTO_THRESHOLD):
            prefix = _Prefix(blocks, AUTO_THRESHOLD)
            if serial(iter(prefix)):
                for _ in blocks:  # nothing more is printed; reading on reports a cut file
                    pass
                return
            if not prefix.cut:
                return
            consumed, before = prefix.consumed, prefix.next_before
        ranges = _plain_ranges(handle, consumed, before, self.piece_size)
        if ranges is not None:
            blocks = ranges
        try:
            self._feed(blocks, part, report, tick, handle if ranges is not None else None)
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt) and self.writing:
                # Ctrl-C: the piece being written ends on a whole line, unless stdout's
                # reader keeps it waiting (a paused pager).
                self.pool.wait_for_write(_LAST_WRITE)
            self.close(kill=True)
            raise

    def _feed(
        self,
        blocks: Iterator[tuple[int, bytes]],
        part: Part,
        report: Callable[[int, str], None],
        tick: Callable[[], None] | None,
        plain: BinaryIO | None,
    ) -> None:
        import threading

        pool = self.pool
        if not pool.started:
            pool.start(self.setup)
        workers = self.jobs.count
        # The input is read in a thread, a few pieces ahead of the workers: this thread
        # wakes for its pieces or the workers' results, so a pipe that pauses
        # (`record ... | replay -`) never holds up what was read already.
        slots = threading.Semaphore(IN_FLIGHT * workers)
        done = threading.Event()
        reader = threading.Thread(
            target=_read_ahead,
            args=(blocks, slots, pool.tell, done, None if plain else self.piece_size),
            daemon=True,
        )
        reader.start()
        try:
            self._run(slots, part, report, tick, plain)
        finally:
            done.set()
            slots.release(IN_FLIGHT * workers)  # a reader waiting for a slot sees `done`

    def _run(
        self,
        slots: Any,
        part: Part,
        report: Callable[[int, str], None],
        tick: Callable[[], None] | None,
        plain: BinaryIO | None,
    ) -> None:
        stream = self.stream
        stream.flush()  # what this process printed goes before what the workers write
        pool = self.pool
        state: PartState = (part.source, part.start_us, part.extra)
        sent: dict[int, _Sent] = {}
        loads = [0] * self.jobs.count  # blocks each worker holds
        waiting: deque[tuple[int, bytes]] = deque()  # read, not yet sent (after a header)
        next_id = pool.issued  # the next block sent
        counted = next_id  # blocks before this one are read, checked and told their first seq
        printed = next_id  # blocks before this one are printed
        self.writing = False  # block `printed` is being written by its worker
        count = stream.options.count
        running = stream.next_seq
        lines: int | None = None  # a plain file's lines before the next range counted
        waiting_for: int | None = None  # a block holding a header: none is sent past it
        reading = True
        failure: BaseException | None = None  # the input's read error, raised in its place
        ended = False  # a bad next header: nothing after it is printed

        while True:
            while waiting and waiting_for is None and not ended:
                before, data = waiting.popleft()
                worker = loads.index(min(loads))
                sent[next_id] = _Sent(before, data, state, worker)
                loads[worker] += 1
                pool.tasks[worker].put(("read", next_id, before, data, state))
                if type(data) is bytes and _HEADER_MARK in data:
                    waiting_for = next_id
                next_id += 1
                pool.issued = max(pool.issued, next_id)
            if not reading and printed == next_id and not waiting:
                break
            event = pool.next_event()
            assert event is not None  # no timeout: an event
            kind, ident, *result = event
            if kind == "block":
                if type(result[0]) is tuple and lines is None:
                    lines = result[0][4]  # the line before the first range
                if ended:
                    slots.release()  # read on to the end, printing nothing
                else:
                    waiting.append((ident, result[0]))
                continue
            if kind == "end":
                reading, failure = False, result[0]
                continue
            if ident < 0:
                raise result[0]
            block = sent.get(ident)
            if block is None:  # a block dropped after a bad next header
                continue
            if kind == "read":
                block.summary = result
            elif kind == "error" and not block.read:
                block.error = result[0]
            elif kind == "error":
                raise result[0]  # a render failed: as in one process, the run ends
            elif kind == "failed":
                assert self.direct is not None
                raise self.direct.failed(result[0])
            else:  # "written" by the worker, or "out": its pieces, printed here
                del sent[ident]
                loads[block.worker] -= 1
                printed += 1
                self.writing = False
                slots.release()
                if kind == "out":
                    self._print(result[0], report)
                    stream.flush()  # before the next piece a worker writes
                else:
                    passed, counts, done = result
                    stream.put_records([], passed, counts)
                    if done:
                        raise StreamDone
                if plain is not None:  # how far the file is read, for the progress line
                    os.lseek(plain.fileno(), block.data[3], os.SEEK_SET)
                if tick is not None:
                    tick()
            # Blocks read, in order: check each was read with the right part, number it.
            while counted < next_id and sent[counted].read:
                current = sent[counted]
                if current.part != state:  # a header before it changed the feed: again
                    current.part, current.summary, current.error = state, None, None
                    pool.tasks[current.worker].put(
                        ("read", counted, current.before, current.data, state)
                    )
                    break
                if current.error is not None:
                    raise current.error
                assert current.summary is not None
                reset, envelopes, new_state, stops, fast = current.summary
                self.paths.lines += fast[0]
                self.paths.general += fast[1]
                self.paths.missed += fast[2]
                base = running
                running = (reset if reset is not None else running) + envelopes
                if new_state is not None:
                    state = new_state
                if waiting_for == counted:
                    waiting_for = None
                # a range was read as from line 0: its bad lines are numbered here
                offset = 0
                if type(current.data) is tuple and lines is not None:
                    offset, lines = lines, lines + fast[0]
                pool.tasks[current.worker].put(("render", counted, base, offset))
                counted += 1
                if stops:  # a bad next header: later blocks are dropped, unprinted
                    ended, waiting_for = True, None
                    for later in range(counted, next_id):
                        pool.tasks[sent[later].worker].put(("drop", later))
                        loads[sent[later].worker] -= 1
                        del sent[later]
                        slots.release()
                    for _ in waiting:
                        slots.release()
                    waiting.clear()
                    next_id = counted
                    break
            # Blocks counted, in order, one at a time: written by the worker that holds it
            # (which renders it first if it has not yet), told how many more may pass.
            if not self.writing and printed < counted:
                left = None if count is None else count - stream.passed
                pool.tasks[sent[printed].worker].put(("write", printed, left))
                self.writing = True
        stream.number_from(running)
        if failure is not None:
            raise failure

    def _print(self, pieces: list[Any], report: Callable[[int, str], None]) -> None:
        """One block's records and bad lines, in order; StreamDone at -n or --until."""
        stream = self.stream
        count = stream.options.count
        for piece in pieces:
            if piece[0] == "bad":
                report(piece[1], piece[2])
                continue
            if piece[0] == "out":  # chunks of whole lines: never cut
                stream.put_records([b"".join(piece[1])[:-1]], piece[2], piece[3])
                continue
            left = None if count is None else count - stream.passed
            records, passed, counts, done = _cut(piece, left)
            stream.put_records(records, passed, counts)
            if done:
                raise StreamDone


def _cut(piece: tuple[Any, ...], left: int | None) -> tuple[list[bytes], int, dict[str, int], bool]:
    """A piece's records up to where -n (`left` more may pass) or --until ends the run.

    With how many passed, by event name, and whether the run ends there.
    """
    _, records, passed, counts, marks, events, until_at = piece
    stop = None
    if left is not None and passed >= left:
        stop = left - 1
    if until_at is not None and (stop is None or until_at < stop):
        stop = until_at
    if stop is None:
        return records, passed, counts, False
    if stop < 0:  # -n already reached (0): nothing more
        return [], 0, {}, True
    tally: dict[str, int] = {}
    for event in events[: stop + 1]:
        tally[event] = tally.get(event, 0) + 1
    return records[: marks[stop]], stop + 1, tally, True


def _plain_ranges(
    handle: BinaryIO | None, consumed: int, before: int | None, piece_size: int
) -> Iterator[tuple[int, Any]] | None:
    """A plain file's pieces as ranges the workers read, after its header and `consumed` bytes.

    None for anything else (stdin, a pipe, compressed input): its lines go to the workers.
    """
    regular = _regular_file(handle)
    if regular is None or not isinstance(regular[0].name, str):
        return None
    raw, status = regular
    fd = raw.fileno()
    path = os.path.abspath(raw.name)
    try:
        named = os.stat(path)  # the workers open it by name: the same file (not <stdin>)
        if named.st_ino != status.st_ino:
            return None
        start, number = _after_first_line(fd)
    except OSError:
        return None
    start += consumed
    return _ranges(fd, path, status, start, number if before is None else before, piece_size)


def _regular_file(handle: BinaryIO | None) -> tuple[io.FileIO, os.stat_result] | None:
    """The regular file a handle reads as it is (no pipe, no inflating), and its status now."""
    raw = getattr(handle, "raw", None)
    if not isinstance(raw, io.FileIO):
        return None
    try:
        status = os.fstat(raw.fileno())
    except OSError:
        return None
    return (raw, status) if stat.S_ISREG(status.st_mode) else None


def _after_first_line(fd: int) -> tuple[int, int]:
    """Where the lines after a file's first non-blank one (the header) start, and its number."""
    offset = number = 0
    while True:
        chunk = os.pread(fd, 1 << 16, offset)
        lines = chunk.splitlines(keepends=True)
        if not chunk or (len(lines) == 1 and not chunk.endswith(b"\n")):
            raise OSError("no header line")
        for line in lines:
            if not line.endswith(b"\n"):
                break  # the rest of it in the next chunk
            offset += len(line)
            number += 1
            if content_of(line):
                return offset, number


def _ranges(
    fd: int, path: str, status: os.stat_result, start: int, before: int, piece_size: int
) -> Iterator[tuple[int, Any]]:
    """Pieces of whole lines, of about `piece_size` bytes, from `start` to the file's size now.

    Each is (0, (path, inode, start, end, before)): `before` the number of the
    line before it in the first, 0 in the others (the parent counts them).
    """
    size = status.st_size
    while start < size:
        end = start + piece_size
        if end >= size - piece_size // 2:
            end = size
        else:
            while True:  # to the end of the line there
                chunk = os.pread(fd, 1 << 16, end)
                cut = chunk.find(b"\n")
                if cut >= 0 or not chunk:
                    end = end + cut + 1 if cut >= 0 else size
                    break
                end += len(chunk)
        yield 0, (path, status.st_ino, start, end, before)
        start = end
        before = 0  # only the first range says where the lines start


def _read_ahead(
    blocks: Iterator[tuple[int, Any]],
    slots: Any,
    tell: Callable[[tuple[Any, ...]], None],
    done: Any,
    split: int | None,
) -> None:
    """The reading thread: pieces of the input, each once a slot is free; then ("end", error)."""
    failure: BaseException | None = None
    try:
        for before, data in _split(blocks, split) if split else blocks:
            slots.acquire()
            if done.is_set():
                return
            tell(("block", before, data))
    except BaseException as exc:  # noqa: BLE001 - a ReadFailure, raised after what came before
        failure = exc
    tell(("end", -1, failure))


def _split(blocks: Iterator[tuple[int, bytes]], size: int) -> Iterator[tuple[int, bytes]]:
    """Blocks of whole lines cut into pieces of about `size` bytes, each with its line number."""
    for before, block in blocks:
        if len(block) <= size * 3 // 2:
            yield before, block
            continue
        start = 0
        while start < len(block):
            end = block.find(b"\n", start + size) + 1 or len(block)
            if len(block) - end < size // 2:
                end = len(block)
            yield before, block[start:end]
            before += block.count(b"\n", start, end)
            start = end


class _Prefix:
    """The first blocks of an input, up to about `size` bytes; `cut` if more follow."""

    def __init__(self, blocks: Iterator[tuple[int, bytes]], size: int) -> None:
        self.blocks = blocks
        self.left = size
        self.cut = False
        self.consumed = 0  # bytes of the blocks taken
        self.next_before: int | None = None  # the line before the first block not taken

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        for before, block in self.blocks:
            yield before, block
            self.consumed += len(block)
            self.next_before = before + newlines(block)
            self.left -= len(block)
            if self.left <= 0:
                self.cut = True
                return


class _Records:
    """A worker stream's writer: the records of the piece being made.

    `whole`: they are printed whole (no -n or --until may cut them, no
    --seq separator), so they are joined as they come, as the parent's
    writer would: chunks of lines, each ending on a newline, written as
    they are (never joined again: a big bytes object is fresh memory to
    fault in, every block).
    """

    def __init__(self, whole: bool) -> None:
        self.whole = whole
        self.records: list[bytes] = []
        self.size = 0  # records so far (whole: joined into self.records' items)

    def write_many(self, records: list[bytes]) -> None:
        """Keep the records."""
        self.size += len(records)
        if self.whole:
            records.append(b"")
            self.records.append(b"\n".join(records))
        else:
            self.records += records

    def take(self) -> list[bytes]:
        """The records kept (whole: chunks of lines), forgotten."""
        records = self.records
        self.records, self.size = [], 0
        return records

    def end_batch(self) -> None:
        """Nothing to flush."""

    def flush(self) -> None:
        """Nothing to flush."""

    def on_failure(self, callback: Callable[[], None] | None) -> None:
        """Nothing fails here."""


class _WorkerStream(Stream):
    """The parent's stream's twin: never ends on -n or --until, but says where it would."""

    __slots__ = ("records", "marks", "events", "until_at", "_passed_before")

    def __init__(self, parent: Stream) -> None:
        options = parent.options
        whole = options.count is None and parent.compiled.until is None and not options.seq
        self.records = _Records(whole)
        super().__init__(
            parent.options,
            parent.compiled,
            self.records,
            parent.terminal,
            meta_stderr=parent.meta_stderr,
            window=parent.inside if parent.windowed else None,
            tally=True,
        )
        self.marks: list[int] = []  # after each counted envelope: how many records
        self.events: list[str] = []  # and its event name
        self.until_at: int | None = None  # the first counted envelope --until holds for
        self._passed_before = 0

    def _check_end(self, envelope: Any) -> None:
        self.marks.append(self.records.size + len(self._out))
        self.events.append(envelope["event"])
        until = self.compiled.until
        if self.until_at is None and until is not None and is_truthy(until(envelope)):
            self.until_at = len(self.marks) - 1

    def piece(self) -> tuple[Any, ...]:
        """The records and counters since the last piece (the stream has handed all over)."""
        counts = dict(self.counts)
        self.counts.clear()  # the same dict: the feeding loop holds it
        piece = (
            "out" if self.records.whole else "records",
            self.records.take(),
            self.passed - self._passed_before,
            counts,
            self.marks,
            self.events,
            self.until_at,
        )
        self.marks, self.events, self.until_at = [], [], None
        self._passed_before = self.passed
        return piece


@dataclass(slots=True)
class _Worker:
    """One worker's state: the entries of the blocks it read, waiting for their turn."""

    setup: _Setup
    held: dict[int, list[Any]] = field(default_factory=dict)
    rendered: dict[int, list[Any]] = field(default_factory=dict)  # pieces waiting for a write
    files: dict[str, int] = field(default_factory=dict)  # plain files' descriptors, by path
    stream: _WorkerStream | None = None

    def read(self, before: int, data: Any, state: PartState) -> tuple[list[Any], list[Any]]:
        """Step 1: a block's entries, and how many envelopes they make, from where."""
        setup = self.setup
        if type(data) is tuple:  # a plain file's range: read here, numbered from line 0
            data, before = self.pread(*data[:4]), 0
        paths = FastPaths(strict=setup.strict)
        part = Part(state[0], state[1], state[2], setup.reading_for)
        entries = list(
            capture_entries(iter(((before, data),)), part, short=setup.short, paths=paths)
        )
        reset = None
        envelopes = 0
        for index, entry in enumerate(entries):
            if type(entry) is tuple:
                items = entry[0]
                if type(items) is not list:
                    items = list(items)
                    entries[index] = (items, entry[1], entry[2])
                envelopes += len(items)
            elif type(entry) is NewPart:
                reset, envelopes = entry.first_seq, 0
        stops = bool(entries) and type(entries[-1]) is BadHeader
        after = (part.source, part.start_us, part.extra)
        summary = [
            reset,
            envelopes,
            after if after != state else None,
            stops,
            (paths.lines, paths.general, paths.missed),  # lines: all the block's
        ]
        return entries, summary

    def pread(self, path: str, inode: int, start: int, end: int) -> bytes:
        """Bytes `start` to `end` of the file at `path` (the very file the parent opened)."""
        fd = self.files.get(path)
        if fd is None:
            fd = os.open(path, os.O_RDONLY)
            if os.fstat(fd).st_ino != inode:
                os.close(fd)
                raise RuntimeError(f"{path} was replaced while it was replayed")
            self.files[path] = fd
        parts = []
        while start < end:
            chunk = os.pread(fd, end - start, start)
            if not chunk:
                break  # cut meanwhile: what is there is read
            parts.append(chunk)
            start += len(chunk)
        return b"".join(parts)

    def render(self, entries: list[Any], base: int, offset: int = 0) -> list[Any]:
        """Step 2: the entries through the stream from `base`: pieces of records and bad lines."""
        if self.stream is None:
            self.stream = _WorkerStream(self.setup.stream)
        stream = self.stream
        stream.number_from(base)
        pieces: list[Any] = []

        def other(entry: Any) -> None:
            if type(entry) is NewPart:
                stream.number_from(entry.first_seq)
                return
            pieces.append(stream.piece())
            pieces.append(("bad", entry.lineno + offset, entry.reason))

        stream.feed_frames(entries, other)
        stream.flush()
        pieces.append(stream.piece())
        return [piece for piece in pieces if piece[0] == "bad" or piece[1] or piece[2]]

    def write(self, ident: int, pieces: list[Any], left: int | None) -> tuple[Any, ...]:
        """Step 3, in its turn: a block's records to the output, cut where the run ends.

        What the parent is told: how many passed, by event name, and whether
        the run ends there; or the pieces themselves when it prints them
        (no file to write to, or bad lines to report between the records).
        """
        direct = self.setup.direct
        if direct is None or any(piece[0] == "bad" for piece in pieces):
            return ("out", ident, pieces)
        fd, prefix = direct
        chunks: list[bytes] = []
        passed, done = 0, False
        counts: dict[str, int] = {}
        for piece in pieces:
            if piece[0] == "out":  # chunks of whole lines: never cut
                chunks += piece[1]
                count, tally = piece[2], piece[3]
            else:
                records, count, tally, done = _cut(piece, left)
                if records:
                    chunks.append(records_text(records, prefix))
            passed += count
            for event, number in tally.items():
                counts[event] = counts.get(event, 0) + number
            if left is not None:
                left -= count
            if done:
                break
        try:
            _write_all(fd, chunks)
        except OSError as exc:
            return ("failed", ident, _portable(exc))
        return ("written", ident, passed, counts, done)


def _write_all(fd: int, chunks: list[bytes]) -> None:
    """Every byte of `chunks` to `fd`, or the OSError that stopped it (after what was written)."""
    waiting: list[Any] = chunks
    while waiting:
        batch = waiting[:_IOV_MAX]
        written = os.writev(fd, batch)
        done = 0
        while done < len(batch) and written >= len(batch[done]):
            written -= len(batch[done])
            done += 1
        waiting = waiting[done:]
        if written:
            waiting[0] = memoryview(waiting[0])[written:]


def _work(tasks: Queue[Any], results: Connection, setup: _Setup, parent: int) -> None:
    """A worker's loop: writes first, then renders, then reads (the first hold up the output)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    # Held entries are many small containers: the cyclic collector would walk them all,
    # again and again, for cycles they never make (refcounting frees them).
    gc.disable()
    worker = _Worker(setup)
    reads: deque[Any] = deque()
    renders: dict[int, Any] = {}  # in the order given
    writes: deque[Any] = deque()
    try:
        while True:
            try:
                while True:  # take what waits: a write goes first, then renders, then reads
                    busy = reads or renders or writes
                    task = tasks.get_nowait() if busy else tasks.get(timeout=_POLL)
                    if task is None:
                        return
                    if task[0] == "drop":
                        worker.held.pop(task[1], None)
                        worker.rendered.pop(task[1], None)
                        renders.pop(task[1], None)
                        reads = deque(t for t in reads if t[1] != task[1])
                    elif task[0] == "render":
                        renders[task[1]] = task
                    elif task[0] == "write":
                        writes.append(task)
                    else:
                        reads.append(task)
            except queue.Empty:
                if os.getppid() != parent:
                    return  # the parent is gone
            if writes:  # rendered first if it was not yet (its render is queued)
                _, ident, left = writes.popleft()
                try:
                    if ident in renders:
                        worker.rendered[ident] = _render(worker, renders.pop(ident))
                    reply = worker.write(ident, worker.rendered.pop(ident), left)
                except Exception as exc:  # noqa: BLE001 - raised by the parent in its place
                    reply = ("error", ident, _portable(exc))
                results.send(reply)
            elif renders:
                task = renders.pop(next(iter(renders)))
                try:
                    worker.rendered[task[1]] = _render(worker, task)
                except Exception as exc:  # noqa: BLE001 - raised by the parent in its place
                    results.send(("error", task[1], _portable(exc)))
            elif reads:
                _, ident, before, data, state = reads.popleft()
                worker.held.pop(ident, None)
                try:
                    entries, summary = worker.read(before, data, state)
                except Exception as exc:  # noqa: BLE001 - raised by the parent in its place
                    results.send(("error", ident, _portable(exc)))
                    continue
                worker.held[ident] = entries
                results.send(("read", ident, *summary))
    except BaseException as exc:  # noqa: BLE001 - the parent raises it
        results.send(("error", -1, _portable(exc)))
    finally:
        # Never back into multiprocessing's bootstrap, which flushes the stdio buffers
        # inherited from the parent: its output is the parent's to write, once.
        results.close()
        os._exit(0)


def _render(worker: _Worker, task: tuple[Any, ...]) -> list[Any]:
    """A render task's block through the worker's stream (see _Worker.render)."""
    _, ident, base, offset = task
    return worker.render(worker.held.pop(ident), base, offset)


def _portable(exc: BaseException) -> BaseException:
    """The exception itself if it crosses to the parent, else a RuntimeError saying it."""
    import pickle

    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # noqa: BLE001 - any exception that cannot be pickled
        return RuntimeError(f"replay worker: {type(exc).__name__}: {exc}")
    return exc


__all__ = ["AUTO_THRESHOLD", "PIECE_SIZE", "Jobs", "ParallelCaptures", "default_jobs"]
