"""The stream and replay's rules, fed values: numbering, counting, stopping, pacing, output."""

from __future__ import annotations

import io
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import make_stream
from wstail.envelope import format_new_us, format_us
from wstail.exitcodes import UsageError
from wstail.frames import Frame, meta_frame
from wstail.jsonexact import loads_exact
from wstail.normalize import normalize_frame
from wstail.pipeline import Stream, StreamDone
from wstail.replaying import Bound, Window
from wstail.sinks import OutputWriter
from wstail.terminal import RESET, Terminal, colorize

START = 1_795_428_000_000_000


def trades(recv_us: int, *prices: int) -> Frame:
    """A /public frame carrying one trade per price."""
    items = ",".join(f'{{"price":"{p}","traded_btc":"1","currency":"EUR"}}' for p in prices)
    return Frame(
        recv_us=recv_us, kind="sio", channel="/public", payload=f'["stream",{{"trades":[{items}]}}]'
    )


def ticker(recv_us: int) -> Frame:
    """A /public frame carrying one ticker."""
    return Frame(
        recv_us=recv_us,
        kind="sio",
        channel="/public",
        payload='["stream",{"ticker":{"price":"5"}}]',
    )


FRAMES = [
    meta_frame(START, "meta.connected", url="https://example.test"),
    trades(START + 1, 1, 2),
    ticker(START + 2),
    meta_frame(START + 3, "meta.disconnected", reason="closed"),
    trades(START + 4, 3),
]


def feed(stream: Stream, frames: list[Frame]) -> bool:
    """Feed frames until the stream says it is done; whether it did."""
    try:
        for frame in frames:
            feed_one(stream, frame)
    except StreamDone:
        stream.close()
        return True
    stream.flush()
    return False


def feed_one(stream: Stream, frame: Frame) -> None:
    """One frame through its normalizer into the stream, as live.pump and replay do."""
    stream.feed(normalize_frame(frame, "paymium.public"), frame.recv_us, frame.payload)
    stream.end_batch()


def records(out: io.BytesIO) -> list[Any]:
    """The NDJSON records written so far."""
    return [loads_exact(line) for line in out.getvalue().splitlines()]


def seqs_and_events(out: io.BytesIO) -> list[tuple[int, str]]:
    """(seq, event) of every record written."""
    return [(r["seq"], r["event"]) for r in records(out)]


def test_seq_counts_meta_envelopes_before_filtering() -> None:
    """Lifecycle envelopes take sequence numbers whether or not they are printed."""
    stream, out = make_stream(meta=True)
    feed(stream, FRAMES)
    assert seqs_and_events(out) == [
        (1, "meta.connected"),
        (2, "trade"),
        (3, "trade"),
        (4, "ticker"),
        (5, "meta.disconnected"),
        (6, "trade"),
    ]
    stream, out = make_stream()
    feed(stream, FRAMES)
    assert seqs_and_events(out) == [(2, "trade"), (3, "trade"), (4, "ticker"), (6, "trade")]


def test_filters_never_renumber() -> None:
    """A data envelope keeps its seq whatever -e/-x/-f drop around it."""
    stream, out = make_stream(events=["trade"], filters=["data.price != `2`"])
    feed(stream, FRAMES)
    assert seqs_and_events(out) == [(2, "trade"), (6, "trade")]
    stream, out = make_stream(excludes=["tr*"])
    feed(stream, FRAMES)
    assert seqs_and_events(out) == [(4, "ticker")]


def test_count_counts_only_data_envelopes() -> None:
    """-n N stops after N data envelopes passed; printed meta envelopes do not count."""
    stream, out = make_stream(count=3, meta=True)
    assert feed(stream, FRAMES)
    assert seqs_and_events(out) == [
        (1, "meta.connected"),
        (2, "trade"),
        (3, "trade"),
        (4, "ticker"),
    ]
    assert stream.passed == 3


def test_count_stops_inside_a_frame() -> None:
    """-n stops right after its last envelope, even in the middle of a frame's items."""
    stream, out = make_stream(count=2)
    assert feed(stream, [trades(START, 1, 2, 3), trades(START + 1, 4)])
    assert [r["data"]["price"] for r in records(out)] == [1, 2]
    assert (stream.passed, stream.next_seq) == (2, 3)


