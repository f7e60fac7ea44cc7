"""The Python API (docs/python.md): captures and live feeds as iterators of envelope dicts.

A thin adapter over what the commands run, never a second implementation:
`replay` drives the command's Replayer and `tail`/`atail` the live path
(`live.run_source`, with `pump`) into the same Stream; only the end differs.
The stream here keeps each envelope as the dict it built (no JSON is
written and read back), and a small writer hands lists of them to the
caller: through a bounded queue from a reading thread (`replay`), an
asyncio event (`atail`), or a private event loop in a thread (`tail`).

Numbers are what the stream holds: int and float, and for the rare number
a double cannot hold (16+ significant digits, a huge exponent) an
ExactNumber, a float that keeps its digits in `.text`. `exact=True` gives
every non-integer number of `data` as a decimal.Decimal of the digits
received instead.
"""

from __future__ import annotations

import asyncio
import io
import logging
import queue
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TextIO, TypeVar, cast

from wstail.capture import CaptureError, CaptureHeader, decode_frame, decode_header, is_header
from wstail.exitcodes import (
    BadInputError,
    ConnectError,
    IdleTimeout,
    Interrupted,
    OutputError,
    UsageError,
    WstailError,
)
from wstail.frames import Frame
from wstail.jsonexact import ExactNumber, loads_exact
from wstail.pipeline import CompiledOptions, Stream, StreamDone, StreamOptions
from wstail.terminal import Terminal

__all__ = [
    "BadInputError",
    "CaptureHeader",
    "ConnectError",
    "Envelope",
    "Frame",
    "IdleTimeout",
    "Interrupted",
    "OutputError",
    "UsageError",
    "WstailError",
    "atail",
    "capture_frames",
    "capture_header",
    "replay",
    "tail",
]

Envelope = dict[str, Any]
"""One envelope: seq, recv_ts, source, event, event_ts, data (README.md, "Envelopes")."""

T = TypeVar("T")

log = logging.getLogger("wstail")
"""Where what the commands write on stderr goes: bad lines, lifecycle lines, warnings."""

# Envelopes waiting for a slow reader of `replay`, at most, in lists of up to 256.
_QUEUED_BATCHES = 16


# -- the stream's end: envelopes as dicts --------------------------------------------------


class _Batches:
    """A RecordWriter whose records are envelope dicts: handed over a list at a time."""

    def __init__(self, deliver: Callable[[list[Envelope]], None], exact: bool) -> None:
        self._deliver = deliver
        self._held: list[Envelope] = []
        self._exact = exact

    def write_many(self, records: list[bytes]) -> None:
        """Hold the stream's records: here, envelope dicts (see _DictStream)."""
        envelopes = cast(list[Envelope], records)
        if self._exact:
            envelopes = [_with_decimals(envelope) for envelope in envelopes]
        if self._held:
            self._held.extend(envelopes)
        else:
            self._held = envelopes
        if len(self._held) >= 256:
            self.end_batch()

    def end_batch(self) -> None:
        """Hand what is held to the reader."""
        if self._held:
            held, self._held = self._held, []
            self._deliver(held)

    def flush(self) -> None:
        """Hand what is held to the reader."""
        self.end_batch()

    def on_failure(self, callback: Callable[[], None] | None) -> None:
        """Nothing to watch: handing over cannot fail between calls."""


class _DictStream(Stream):
    """The commands' Stream, whose records are the envelope dicts themselves (no JSON made)."""

    __slots__ = ()

    def __init__(
        self,
        options: StreamOptions,
        writer: _Batches,
        exact: bool,
        live: bool,
        window: Callable[[int, int], bool] | None = None,
    ) -> None:
        compiled = CompiledOptions.build(options)
        for warning in compiled.warnings:
            log.warning("wstail: %s", warning)
        terminal = Terminal(pretty=False, color=False, stderr=_log_lines(logging.WARNING))
        meta_lines = _log_lines(logging.INFO) if live else None
        super().__init__(options, compiled, writer, terminal, meta_lines, window, tally=False)
        # Every record goes through format_envelope, which returns the dict as it is.
        self._record = self.format_envelope

    def format_envelope(self, envelope: Envelope, line: bytes | None = None) -> bytes:
        """The envelope itself: the writer takes dicts (typed as the stream's bytes records)."""
        return cast(bytes, envelope)

    @property
    def prints_envelopes_again(self) -> bool:
        """Envelopes read back from NDJSON keep every digit, as a capture's normalizers do."""
        return True