def test_count_counts_envelopes_that_passed_the_filters() -> None:
    """-n counts what passed -e, not what arrived."""
    stream, out = make_stream(count=2, events=["trade"])
    assert feed(stream, FRAMES)
    assert seqs_and_events(out) == [(2, "trade"), (3, "trade")]


def test_until_stops_right_after_the_matching_envelope() -> None:
    """--until prints the matching envelope, then stops before the next one of the same frame."""
    stream, out = make_stream(until="data.price == `2`")
    assert feed(stream, [trades(START, 1, 2, 3), trades(START + 1, 4)])
    assert [r["data"]["price"] for r in records(out)] == [1, 2]
    assert stream.next_seq == 3  # nothing after the match was even numbered


def test_until_is_checked_after_the_filters() -> None:
    """An envelope that --until matches but -e drops does not stop the stream."""
    stream, out = make_stream(events=["ticker"], until="data.price == `1`")
    assert not feed(stream, FRAMES)
    assert seqs_and_events(out) == [(4, "ticker")]


def test_meta_envelopes_take_the_filters_and_query() -> None:
    """With --meta, lifecycle envelopes pass -e/-x/-f and -q like any other envelope."""
    stream, out = make_stream(meta=True, events=["ticker"], query="data.price")
    feed(stream, FRAMES)
    assert records(out) == [5]
    stream, out = make_stream(meta=True, events=["ticker", "meta.*"], query="[event, data.price]")
    feed(stream, FRAMES)
    assert records(out) == [["meta.connected", None], ["ticker", 5], ["meta.disconnected", None]]
    stream, out = make_stream(meta=True, excludes=["meta.*"])
    feed(stream, FRAMES)
    assert seqs_and_events(out) == [(2, "trade"), (3, "trade"), (4, "ticker"), (6, "trade")]
    stream, out = make_stream(meta=True, filters=["data.reason"])
    feed(stream, FRAMES)
    assert seqs_and_events(out) == [(5, "meta.disconnected")]


def test_meta_envelopes_that_pass_are_never_counted() -> None:
    """-n, --until and --stats count data envelopes only, whatever lifecycle ones pass."""
    stream, out = make_stream(meta=True, events=["meta.*"], count=1)
    assert not feed(stream, FRAMES)
    assert seqs_and_events(out) == [(1, "meta.connected"), (5, "meta.disconnected")]
    assert (stream.passed, stream.counts) == (0, {})
    stream, out = make_stream(meta=True, until="event == 'meta.connected'")
    assert not feed(stream, FRAMES)
    assert len(records(out)) == 6


def test_query_and_raw_output() -> None:
    """-q prints the JMESPath result; -r prints string results unquoted."""
    stream, out = make_stream(query="[event, source]")
    feed(stream, FRAMES[1:2])
    assert out.getvalue() == b'["trade","paymium.public"]\n' * 2
    stream, out = make_stream(query="source", raw_output=True)
    feed(stream, FRAMES[2:3])
    assert out.getvalue() == b"paymium.public\n"


def test_raw_prints_a_frame_once_and_counts_envelopes() -> None:
    """--raw prints a frame once if any of its envelopes passes; -n still counts envelopes."""
    stream, out = make_stream(raw=True, count=2)
    assert feed(stream, FRAMES)
    assert out.getvalue() == FRAMES[1].payload.encode() + b"\n"  # type: ignore[union-attr]
    assert stream.passed == 2


def test_window_numbers_everything_and_sends_on_what_is_inside() -> None:
    """The stream's window drops envelopes by seq without renumbering the rest."""
    stream, out = make_stream(meta=True, window=lambda seq, recv_us: 3 <= seq < 6)
    for frame in FRAMES:
        feed_one(stream, frame)
    assert seqs_and_events(out) == [(3, "trade"), (4, "ticker"), (5, "meta.disconnected")]
    assert stream.next_seq == 7


def test_seq_option_frames_records_as_rfc7464() -> None:
    """--seq puts RS before and LF after every record."""
    stream, out = make_stream(seq=True)
    feed(stream, FRAMES[1:3])
    chunks = out.getvalue().split(b"\x1e")
    assert chunks[0] == b""
    assert len(chunks) == 4
    assert all(chunk.endswith(b"}\n") and chunk.count(b"\n") == 1 for chunk in chunks[1:])