class _LogLines(io.TextIOBase):
    """A text stream whose lines go to the `wstail` logger (what the CLI writes on stderr)."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self._level = level
        self._partial = ""

    def writable(self) -> bool:
        """Always: lines are logged."""
        return True

    def isatty(self) -> bool:
        """Never a terminal (so no progress bar is drawn)."""
        return False

    def write(self, text: str) -> int:
        """Log each whole line (the `wstail: ` prefix dropped)."""
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        for line in lines:
            if line:
                log.log(self._level, "%s", line.removeprefix("wstail: "))
        return len(text)


def _log_lines(level: int) -> TextIO:
    """A text stream for what the commands write on stderr, logged at `level`."""
    return cast(TextIO, _LogLines(level))


def _stream_options(
    events: str | Sequence[str] | None,
    exclude: str | Sequence[str] | None,
    where: str | Sequence[str] | None,
    until: str | None,
    count: int | None,
    duration: float | None,
    idle_timeout: float | None,
    meta: bool,
) -> StreamOptions:
    if count is not None and count < 1:
        raise UsageError(f"count {count!r}: expected 1 or more")
    return StreamOptions(
        events=_strings(events),
        excludes=_strings(exclude),
        filters=_strings(where),
        until=until,
        count=count,
        duration=duration,
        idle_timeout=idle_timeout,
        meta=meta,
    )


def _strings(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """One string or several as a tuple (comma lists split, as -e/-x take them)."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


# -- numbers --------------------------------------------------------------------------------


def _with_decimals(envelope: Envelope) -> Envelope:
    """The envelope with every non-integer number of its data a Decimal of its digits."""
    data = envelope.get("data")
    if isinstance(data, (dict, list, float)):
        envelope["data"] = _decimals(data)
    return envelope


def _decimals(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        return {key: _decimals(item) for key, item in value.items()}
    if kind is list:
        return [_decimals(item) for item in value]
    if kind is ExactNumber:
        return Decimal(value.text)
    if kind is float:
        return Decimal(repr(value))  # the shortest digits that read back as this double
    return value


# -- replay ---------------------------------------------------------------------------------


def replay(
    *paths: str,
    events: str | Sequence[str] | None = None,
    exclude: str | Sequence[str] | None = None,
    where: str | Sequence[str] | None = None,
    start: str | int | datetime | None = None,
    end: str | int | datetime | None = None,
    meta: bool = False,
    count: int | None = None,
    until: str | None = None,
    exact: bool = False,
    each: str | None = None,
    event_name: str | None = None,
    event_time: str | None = None,
) -> Iterator[Envelope]:
    """The envelopes `wstail replay PATH...` prints, as dicts, read lazily.

    `paths`: captures (.gz, .zst too) or wstail's NDJSON, in order ("-" is stdin).
    `events`/`exclude`: globs (`-e`/`-x`); `where`: JMESPath, all must hold
    (`-f`); `start`/`end`: what `--from`/`--to` take (an int N is `seq:N`, a
    datetime its time); `meta`: lifecycle envelopes too; `count`/`until`: stop
    as `-n`/`--until` do; `exact`: data's non-integer numbers as Decimal;
    `each`/`event_name`/`event_time`: re-read generic captures (`--each`...).
    Bad lines are logged (logger `wstail`); after the last envelope,
    BadInputError says how many there were, as the command does (exit 4).
    Options are checked now (UsageError); files are read as you iterate.
    Leaving the loop early stops the reading.
    """
    from functools import partial

    from wstail.feeds import reading_for
    from wstail.normalize.generic import Rules
    from wstail.replaying import Bound, Replayer, ReplayOptions, Window

    window = Window(
        Bound.parse(_bound_text(start), "--from") if start is not None else None,
        Bound.parse(_bound_text(end), "--to") if end is not None else None,
    )
    options = _stream_options(events, exclude, where, until, count, None, None, meta)
    rules = Rules(each or None, event_name or None, event_time or None)
    chosen = list(paths) or ["-"]
    handoff: queue.Queue[list[Envelope] | _End] = queue.Queue(_QUEUED_BATCHES)
    stop = threading.Event()

    def deliver(batch: list[Envelope]) -> None:
        while True:  # a reader that left stops the reading at the next hand-over
            if stop.is_set():
                raise _Left
            try:
                handoff.put(batch, timeout=0.1)
                return
            except queue.Full:
                continue

    writer = _Batches(deliver, exact)
    active = window.active
    stream = _DictStream(options, writer, exact, False, window.contains if active else None)
    replayer = Replayer(
        stream,
        ReplayOptions(window=window if active else None),
        _log_lines(logging.WARNING),
        partial(reading_for, rules=rules),
    )

    def run() -> None:
        outcome: BaseException | None = None
        try:
            try:
                replayer.replay(chosen)
            finally:
                stream.close()
        except (StreamDone, _Left):
            pass
        except BaseException as exc:  # noqa: BLE001 - raised in the reader's thread
            outcome = exc
        if not stop.is_set():
            handoff.put(_End(outcome))

    return _drain(run, handoff, stop)


class _Left(Exception):
    """The reader left the loop: the reading thread stops at its next hand-over."""


@dataclass(frozen=True, slots=True)
class _End:
    """The reading thread is done: how (None: the end of the inputs or a stop condition)."""

    outcome: BaseException | None


def _drain(
    run: Callable[[], None],
    handoff: queue.Queue[list[Envelope] | _End],
    stop: threading.Event,
) -> Iterator[Envelope]:
    """Run `run` in a thread and yield the envelopes it hands over, in order."""
    thread = threading.Thread(target=run, name="wstail-replay", daemon=True)
    thread.start()
    try:
        while True:
            batch = handoff.get()
            if type(batch) is _End:
                if batch.outcome is not None:
                    raise batch.outcome
                return
            yield from cast(list[Envelope], batch)
    finally:
        stop.set()
        while thread.is_alive():  # unblock a hand-over waiting on a full queue
            try:
                handoff.get(timeout=0.05)
            except queue.Empty:
                pass
        thread.join()


def _bound_text(value: str | int | datetime) -> str:
    """What --from/--to would be given: an int is seq:N, a datetime its RFC 3339 time (UTC)."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, int) and not isinstance(value, bool):
        return f"seq:{value}"
    return str(value)


# -- live feeds -----------------------------------------------------------------------------


@dataclass(slots=True)
class _Tap:
    """A live run, ready to start: what it connects to and the stream it feeds."""

    prepare: Any  # live.Prepare
    stream: _DictStream
    batches: list[list[Envelope]]
    wake: asyncio.Event | None = None

    def deliver(self, batch: list[Envelope]) -> None:
        """From the stream (in the loop): a list of envelopes for the reader."""
        self.batches.append(batch)
        if self.wake is not None:
            self.wake.set()

    async def run(self) -> AsyncGenerator[list[Envelope], None]:
        """Run the live path in a task; yield its envelopes a list at a time."""
        from wstail.live import run_source

        wake = self.wake = asyncio.Event()
        task = asyncio.create_task(run_source(self.prepare, self.stream))
        task.add_done_callback(lambda _: wake.set())
        try:
            while True:
                while self.batches:
                    yield self.batches.pop(0)
                if task.done():
                    self.stream.close()  # what the stream still holds (-n's last envelope)
                    while self.batches:
                        yield self.batches.pop(0)
                    error = task.exception()
                    if error is None or isinstance(error, StreamDone):
                        return
                    raise error
                wake.clear()
                await wake.wait()
        finally:
            if not task.done():
                task.cancel()  # the source closes its connection as it ends
                try:
                    await task
                except BaseException:  # noqa: BLE001 - its outcome no longer matters
                    pass


def _tap(
    feed: str,
    url: str | None,
    channels: Sequence[str],
    stream_options: StreamOptions,
    exact: bool,
    settings: dict[str, Any],
    demo: bool,
    speed: float | None,
) -> _Tap:
    """Check everything as the command does (UsageError now), and build the run."""
    import dataclasses
    import os
    from contextlib import AsyncExitStack

    from wstail.commands.connect import collect_channels
    from wstail.commands.generic import emits_of, name_of
    from wstail.fastpaths import FastPaths
    from wstail.feeds import FEEDS, ConnectSettings
    from wstail.live import LiveSource
    from wstail.normalize.generic import Rules

    chosen = FEEDS.get(feed)
    if chosen is None:
        raise UsageError(f"no feed {feed!r}: one of {', '.join(FEEDS)}")
    ids: list[str] | None = None
    if chosen.channels:
        ids = collect_channels(tuple(channels), None, required=not demo, command=f"tail {feed}")
    elif channels:
        raise UsageError(f"{feed} takes no channels")
    generic = {
        key: settings.pop(key) for key in ("sends", "emits", "namespace", "path") if key in settings
    }
    if generic and not chosen.generic:
        raise UsageError(f"{', '.join(generic)}: only for the generic feeds (ws, sio)")
    wrong = {
        "sends": "socketio",
        "emits": "websocket",
        "namespace": "websocket",
        "path": "websocket",
    }
    for key in generic:
        if chosen.protocol == wrong[key]:
            raise UsageError(f"{key}: not an option of the {feed} feed")
    rules = Rules(
        settings.pop("each") or None,
        settings.pop("event_name") or None,
        settings.pop("event_time") or None,
    )
    if rules != Rules() and not chosen.generic:
        raise UsageError("each, event_name and event_time read generic feeds (ws, sio)")
    name = name_of({"name": settings.pop("name")})
    emits = tuple((event, _json_text(argument)) for event, argument in generic.get("emits", ()))
    made = ConnectSettings(
        url=url,
        channels=tuple(ids or ()),
        fast_paths=FastPaths.of_run(os.environ),
        sends=tuple(_json_text(text) for text in generic.get("sends", ())),
        emits=emits_of(emits),
        namespace=generic.get("namespace"),
        path=generic.get("path"),
        name=name,
        rules=rules,
        headers=dict(settings.pop("headers") or {}),
        **settings,
    )
    if demo:
        from wstail.demo import DEMO_CHANNEL, demo_preparer

        if url is not None:
            raise UsageError("demo serves its own bundled sample: drop the url (or demo)")
        checked = made if ids else dataclasses.replace(made, channels=(DEMO_CHANNEL,))
        chosen.open(checked, f"{chosen.scheme}://127.0.0.1" if chosen.generic else None)
        prepare = demo_preparer(chosen, made, _log_lines(logging.INFO), speed=speed or 1.0)
    else:
        if speed is not None:
            raise UsageError("speed only applies with demo (a live feed comes at its own pace)")
        live = chosen.open(made)  # option errors surface before connecting

        async def prepare(stack: AsyncExitStack) -> LiveSource:
            return live

    tap = _Tap(prepare, cast(_DictStream, None), [])
    tap.stream = _DictStream(stream_options, _Batches(tap.deliver, exact), exact, True)
    return tap


def _json_text(value: Any) -> str:
    """A text to send as it is; any other value as its JSON text."""
    if isinstance(value, str):
        return value
    import orjson

    return orjson.dumps(value).decode()


def atail(
    feed: str,
    url: str | None = None,
    *,
    channels: Sequence[str] = (),
    count: int | None = None,
    duration: float | None = None,
    events: str | Sequence[str] | None = None,
    exclude: str | Sequence[str] | None = None,
    where: str | Sequence[str] | None = None,
    until: str | None = None,
    idle_timeout: float | None = None,
    meta: bool = False,
    exact: bool = False,
    sends: Sequence[Any] = (),
    emits: Sequence[tuple[str, Any]] = (),
    namespace: str | None = None,
    path: str | None = None,
    name: str | None = None,
    each: str | None = None,
    event_name: str | None = None,
    event_time: str | None = None,
    eio: str = "auto",
    headers: dict[str, str] | None = None,
    insecure: bool = False,
    cacert: str | None = None,
    connect_timeout: float = 10.0,
    retries: int | None = None,
    retry_max_delay: float = 5.0,
    ping_interval: float | None = None,
    max_frame_size: int = 64 * 1024 * 1024,
    user: str | None = None,
    password_file: str | None = None,
    cookie_file: str | None = None,
    demo: bool = False,
    speed: float | None = None,
) -> AsyncIterator[Envelope]:
    """`wstail tail FEED` as an async iterator of envelope dicts (see `tail` for the options)."""
    options = _stream_options(events, exclude, where, until, count, duration, idle_timeout, meta)
    tap = _tap(
        feed,
        url,
        channels,
        options,
        exact,
        {
            **({"sends": tuple(sends)} if sends else {}),
            **({"emits": tuple(emits)} if emits else {}),
            **({"namespace": namespace} if namespace is not None else {}),
            **({"path": path} if path is not None else {}),
            "name": name,
            "each": each,
            "event_name": event_name,
            "event_time": event_time,
            "eio": str(eio),
            "headers": headers,
            "insecure": insecure,
            "cacert": cacert,
            "connect_timeout": connect_timeout,
            "retries": retries,
            "retry_max_delay": retry_max_delay,
            "ping_interval": ping_interval,
            "max_frame_size": max_frame_size,
            "user": user,
            "password_file": password_file,
            "cookie_file": cookie_file,
        },
        demo,
        speed,
    )
    return _LiveEnvelopes(tap)


class _LiveEnvelopes(AsyncIterator[Envelope]):
    """atail's iterator: `async for`, and `async with` (or aclose) to leave it early."""

    def __init__(self, tap: _Tap) -> None:
        self._batches = tap.run()
        self._current: Iterator[Envelope] = iter(())

    def __aiter__(self) -> _LiveEnvelopes:
        return self

    async def __anext__(self) -> Envelope:
        while True:
            for envelope in self._current:
                return envelope
            self._current = iter(await anext(self._batches))

    async def aclose(self) -> None:
        """Close the connection (cleanly: the server sees a close) and end the run."""
        await self._batches.aclose()

    async def __aenter__(self) -> _LiveEnvelopes:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def tail(
    feed: str,
    url: str | None = None,
    *,
    channels: Sequence[str] = (),
    count: int | None = None,
    duration: float | None = None,
    events: str | Sequence[str] | None = None,
    exclude: str | Sequence[str] | None = None,
    where: str | Sequence[str] | None = None,
    until: str | None = None,
    idle_timeout: float | None = None,
    meta: bool = False,
    exact: bool = False,
    sends: Sequence[Any] = (),
    emits: Sequence[tuple[str, Any]] = (),
    namespace: str | None = None,
    path: str | None = None,
    name: str | None = None,
    each: str | None = None,
    event_name: str | None = None,
    event_time: str | None = None,
    eio: str = "auto",
    headers: dict[str, str] | None = None,
    insecure: bool = False,
    cacert: str | None = None,
    connect_timeout: float = 10.0,
    retries: int | None = None,
    retry_max_delay: float = 5.0,
    ping_interval: float | None = None,
    max_frame_size: int = 64 * 1024 * 1024,
    user: str | None = None,
    password_file: str | None = None,
    cookie_file: str | None = None,
    demo: bool = False,
    speed: float | None = None,
) -> Iterator[Envelope]:
    """The envelopes `wstail tail FEED [URL]` prints, as dicts, live, until a stop condition.

    `feed`: public, user, node, ws or sio (wstail.feeds.FEEDS); `url`: the
    server (the generic feeds need one). The keywords are the command's
    options, spelled as Python names: `channels` (user's IDs), `count`,
    `duration`, `until`, `idle_timeout` end the run (IdleTimeout for the
    last, as exit 124); `events`/`exclude`/`where`/`meta`/`exact` as for
    `replay`; for ws, `sends` (texts, or values sent as JSON) and for sio
    `emits` ((event, argument) pairs: a str is JSON text, as --emit takes,
    anything else is sent as JSON), `namespace`, `path`; for both `name`,
    `each`, `event_name`, `event_time`; then the connection's (`eio`,
    `headers`, `retries`...) and node's (`user`, `password_file`,
    `cookie_file`); `demo=True` taps the bundled sample served on
    127.0.0.1 (`speed` times as fast). Reconnects happen inside, as for the
    command (lifecycle envelopes with `meta=True`; else lines logged on
    the `wstail` logger). Runs in an event loop of its own, in a thread (it
    works in a notebook too); leaving the loop early closes the connection
    cleanly. Options are checked now (UsageError); it connects as you iterate.
    """
    live = atail(**locals())  # the same parameters, all of them: nothing else is bound yet
    return _in_a_loop(cast(_LiveEnvelopes, live))


def _in_a_loop(live: _LiveEnvelopes) -> Iterator[Envelope]:
    """A live run's envelopes through a private event loop in a thread, a list at a time."""
    batches = live._batches
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="wstail-tail", daemon=True)
    thread.start()

    def run(coroutine: Coroutine[Any, Any, T]) -> T:
        future = asyncio.run_coroutine_threadsafe(coroutine, loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()  # Ctrl-C while waiting: the step ends before the run is closed
            try:
                future.exception()
            except BaseException:  # noqa: BLE001 - cancelled, or the error raised below
                pass
            raise

    try:
        while True:
            try:
                batch = run(anext(batches))
            except StopAsyncIteration:
                return
            yield from batch
    finally:
        try:
            run(batches.aclose())
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
            loop.close()


# -- captures, frame by frame ---------------------------------------------------------------


def capture_header(path: str) -> CaptureHeader:
    """A capture's header (its first line): source, start, first_seq, url, protocol, extra."""
    from wstail.inputs import display_name, open_input

    handle = open_input(path)
    try:
        return _header(path, handle.readline())
    except (OSError, EOFError) as exc:
        raise BadInputError(f"cannot read {display_name(path)}: {exc}") from None
    finally:
        handle.close()


def _header(path: str, line: bytes) -> CaptureHeader:
    from wstail.inputs import display_name

    try:
        first = loads_exact(line.strip() or b"null")
    except ValueError:
        first = None
    if not is_header(first):
        raise BadInputError(f"{display_name(path)}:1: not a wstail capture (made by wstail record)")
    try:
        return decode_header(first)
    except CaptureError as exc:
        raise BadInputError(f"{display_name(path)}:1: {exc}") from None


def capture_frames(path: str) -> Iterator[Frame]:
    """A capture's frames as received, before any normalization (for your own).

    Each Frame has `recv_us` (µs since the epoch), `kind` ("sio", "text",
    "binary", "meta"), `payload` (the exact text received; bytes for
    binary), `channel` (the Socket.IO namespace) and `data` (a binary
    event's attachments, a lifecycle event's details). A next part's header
    (files joined with cat) is read and passed over. A bad line raises
    BadInputError naming FILE:LINE, as replay reports it.
    """
    from wstail.inputs import CorruptStream, display_name, open_input

    handle = open_input(path)
    lineno = 1
    try:
        start_us = _header(path, handle.readline()).start_us
        for lineno, line in enumerate(handle, 2):  # noqa: B007
            if not line.strip():
                continue
            try:
                yield decode_frame(line, start_us)
            except CaptureError as exc:
                try:
                    start_us = _header(path, line).start_us
                except BadInputError:
                    raise BadInputError(f"{display_name(path)}:{lineno}: {exc}") from None
    except (EOFError, CorruptStream, OSError) as exc:
        reason = str(exc) or "compressed stream is truncated"
        raise BadInputError(f"{display_name(path)}:{lineno + 1}: {reason}") from None
    finally:
        handle.close()