def test_writer_in_blocks_holds_records_until_flushed() -> None:
    """A block writer hands records over at flush (or 64 KiB), a batch writer per frame."""
    out = io.BytesIO()
    writer = OutputWriter(out, block=True)
    writer.write_many([b"{}"])
    writer.end_batch()
    assert out.getvalue() == b""
    writer.flush()
    assert out.getvalue() == b"{}\n"
    writer.write_many([b"x" * 70_000])
    assert len(out.getvalue()) == 3 + 70_001


def test_stream_hands_short_records_over_a_few_hundred_at_a_time() -> None:
    """Short records (-q) go to the writer every 256: orjson's bytes hold 4 KiB each."""

    class Lists:
        """A writer that keeps the size of every list it is handed."""

        def __init__(self) -> None:
            self.sizes: list[int] = []
            self.records: list[bytes] = []

        def write_many(self, records: list[bytes]) -> None:
            """Keep the list's size and its records."""
            self.sizes.append(len(records))
            self.records += records

        def end_batch(self) -> None:
            """Nothing to do."""

        def flush(self) -> None:
            """Nothing to do."""

    stream, _ = make_stream(query="data.price")
    writer = stream.writer = Lists()
    for number in range(2_000):
        stream.feed([("paymium.public", "trade", None, {"price": number})], START)
    stream.close()
    assert max(writer.sizes) <= 256  # 10 KiB in all: size alone would hold every one
    assert writer.records == [b"%d" % number for number in range(2_000)]


@pytest.mark.parametrize(
    ("text", "bound"),
    [
        ("seq:5", Bound("seq", 5)),
        ("seq:0", Bound("seq", 0)),
        ("2026-11-23T10:00:00Z", Bound("time", START)),
        ("2026-11-23T11:00:00.5+01:00", Bound("time", START + 500_000)),
        ("2026-11-23 10:00:00.000001Z", Bound("time", START + 1)),
        ("2026-11-23", Bound("time", START - 10 * 3600 * 1_000_000)),
        ("2026-11-23T10:00:00", Bound("time", START)),
        ("2026-11-23T10:00", Bound("time", START)),
        ("2026-11-23 10:00:00.25", Bound("time", START + 250_000)),
        ("+90s", Bound("offset", 90_000_000)),
        ("+1h30m", Bound("offset", 5_400_000_000)),
        ("+2d", Bound("offset", 172_800_000_000)),
        ("+1.5s", Bound("offset", 1_500_000)),
        ("+0s", Bound("offset", 0)),
    ],
)
def test_bound_parses_times_and_seq(text: str, bound: Bound) -> None:
    """--from/--to take seq:N, a time (a date or no offset: UTC) or +DURATION."""
    assert Bound.parse(text, "--from") == bound


@pytest.mark.parametrize(
    "text",
    [
        "seq:",
        "seq:-1",
        "seq:x",
        "seq:١",
        "yesterday",
        "2026-11-23T10",
        "2026-11-23T25:00:00",
        "2026-13-01",
        "20261123",
        "+",
        "+90",
        "+1x",
        "+-1s",
        "+1.s",
        "",
    ],
)
def test_bad_bounds_are_usage_errors(text: str) -> None:
    """Anything else is a usage error naming the option."""
    with pytest.raises(UsageError, match="--to"):
        Bound.parse(text, "--to")


def test_window_is_from_inclusive_to_exclusive() -> None:
    """--from keeps its own bound, --to drops it; bounds can mix seq and time."""
    window = Window(Bound("seq", 2), Bound("time", START + 10))
    assert window.active
    assert [seq for seq in range(5) if window.contains(seq, START)] == [2, 3, 4]
    assert window.contains(2, START + 9)
    assert not window.contains(2, START + 10)
    assert not Window(None, None).active


def test_offset_bounds_wait_for_the_start() -> None:
    """+DURATION bounds become times after the anchored start, or the first receive time."""
    anchored = Window(Bound("offset", 5), Bound("offset", 10))
    anchored.anchor(START)
    anchored.anchor(START + 100)  # a later capture's start changes nothing
    assert [us for us in range(START, START + 12) if anchored.contains(1, us)] == [
        START + n for n in range(5, 10)
    ]
    first_seen = Window(Bound("offset", 5), None)
    assert not first_seen.contains(1, START)
    assert first_seen.contains(2, START + 5)


def test_from_later_than_to_is_a_usage_error() -> None:
    """Bounds of one kind out of order are refused; a time and an offset once anchored."""
    with pytest.raises(UsageError, match="--from seq:10 is later than --to seq:5"):
        Window(Bound.parse("seq:10", "--from"), Bound.parse("seq:5", "--to"))
    with pytest.raises(UsageError, match=r"--from \+2s is later than --to \+1s"):
        Window(Bound.parse("+2s", "--from"), Bound.parse("+1s", "--to"))
    mixed = Window(Bound.parse("+2s", "--from"), Bound("time", START + 1_000_000, "T"))
    with pytest.raises(UsageError, match=r"--from \+2s is later than --to T"):
        mixed.anchor(START)
    Window(Bound.parse("seq:5", "--from"), Bound.parse("seq:5", "--to"))  # empty, not wrong


def test_terminal_decides_once_from_options_tty_and_environment() -> None:
    """Pretty and colour on a terminal; NO_COLOR and TERM=dumb turn auto colour off."""
    tty = Terminal.detect(None, "auto", stdout_isatty=True, environ={})
    assert (tty.pretty, tty.color) == (True, True)
    pipe = Terminal.detect(None, "auto", stdout_isatty=False, environ={})
    assert (pipe.pretty, pipe.color) == (False, False)
    assert not Terminal.detect(None, "auto", stdout_isatty=True, environ={"NO_COLOR": "1"}).color
    assert not Terminal.detect(None, "auto", stdout_isatty=True, environ={"TERM": "dumb"}).color
    assert Terminal.detect(None, "auto", stdout_isatty=True, environ={"NO_COLOR": ""}).color
    assert Terminal.detect(None, "always", stdout_isatty=False, environ={"NO_COLOR": "1"}).color
    assert not Terminal.detect(None, "never", stdout_isatty=True, environ={}).color
    assert Terminal.detect(True, "auto", stdout_isatty=False, environ={}).pretty
    assert not Terminal.detect(False, "auto", stdout_isatty=True, environ={}).pretty


def test_colorize_only_adds_escapes() -> None:
    """Colour wraps tokens in ANSI escapes and changes nothing else."""
    text = '{"event": "a\\"b", "n": -1.5e3, "ok": true, "none": null, "k:": "x"}'
    coloured = colorize(text)
    assert RESET in coloured
    stripped = coloured
    for code in ("\x1b[34;1m", "\x1b[32m", "\x1b[39m", "\x1b[1;30m", "\x1b[33;1m", RESET):
        stripped = stripped.replace(code, "")
    assert stripped == text
    assert '\x1b[33;1m"a\\"b"' in coloured  # the event name stands out


def test_frames_of_many_envelopes_lose_none_across_hand_overs() -> None:
    """Every envelope of frames holding several reaches the writer, across its every-256
    hand-overs in the middle of a frame."""
    stream, out = make_stream()
    for number in range(1_000):
        items = [
            ("paymium.public", "depth", None, {"n": number, "level": level}) for level in range(3)
        ]
        stream.feed(items, START + number)
    stream.close()
    records = [loads_exact(line) for line in out.getvalue().splitlines()]
    assert [record["seq"] for record in records] == list(range(1, 3_001))
    assert stream.passed == 3_000


@given(st.integers(min_value=0, max_value=253402300799_999999))
def test_receive_times_are_written_as_every_other_time(us: int) -> None:
    """The uncached writer of receive times gives format_us's text, digit for digit."""
    assert format_new_us(us) == format_us(us)


def test_frames_of_one_read_share_their_receive_time_text() -> None:
    """Frames received at the same time (one socket read) carry the same recv_ts."""
    stream, out = make_stream()
    items = [("paymium.public", "trade", None, {"n": 1})]
    stream.feed_frames([(items, START, None), (items, START, None), (items, START + 1, None)])
    stream.close()
    times = [loads_exact(line)["recv_ts"] for line in out.getvalue().splitlines()]
    assert times == [format_us(START), format_us(START), format_us(START + 1)]
