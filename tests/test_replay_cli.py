"""`wstail replay` end to end: every STREAM and REPLAY option, every input, every failure.

Most runs go through the real command line in-process (`wstail` fixture:
Click's CliRunner isolation around `main.run`, so exit codes are mapped as
in a shell); a few run the installed console script in a subprocess.
"""

from __future__ import annotations

import fnmatch
import gzip
import os
import pty
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
import zstandard
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import DATA, SAMPLE, Result, Wstail
from helpers.timeouts import scaled
from wstail.envelope import make_envelope, serialize
from wstail.fastpaths import BLOCK_SIZE_VARIABLE, SHORT_WAYS_VARIABLE
from wstail.jsonexact import ExactNumber, loads_exact

RS = b"\x1e"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
# The console script of the environment running the tests.
WSTAIL = Path(sys.executable).with_name("wstail")
NODE = DATA / "node.jsonl"
TIMEOUT = scaled(60)
GAPS = DATA / "gaps.jsonl"  # trades at 0.001 s, 3600 s, 3599 s (back in time), 3600.5 s

# The sample capture as (seq, event): seq 1 is the meta.connected lifecycle envelope.
SAMPLE_EVENTS = [
    (1, "meta.connected"),
    (2, "ticker"),
    (3, "trade"),
    (4, "depth"),
    (5, "depth"),
    (6, "depth"),
    (7, "prices"),
    (8, "trade"),
    (9, "trade"),
    (10, "ticker"),
    (11, "trade"),
    (12, "depth"),
    (13, "announcement"),
]
DATA_SEQS = [seq for seq, event in SAMPLE_EVENTS if not event.startswith("meta.")]


def seqs(result: Result) -> list[int]:
    """The seq of every envelope printed."""
    return [record["seq"] for record in result.records]


def ok(result: Result) -> Result:
    """Assert a clean run: exit 0, nothing on stderr."""
    assert (result.code, result.stderr) == (0, "")
    return result


@pytest.fixture(scope="module")
def full_output() -> bytes:
    """The sample capture replayed with --meta: wstail's own NDJSON, every envelope."""
    result = subprocess.run(
        [WSTAIL, "replay", "--meta", SAMPLE], capture_output=True, check=True, timeout=TIMEOUT
    )
    return result.stdout


@pytest.fixture
def plain_output(full_output: bytes) -> bytes:
    """The sample's default output (no lifecycle envelopes)."""
    return b"".join(line + b"\n" for line in full_output.splitlines() if b'"meta.' not in line)


@pytest.fixture(params=["capture", "ndjson"])
def source(request: pytest.FixtureRequest, tmp_path: Path, full_output: bytes) -> Path:
    """The sample as a capture, and as wstail's own NDJSON output: replay reads both alike."""
    if request.param == "capture":
        return SAMPLE
    path = tmp_path / "sample.ndjson"
    path.write_bytes(full_output)
    return path


# ---------------------------------------------------------------- inputs


def test_replays_a_capture(wstail: Wstail, plain_output: bytes) -> None:
    """A capture replays to its envelopes with the recorded seq numbers, meta ones held back."""
    result = ok(wstail("replay", SAMPLE))
    assert result.stdout == plain_output
    assert seqs(result) == DATA_SEQS
    first = result.records[0]
    assert list(first) == ["seq", "recv_ts", "source", "event", "event_ts", "data"]
    assert first["recv_ts"] == "2026-11-23T10:00:00.250000Z"


def test_replays_its_own_ndjson(wstail: Wstail, tmp_path: Path, full_output: bytes) -> None:
    """wstail's own NDJSON output replays to itself, byte for byte."""
    path = tmp_path / "out.jsonl"
    path.write_bytes(full_output)
    assert ok(wstail("replay", "--meta", path)).stdout == full_output


def test_replays_a_node_capture(wstail: Wstail) -> None:
    """Node captures (text and binary frames) replay too, bad frames as meta.bad_frame."""
    result = ok(wstail("replay", "--meta", NODE))
    assert [record["event"] for record in result.records] == [
        "meta.connected",
        "status",
        "wallet.balance",
        "wallet.balance",
        "status",
        "notification.orderDeclined",
        "meta.bad_frame",
        "meta.bad_frame",
    ]


@pytest.mark.parametrize("args", [["-"], []], ids=["dash", "no-file"])
def test_reads_stdin(wstail: Wstail, args: list[str], plain_output: bytes) -> None:
    """FILE '-', or no FILE at all, reads stdin."""
    assert ok(wstail("replay", *args, input=SAMPLE.read_bytes())).stdout == plain_output


def compress(kind: str, data: bytes) -> bytes:
    """`data` gzip- or zstd-compressed."""
    if kind == "gz":
        return gzip.compress(data)
    return zstandard.ZstdCompressor().compress(data)


@pytest.mark.parametrize("kind", ["gz", "zst"])
@pytest.mark.parametrize("content", ["capture", "ndjson"])
def test_reads_compressed_files_and_stdin(
    wstail: Wstail, tmp_path: Path, kind: str, content: str, full_output: bytes
) -> None:
    """.gz and .zst files, and compressed stdin, are decompressed (detected by magic bytes)."""
    data = SAMPLE.read_bytes() if content == "capture" else full_output
    packed = compress(kind, data)
    path = tmp_path / f"cap.jsonl.{kind}"
    path.write_bytes(packed)
    expected = ok(wstail("replay", "--meta", SAMPLE)).stdout
    assert ok(wstail("replay", "--meta", path)).stdout == expected
    assert ok(wstail("replay", "--meta", "-", input=packed)).stdout == expected
    misnamed = tmp_path / "cap.jsonl"
    misnamed.write_bytes(packed)
    assert ok(wstail("replay", "--meta", misnamed)).stdout == expected


def test_reads_multi_member_and_multi_frame_files(wstail: Wstail, tmp_path: Path) -> None:
    """Concatenated gzip members and zstd frames read as one stream."""
    data = SAMPLE.read_bytes()
    expected = ok(wstail("replay", SAMPLE)).stdout
    for kind in ("gz", "zst"):
        head, tail = data.split(b"\n", 3)[:3], data.split(b"\n", 3)[3]
        path = tmp_path / f"parts.{kind}"
        path.write_bytes(compress(kind, b"\n".join(head) + b"\n") + compress(kind, tail))
        assert ok(wstail("replay", path)).stdout == expected


def test_reads_files_in_turn(wstail: Wstail, plain_output: bytes) -> None:
    """Several FILEs replay one after the other, each capture keeping its own numbers."""
    result = ok(wstail("replay", SAMPLE, NODE, SAMPLE))
    assert result.stdout.startswith(plain_output)
    assert result.stdout.endswith(plain_output)
    assert seqs(result)[len(DATA_SEQS) : -len(DATA_SEQS)] == [2, 3, 4, 5, 6]


def test_rotated_parts_continue_numbering(wstail: Wstail, tmp_path: Path) -> None:
    """A capture header's first_seq starts its numbering (rotated files continue)."""
    text = SAMPLE.read_text().replace('"first_seq":1', '"first_seq":101', 1)
    part = tmp_path / "part2.jsonl"
    part.write_text(text)
    assert seqs(ok(wstail("replay", part))) == [seq + 100 for seq in DATA_SEQS]


def test_concatenated_parts_keep_their_own_times(wstail: Wstail) -> None:
    """`cat part1.gz part2.gz | wstail replay -`: each part's header restarts times and seq."""
    part2 = (
        SAMPLE.read_text()
        .replace('"first_seq":1', '"first_seq":14', 1)
        .replace('"start":"2026-11-23T10:', '"start":"2026-11-23T11:', 1)
    )
    stream = gzip.compress(SAMPLE.read_bytes()) + gzip.compress(part2.encode())
    query = ["-q", "[seq, recv_ts]"]
    first = ok(wstail("replay", SAMPLE, *query)).records
    second = [[seq + 13, ts.replace("T10:", "T11:")] for seq, ts in first]
    assert ok(wstail("replay", "-", *query, input=stream)).records == first + second
    bad = part2.replace('"wstail_capture":1', '"wstail_capture":9', 1)
    refused = wstail("replay", "-", input=SAMPLE.read_bytes() + bad.encode())
    assert refused.code == 4
    assert bad_lines(refused.stderr) == [
        "<stdin>:12: capture format version 9 is not supported (this reads 1)"
    ]


def test_seq_output_replays(wstail: Wstail, tmp_path: Path, plain_output: bytes) -> None:
    """RFC 7464 input (--seq output) is read back like NDJSON."""
    framed = ok(wstail("replay", "--seq", SAMPLE)).stdout
    path = tmp_path / "seq.json-seq"
    path.write_bytes(framed)
    assert ok(wstail("replay", path)).stdout == plain_output
    assert ok(wstail("replay", "--seq", path)).stdout == framed


def test_crlf_and_blank_lines_are_fine(wstail: Wstail, tmp_path: Path) -> None:
    """Windows line endings and blank lines are not errors."""
    path = tmp_path / "crlf.jsonl"
    path.write_bytes(b"\r\n\r\n" + SAMPLE.read_bytes().replace(b"\n", b"\r\n\r\n"))
    assert ok(wstail("replay", path)).stdout == ok(wstail("replay", SAMPLE)).stdout


# ---------------------------------------------------------------- STREAM options


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["-e", "trade"], [3, 8, 9, 11]),
        (["--event", "t*"], [2, 3, 8, 9, 10, 11]),
        (["-e", "trade", "-e", "ticker"], [2, 3, 8, 9, 10, 11]),
        (["-e", "[pa]*"], [7, 13]),
        (["-x", "depth"], [2, 3, 7, 8, 9, 10, 11, 13]),
        (["--exclude", "t*", "-x", "depth"], [7, 13]),
        (["-e", "t*", "-x", "ticker"], [3, 8, 9, 11]),
        (["-f", "data.price > `76400`"], [8, 9, 10]),
        (["--filter", "event == 'trade'", "-f", "data.price > `76400`"], [8, 9]),
        (["-f", "event == 'trade'", "-f", "data.price > `1000000`"], []),
        (["-e", "trade", "-f", "data.price < `1000`"], [11]),
        (["-n", "3"], [2, 3, 4]),
        (["--count", "2", "-e", "trade"], [3, 8]),
        (["-n", "100"], DATA_SEQS),
        (["--until", "event == 'prices'"], [2, 3, 4, 5, 6, 7]),
        (["--until", "data.price > `76400`", "-e", "trade"], [3, 8]),
        (["--until", "event == 'nothing'"], DATA_SEQS),
        (["-n", "2", "--until", "event == 'prices'"], [2, 3]),
        (["--meta"], [seq for seq, _ in SAMPLE_EVENTS]),
        (["--meta", "-e", "trade"], [3, 8, 9, 11]),
        (["--meta", "-e", "trade,meta.*"], [1, 3, 8, 9, 11]),
        (["--meta", "-x", "meta.*"], DATA_SEQS),
        (["--meta", "-e", "meta.connected"], [1]),
        (["--meta", "-f", "event == 'meta.connected'"], [1]),
        (["--meta", "-f", "starts_with(event, 'meta.')", "-n", "1"], [1]),
        (["-e", "meta.connected"], []),
        (["--meta", "-n", "1"], [1, 2]),
        (["--duration", "100"], DATA_SEQS),
    ],
)
def test_stream_options_select_envelopes(
    wstail: Wstail, source: Path, args: list[str], expected: list[int]
) -> None:
    """-e/-x globs, -f (all must hold), -n, --until, --meta pick alike from any input."""
    assert seqs(ok(wstail("replay", source, *args))) == expected


def test_query_prints_results(wstail: Wstail, source: Path) -> None:
    """-q prints the JMESPath result of each envelope instead of the envelope."""
    result = ok(wstail("replay", source, "-e", "trade", "-q", "[seq, data.price]"))
    assert result.stdout == b"[3,76398.11]\n[8,76401.0]\n[9,76405.12]\n[11,201.28]\n"
    strings = ok(wstail("replay", source, "-e", "ticker", "-q", "data.currency"))
    assert strings.stdout == b'"EUR"\n"EUR"\n'


def test_raw_output_prints_strings_unquoted(wstail: Wstail, source: Path) -> None:
    """-r prints string results bare, other results as JSON."""
    result = ok(wstail("replay", source, "-e", "t*", "-r", "-q", "[event][0]"))
    assert result.stdout == b"ticker\ntrade\ntrade\ntrade\nticker\ntrade\n"
    mixed = ok(wstail("replay", source, "-n", "2", "--raw-output", "-q", "seq"))
    assert mixed.stdout == b"2\n3\n"


def test_raw_prints_frames_as_received(wstail: Wstail) -> None:
    """--raw prints each frame's text once, even when it gives several envelopes."""
    result = ok(wstail("replay", "--raw", SAMPLE))
    lines = result.stdout.splitlines()
    assert len(lines) == 9  # 12 data envelopes from 9 frames
    assert lines[0].startswith(b'["stream",{"ticker":{"high":"77990.00"')
    filtered = ok(wstail("replay", "--raw", "-e", "depth", "-n", "2", SAMPLE))
    assert filtered.stdout.splitlines() == [lines[2], lines[3]]  # asks, then bids (2 depths)


def test_raw_node_frames(wstail: Wstail) -> None:
    """--raw prints node text frames and UTF-8 binary frames as text."""
    lines = ok(wstail("replay", "--raw", "-e", "status", NODE)).stdout.splitlines()
    assert lines == [b'{"status":"publishing"}', b'{"status":"online"}']


def test_seq_frames_every_record_with_rs(wstail: Wstail, plain_output: bytes) -> None:
    """--seq writes RFC 7464 text sequences: RS before each record, LF after."""
    framed = ok(wstail("replay", "--seq", SAMPLE)).stdout
    assert framed == b"".join(RS + line + b"\n" for line in plain_output.splitlines())
    query = ok(wstail("replay", "--seq", "-q", "event", "-n", "2", SAMPLE)).stdout
    assert query == b'\x1e"ticker"\n\x1e"trade"\n'


def test_pretty_and_compact(wstail: Wstail, source: Path, plain_output: bytes) -> None:
    """--pretty indents (same values), --compact is one line per envelope (the pipe default)."""
    pretty = ok(wstail("replay", "--pretty", source, "-n", "1")).stdout
    assert pretty.startswith(b'{\n  "seq": 2,\n  "recv_ts": "2026-11-23T10:00:00.250000Z",')
    assert loads_exact(pretty) == loads_exact(plain_output.splitlines()[0])
    assert ok(wstail("replay", "--compact", source)).stdout == plain_output
    query = ok(wstail("replay", "--pretty", source, "-n", "1", "-q", "[seq]")).stdout
    assert query == b"[\n  2\n]\n"


def test_pretty_keeps_every_digit(wstail: Wstail, tmp_path: Path) -> None:
    """Pretty and coloured output print exact numbers as received."""
    envelope = make_envelope(
        1, 1, "node", "x", None, {"n": ExactNumber("0.123456789012345678901"), "i": 10**30}
    )
    path = tmp_path / "exact.jsonl"
    path.write_bytes(serialize(envelope) + b"\n")
    for args in (["--pretty"], ["--color", "always"], ["-q", "data"]):
        out = ok(wstail("replay", path, *args)).stdout.decode()
        assert "0.123456789012345678901" in out
        assert "1" + "0" * 30 in out


@pytest.mark.parametrize(
    ("args", "env", "coloured"),
    [
        (["--color", "always"], {}, True),
        (["--color", "always", "--pretty"], {}, True),
        (["--color", "always"], {"NO_COLOR": "1"}, True),
        (["--color", "never"], {}, False),
        (["--color", "always", "--no-color"], {}, False),
        (["--no-color"], {}, False),
        (["--color", "auto"], {}, False),
        ([], {"NO_COLOR": "1"}, False),
    ],
)
def test_color(wstail: Wstail, args: list[str], env: dict[str, str | None], coloured: bool) -> None:
    """--color always colours even into a pipe; never, --no-color and auto (in a pipe) do not."""
    plain = ok(wstail("replay", SAMPLE, *[a for a in args if a == "--pretty"])).stdout
    out = ok(wstail("replay", SAMPLE, *args, env=env)).stdout.decode()
    assert bool(ANSI.search(out)) is coloured
    assert ANSI.sub("", out).encode() == plain
    if coloured:
        assert '\x1b[33;1m"ticker"' in out


def test_no_color_on_a_terminal() -> None:
    """On a terminal output is pretty and coloured by default; NO_COLOR keeps it pretty, plain."""
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM")}

    def on_terminal(extra: dict[str, str]) -> str:
        """What `wstail replay SAMPLE -n 1` prints on a pseudo-terminal."""
        leader, follower = pty.openpty()
        proc = subprocess.Popen(
            [WSTAIL, "replay", SAMPLE, "-n", "1"],
            stdout=follower,
            stderr=subprocess.DEVNULL,
            env={**env, "TERM": "xterm", **extra},
        )
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the child closed its end
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert proc.wait(timeout=TIMEOUT) == 0
        os.close(leader)
        return b"".join(chunks).decode().replace("\r\n", "\n")

    coloured = on_terminal({})
    assert ANSI.search(coloured)
    assert ANSI.sub("", coloured).startswith('{\n  "seq": 2,')
    plain = on_terminal({"NO_COLOR": "1"})
    assert not ANSI.search(plain)
    assert plain == ANSI.sub("", coloured)


def test_stats_go_to_stderr_only(wstail: Wstail, plain_output: bytes) -> None:
    """--stats prints per-event counts on stderr; stdout is unchanged."""
    result = wstail("replay", "--stats", SAMPLE)
    assert result.code == 0
    assert result.stdout == plain_output
    counts = dict(line.split() for line in result.stderr.splitlines())
    assert counts == {
        "announcement": "1",
        "depth": "4",
        "prices": "1",
        "ticker": "2",
        "trade": "4",
        "total": "12",
    }
    filtered = wstail("replay", "--stats", "-e", "trade", "-n", "2", SAMPLE)
    assert filtered.stderr.split() == ["trade", "2", "total", "2"]


def test_meta_without_flag_stays_silent(wstail: Wstail) -> None:
    """Without --meta, replay neither prints lifecycle envelopes nor describes them on stderr."""
    result = ok(wstail("replay", NODE))
    assert b"meta." not in result.stdout


# ---------------------------------------------------------------- REPLAY options


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--from", "seq:8"], [8, 9, 10, 11, 12, 13]),
        (["--to", "seq:4"], [2, 3]),
        (["--from", "seq:4", "--to", "seq:7"], [4, 5, 6]),
        (["--from", "seq:5", "--to", "seq:5"], []),
        (["--from", "2026-11-23T10:00:01Z", "--to", "2026-11-23T10:00:02.25Z"], [4, 5, 6, 7]),
        (["--from", "2026-11-23T11:00:02.25+01:00"], [8, 9, 10, 11, 12, 13]),
        (["--from", "2026-11-23T10:00:02.250001Z"], [11, 12, 13]),
        (["--to", "2026-11-23 10:00:00.650000Z"], [2]),
        (["--from", "seq:3", "--to", "2026-11-23T10:00:01.45Z"], [3, 4]),
        (["--from", "2027-01-01T00:00:00Z"], []),
        (["--from", "seq:1", "--meta", "--to", "seq:3"], [1, 2]),
        (["--from", "seq:4", "-e", "trade", "-n", "2"], [8, 9]),
        (["--from", "2026-11-23", "--to", "2026-11-23T10:00:01"], [2, 3]),
        (["--from", "2026-11-23 10:00:01.45", "--to", "+2s"], [5, 6, 7]),
        (["--from", "+1s", "--to", "+2s"], [4, 5, 6, 7]),
        (["--to", "+0.7s"], [2, 3]),
        (["--from", "+1h30m"], []),
        (["--from", "2026-11-24"], []),
        (["--to", "2026-11-23"], []),
    ],
)
def test_from_to_select_by_time_or_seq(
    wstail: Wstail, source: Path, args: list[str], expected: list[int]
) -> None:
    """--from (inclusive) and --to (exclusive) select by receive time or seq, from any input."""
    assert seqs(ok(wstail("replay", source, *args))) == expected


def test_duration_bounds_count_from_the_capture_start_or_the_first_envelope(
    wstail: Wstail, tmp_path: Path, full_output: bytes
) -> None:
    """+DURATION is after the first capture's header start (10:00:00.000000), or for NDJSON
    after its first envelope's recv_ts (here meta.connected, at 10:00:00.001200)."""
    assert seqs(ok(wstail("replay", SAMPLE, "--from", "+2.25s"))) == [8, 9, 10, 11, 12, 13]
    path = tmp_path / "sample.ndjson"
    path.write_bytes(full_output)
    assert seqs(ok(wstail("replay", path, "--from", "+2.25s"))) == [11, 12, 13]
    later = tmp_path / "later.jsonl"
    later.write_bytes(
        SAMPLE.read_bytes().replace(b'"start":"2026-11-23T10', b'"start":"2026-11-23T11')
    )
    # two captures: the first one's start counts for both
    both = seqs(ok(wstail("replay", SAMPLE, later, "--from", "+3.7s", "--to", "+1h0m1s")))
    assert both == [13, 2, 3]


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--from", "seq:10", "--to", "seq:5"], "--from seq:10 is later than --to seq:5"),
        (
            ["--from", "2026-11-23T10:00:02Z", "--to", "2026-11-23 10:00:01"],
            "--from 2026-11-23T10:00:02Z is later than --to 2026-11-23 10:00:01",
        ),
        (["--from", "+2s", "--to", "+90ms"], "--to '+90ms': +DURATION is numbers with units"),
        (["--from", "+1m", "--to", "+59s"], "--from +1m is later than --to +59s"),
        (
            ["--from", "+3s", "--to", "2026-11-23T10:00:01Z"],
            "--from +3s is later than --to 2026-11-23T10:00:01Z",
        ),
    ],
)
def test_from_later_than_to_is_a_usage_error(
    wstail: Wstail, source: Path, args: list[str], named: str
) -> None:
    """--from after --to (both times, seqs or durations, or a duration once anchored): exit 2,
    one line naming both, nothing printed."""
    result = wstail("replay", source, *args)
    assert (result.code, result.stdout) == (2, b"")
    assert result.stderr.startswith(f"wstail: {named}")
    assert result.stderr.count("\n") == 1


def test_from_to_with_raw_prints_frames(wstail: Wstail) -> None:
    """--raw inside a --from/--to window still prints frames, not envelopes."""
    lines = ok(wstail("replay", "--raw", "--from", "seq:3", "--to", "seq:5", SAMPLE)).stdout
    assert lines.splitlines() == ok(wstail("replay", "--raw", SAMPLE)).stdout.splitlines()[1:3]


def test_speed_keeps_order_and_output(wstail: Wstail, source: Path) -> None:
    """--speed paces but prints exactly what an unpaced replay prints, in file order."""
    unpaced = ok(wstail("replay", source, "--meta")).stdout
    assert ok(wstail("replay", source, "--meta", "--speed", "1000")).stdout == unpaced


def test_max_gap_caps_recorded_gaps(wstail: Wstail) -> None:
    """--max-gap cuts an hour-long recorded gap (the run would otherwise take an hour)."""
    result = ok(wstail("replay", GAPS, "--speed", "1", "--max-gap", "0.001", "-q", "data.price"))
    assert result.stdout == b"1.0\n2.0\n3.0\n4.0\n"


@pytest.mark.parametrize("form", ["capture", "ndjson"])
def test_paced_replay_waits_for_nothing_outside_the_window(
    wstail: Wstail, tmp_path: Path, form: str
) -> None:
    """--speed with --from starts at the window: the hour recorded before it is not slept through.

    Without this the run would take an hour (the capture's first trade is
    at 0 s, the wanted one at 3600 s); --idle-timeout ends it at once instead.
    """
    source = GAPS
    if form == "ndjson":
        source = tmp_path / "gaps.ndjson"
        source.write_bytes(ok(wstail("replay", "--meta", GAPS)).stdout)
    result = wstail(
        "replay", source, "--speed", "1", "--from", "seq:3", "-n", "1", "--idle-timeout", "5",
        "-q", "data.price",
    )  # fmt: skip
    assert (result.code, result.stdout, result.stderr) == (0, b"2.0\n", "")


def test_idle_timeout_expires_while_pacing(wstail: Wstail) -> None:
    """With --speed, a recorded gap longer than --idle-timeout exits 124 after what came before."""
    result = wstail("replay", GAPS, "--speed", "1", "--idle-timeout", "0.5", "-q", "data.price")
    assert result.code == 124
    assert result.stdout == b"1.0\n"
    assert result.stderr == "wstail: no envelope passed the filters for 0.5s\n"


def test_idle_timeout_counts_only_envelopes_that_pass(wstail: Wstail) -> None:
    """An --idle-timeout run whose filters pass nothing exits 124, printing nothing."""
    result = wstail("replay", GAPS, "--speed", "1", "--idle-timeout", "0.05", "-e", "nothing")
    assert (result.code, result.stdout) == (124, b"")


def test_duration_ends_a_paced_replay(wstail: Wstail) -> None:
    """--duration exits 0 when its time is up, during a recorded gap."""
    result = wstail("replay", GAPS, "--speed", "1", "--duration", "0.05", "-q", "data.price")
    assert (result.code, result.stderr) == (0, "")
    assert result.stdout in (b"", b"1.0\n")


@pytest.mark.parametrize("speed", [[], ["--speed", "1"]], ids=["unpaced", "paced"])
def test_duration_zero_prints_nothing(wstail: Wstail, speed: list[str]) -> None:
    """--duration 0 is over before the first envelope, paced or not."""
    assert ok(wstail("replay", SAMPLE, "--duration", "0", *speed)).stdout == b""


# ---------------------------------------------------------------- replaying wstail's output

exact_numbers = st.one_of(
    st.from_regex(r"-?[1-9][0-9]{0,12}\.[0-9]{16,30}", fullmatch=True),
    st.from_regex(r"-?[1-9][0-9]{20,40}", fullmatch=True),
    st.from_regex(r"[1-9]\.[0-9]{1,9}e[-+][1-9][0-9]{3}", fullmatch=True),
).map(ExactNumber)
json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**40), max_value=10**40),
        st.floats(allow_nan=False, allow_infinity=False),
        exact_numbers,
        st.text(),
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)
events = st.one_of(
    st.sampled_from(["trade", "ticker", "meta.connected", "notification.payment", "unknown"]),
    st.text(min_size=1, max_size=12),
)


@st.composite
def envelopes(draw: st.DrawFn) -> dict[str, Any]:
    """Any envelope wstail could print: unicode, big integers, long decimals included."""
    recv_us = draw(st.integers(min_value=1, max_value=253402300799_999999))
    event_us = draw(st.none() | st.integers(min_value=1, max_value=253402300799_999999))
    return make_envelope(
        draw(st.integers(min_value=1, max_value=2**63 - 1)),
        recv_us,
        draw(st.sampled_from(["paymium.public", "paymium.user", "node"])),
        draw(events),
        event_us,
        draw(st.dictionaries(st.text(), json_values, max_size=5)),
    )


REPLAY_SETTINGS = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@REPLAY_SETTINGS
@given(batch=st.lists(envelopes(), min_size=1, max_size=8), data=st.data())
def test_replay_reproduces_its_own_output(
    wstail: Wstail, tmp_path: Path, batch: list[dict[str, Any]], data: st.DataObject
) -> None:
    """Replaying wstail's output prints it again byte for byte; -e keeps exactly its matches."""
    lines = [serialize(envelope) for envelope in batch]
    path = tmp_path / "own.jsonl"
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    assert ok(wstail("replay", "--meta", path)).stdout == path.read_bytes()

    framed = ok(wstail("replay", "--meta", "--seq", path)).stdout
    assert framed == b"".join(RS + line + b"\n" for line in lines)
    reread = tmp_path / "own.json-seq"
    reread.write_bytes(framed)
    assert ok(wstail("replay", "--meta", reread)).stdout == path.read_bytes()

    pattern = data.draw(st.sampled_from([envelope["event"] for envelope in batch]))
    # -e takes a comma list of globs (issue 13), blanks around each stripped.
    globs = [part.strip() for part in pattern.split(",")]
    wanted = [
        line + b"\n"
        for line, envelope in zip(lines, batch, strict=True)
        if any(fnmatch.fnmatchcase(envelope["event"], glob) for glob in globs)
        and not envelope["event"].startswith("meta.")
    ]
    selected = wstail("replay", "-e", pattern, path)
    assert selected.code == 0
    assert selected.stdout == b"".join(wanted)
    # A name no feed emits is warned about (issue 13): nothing else on stderr.
    # (split at newlines only: an event name may hold other line breaks)
    warnings = selected.stderr.split("\n")
    assert warnings[-1] == ""
    assert all(line.startswith("wstail: warning: -e ") for line in warnings[:-1])


# ---------------------------------------------------------------- bad input


def bad_lines(stderr: str) -> list[str]:
    """The FILE:LINE: reason reports on stderr (not the count of the rest, nor the summary)."""
    return [line for line in stderr.splitlines() if not line.startswith(("wstail: ", "... "))]


def write_mixed(tmp_path: Path, plain_output: bytes, bad: list[bytes]) -> tuple[Path, list[bytes]]:
    """NDJSON with a bad line after every good one; the file and its good lines."""
    good = plain_output.splitlines()
    body = b"".join(line + b"\n" + bad[i % len(bad)] + b"\n" for i, line in enumerate(good))
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(body)
    return path, good


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (b"garbage", "invalid JSON"),
        (b'{"seq":1,"event":"trade"', "invalid JSON"),
        (b"[1,2]", "not a wstail envelope or capture line"),
        (b'"text"', "not a wstail envelope or capture line"),
        (b"42", "not a wstail envelope or capture line"),
        (b"null", "not a wstail envelope or capture line"),
        (b'{"seq":1,"data":{}}', "not a wstail envelope or capture line"),
        (b'{"event":7}', "not a wstail envelope or capture line"),
        (b"\xff\xfe\x00binary\x9c", "invalid JSON (not UTF-8 text)"),
    ],
    ids=["garbage", "cut", "array", "string", "number", "null", "no-event", "bad-event", "binary"],
)
def test_every_bad_line_is_reported_and_every_good_line_printed(
    wstail: Wstail, tmp_path: Path, plain_output: bytes, bad: bytes, reason: str
) -> None:
    """The first five corrupt NDJSON lines are reported as FILE:LINE: reason, the rest counted
    in one line; every good line prints; the summary counts them all; exit 4."""
    path, good = write_mixed(tmp_path, plain_output, [bad])
    result = wstail("replay", path)
    assert result.code == 4
    assert result.stdout.splitlines() == good
    reports = bad_lines(result.stderr)
    assert len(reports) == 5
    for n, report in enumerate(reports, 1):
        assert report.startswith(f"{path}:{2 * n}: {reason}")
    assert result.stderr.splitlines()[5:] == [
        f"... and {len(good) - 5} more bad lines in {path}",
        f"wstail: replay finished with {len(good)} bad lines",
    ]


def test_bad_lines_with_an_event_filter(
    wstail: Wstail, tmp_path: Path, plain_output: bytes
) -> None:
    """With -e, lines that are not even JSON objects are still reported (and counted)."""
    path, _ = write_mixed(tmp_path, plain_output, [b"garbage", b"[1,2]"])
    result = wstail("replay", "-e", "trade", path)
    assert result.code == 4
    assert seqs(result) == [3, 8, 9, 11]
    assert len(bad_lines(result.stderr)) == 5
    report = rf"{re.escape(str(path))}:\d+: .+"
    assert all(re.fullmatch(report, line) for line in bad_lines(result.stderr))
    assert f"... and 7 more bad lines in {path}\n" in result.stderr
    assert result.stderr.endswith("wstail: replay finished with 12 bad lines\n")


def test_random_binary_file(wstail: Wstail, tmp_path: Path) -> None:
    """A file of random bytes is one message quoting its first line, printable; exit 4."""
    path = tmp_path / "random.bin"
    path.write_bytes(random.Random(7).randbytes(4096).replace(b"\x1f\x8b", b"  "))
    result = wstail("replay", path)
    assert (result.code, result.stdout) == (4, b"")
    [line] = result.stderr.splitlines()
    assert re.fullmatch(
        rf"wstail: {re.escape(str(path))}: not a wstail capture or NDJSON: first line '.+'", line
    )
    assert line.isprintable() and len(line) < len(str(path)) + 120


@pytest.mark.parametrize(
    ("body", "quoted"),
    [
        (b"root:x:0:0:root:/root:/bin/sh\nbin:x:1:1::/:\n" * 20, "'root:x:0:0:root:/root:/bin/sh'"),
        (b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 8, "'\\x7fELF\\x02\\x01\\x01\\x00\\x00"),
        (b'{"seq":1,"data":{}}\n{"seq":2,"data":{}}\n', '\'{"seq":1,"data":{}}\''),
        (b"\n\n  [1,2,3]\n", "'[1,2,3]'"),
        (b"\x1b[2J" + b"x" * 200 + b"\n", "'\\x1b[2J" + "x" * 33 + "...'"),
    ],
    ids=["passwd", "elf", "object", "array-after-blanks", "escape-long"],
)
def test_a_file_neither_capture_nor_ndjson_is_one_message(
    wstail: Wstail, tmp_path: Path, body: bytes, quoted: str
) -> None:
    """A file whose first line is neither a capture header nor an envelope is one line; exit 4."""
    path = tmp_path / "other"
    path.write_bytes(body)
    result = wstail("replay", path)
    assert (result.code, result.stdout) == (4, b"")
    message = f"wstail: {path}: not a wstail capture or NDJSON: first line "
    assert result.stderr.startswith(message + quoted)
    assert result.stderr.count("\n") == 1


def test_ndjson_cut_at_its_head_is_replayed(
    wstail: Wstail, tmp_path: Path, plain_output: bytes
) -> None:
    """NDJSON cut inside its first line (`tail -c`) is NDJSON: that line is a bad one; exit 4."""
    path = tmp_path / "cut.jsonl"
    path.write_bytes(plain_output[40:])
    result = wstail("replay", path)
    assert result.code == 4
    assert result.stdout.splitlines() == plain_output.splitlines()[1:]
    reason = "invalid JSON (unexpected content after document)"
    assert bad_lines(result.stderr) == [f"{path}:1: {reason}"]


def test_a_foreign_file_among_others(wstail: Wstail, tmp_path: Path, plain_output: bytes) -> None:
    """Among other inputs, a foreign file is its line in its place, then counted; exit 4."""
    other = tmp_path / "passwd"
    other.write_bytes(b"root:x:0:0::/root:/bin/sh\n")
    result = wstail("replay", SAMPLE, other)
    assert result.code == 4
    assert result.stdout == plain_output
    assert result.stderr.splitlines() == [
        f"wstail: {other}: not a wstail capture or NDJSON: first line 'root:x:0:0::/root:/bin/sh'",
        "wstail: replay finished with 1 file neither a capture nor NDJSON",
    ]


def test_a_lone_missing_file_is_one_line(wstail: Wstail, tmp_path: Path) -> None:
    """A single FILE that cannot be read is one line, without a summary; exit 4."""
    missing = tmp_path / "missing.jsonl"
    result = wstail("replay", missing)
    assert result.code == 4
    assert result.stderr == f"wstail: cannot read {missing}: No such file or directory\n"


def test_bad_capture_lines(wstail: Wstail, tmp_path: Path, plain_output: bytes) -> None:
    """Capture lines of unknown kind or broken shape are reported; the other frames replay."""
    lines = SAMPLE.read_bytes().splitlines()
    lines[3:3] = [b'[0.7,"bogus","x"]', b"[0.7,,]", b'[0.7,"sio","/public"]']
    path = tmp_path / "cap.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    result = wstail("replay", path)
    assert result.code == 4
    assert result.stdout == plain_output
    assert bad_lines(result.stderr) == [
        f"{path}:4: unknown or malformed frame of kind 'bogus'",
        f"{path}:5: not JSON (unexpected character, expected a JSON value)",
        f"{path}:6: unknown or malformed frame of kind 'sio'",
    ]
    assert result.stderr.endswith("wstail: replay finished with 3 bad lines\n")


def test_bad_capture_header_version(wstail: Wstail, tmp_path: Path) -> None:
    """A capture of another format version is refused at its header line; exit 4."""
    path = tmp_path / "v2.jsonl"
    path.write_text(SAMPLE.read_text().replace('"wstail_capture":1', '"wstail_capture":2', 1))
    result = wstail("replay", path, SAMPLE)
    assert result.code == 4
    assert result.stdout == ok(wstail("replay", SAMPLE)).stdout
    assert bad_lines(result.stderr) == [
        f"{path}:1: capture format version 2 is not supported (this reads 1)"
    ]


def test_missing_file(wstail: Wstail, tmp_path: Path, plain_output: bytes) -> None:
    """A missing or unreadable FILE is reported by name; the other files still replay; exit 4."""
    missing = tmp_path / "missing.jsonl"
    result = wstail("replay", missing, SAMPLE, tmp_path)
    assert result.code == 4
    assert result.stdout == plain_output
    assert result.stderr.splitlines() == [
        f"wstail: cannot read {missing}: No such file or directory",
        f"wstail: {tmp_path}: no capture in this directory",  # a directory is its captures
        "wstail: replay finished with 2 unreadable files",
    ]


def test_stdin_is_named_in_reports(wstail: Wstail) -> None:
    """Bad lines on stdin are reported as <stdin>:LINE."""
    result = wstail("replay", "-", input=b'{"event":"x","seq":1}\n{nope}\n')
    assert result.code == 4
    assert result.stdout == b'{"event":"x","seq":1}\n'
    assert bad_lines(result.stderr) == [
        "<stdin>:2: invalid JSON (unexpected character, expected a string key)"
    ]


@pytest.mark.parametrize("kind", ["gz", "zst"])
def test_truncated_compressed_file(wstail: Wstail, tmp_path: Path, kind: str) -> None:
    """A cut compressed file prints every whole line before the cut, then reports it; exit 4."""
    lines = [
        serialize(make_envelope(n, n, "node", "status", None, {"n": n, "pad": "x" * (n % 97)}))
        for n in range(1, 3001)
    ]
    data = b"".join(line + b"\n" for line in lines)
    if kind == "gz":
        packed = gzip.compress(data)
    else:  # one frame per 8 KiB, as a streaming writer flushes them
        chunks = [data[i : i + 8192] for i in range(0, len(data), 8192)]
        packed = b"".join(zstandard.ZstdCompressor().compress(chunk) for chunk in chunks)
    path = tmp_path / f"cut.jsonl.{kind}"
    path.write_bytes(packed[: len(packed) * 2 // 3])
    result = wstail("replay", path)
    assert result.code == 4
    printed = result.stdout.splitlines()
    assert 0 < len(printed) < len(lines)
    assert printed == lines[: len(printed)]
    name = {"gz": "gzip", "zst": "zstd"}[kind]
    assert bad_lines(result.stderr) == [f"{path}:{len(printed) + 1}: {name} stream is truncated"]


@pytest.mark.parametrize("kind", ["gz", "zst"])
def test_corrupt_compressed_file(wstail: Wstail, tmp_path: Path, kind: str) -> None:
    """Corrupt compressed data (or junk after it) is reported bad input, not an internal error."""
    data = SAMPLE.read_bytes()
    packed = bytearray(compress(kind, data))
    flipped = tmp_path / f"flipped.{kind}"
    packed[40:80] = bytes(b ^ 0x5A for b in packed[40:80])
    flipped.write_bytes(bytes(packed))
    result = wstail("replay", flipped)
    assert result.code == 4
    report = rf"{re.escape(str(flipped))}:\d+: corrupt \w+ stream: .+"
    assert re.fullmatch(report, bad_lines(result.stderr)[0])
    junk = tmp_path / f"junk.{kind}"
    junk.write_bytes(compress(kind, data) + b"junk after the end")
    result = wstail("replay", junk)
    assert result.code == 4
    assert result.stdout == ok(wstail("replay", SAMPLE)).stdout
    assert bad_lines(result.stderr)[0].startswith(f"{junk}:12: corrupt ")


# ---------------------------------------------------------------- usage errors


@pytest.mark.parametrize(
    ("option", "expression", "column"),
    [
        ("-f", "data.price >", 13),
        ("--filter", "data..price", 6),
        ("-q", "data.[", 7),
        ("--query", "[?a == `1`", 11),
        ("--until", "foo(", 5),
        ("-f", "event == 'x' &&", 16),
    ],
)
def test_bad_jmespath_points_at_the_column(
    wstail: Wstail, option: str, expression: str, column: int
) -> None:
    """A bad JMESPath is exit 2, the message naming the column and a caret under it."""
    result = wstail("replay", option, expression, SAMPLE)
    assert (result.code, result.stdout) == (2, b"")
    message, echo, caret = result.stderr.splitlines()
    assert message.startswith("wstail: --")
    assert f"column {column}" in message
    assert echo == "  " + expression
    assert caret == " " * (2 + column - 1) + "^"


@pytest.mark.parametrize(
    "args",
    [
        ["-n", "0"],
        ["-n", "x"],
        ["--count", "-3"],
        ["--speed", "0"],
        ["--speed", "-1"],
        ["--speed", "fast"],
        ["--max-gap", "-1"],
        ["--idle-timeout", "0"],
        ["--duration", "-1"],
        ["--from", "yesterday"],
        ["--from", "2026-11-23T10"],
        ["--from", "+1"],
        ["--to", "+1y"],
        ["--from", "seq:3", "--to", "seq:2"],
        ["--to", "seq:"],
        ["--to", "seq:x"],
        ["--color", "purple"],
        ["--bogus"],
        ["-e"],
        ["--loop"],
        ["--eio", "5"],
    ],
)
def test_bad_option_values_are_one_line_usage_errors(wstail: Wstail, args: list[str]) -> None:
    """A bad option value is exit 2 with exactly one line on stderr and nothing on stdout."""
    result = wstail("replay", SAMPLE, *args)
    assert (result.code, result.stdout) == (2, b"")
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("wstail: ")


# ---------------------------------------------------------------- the console script


def test_console_script_replays(plain_output: bytes) -> None:
    """The installed `wstail` script replays a capture, clean exit."""
    result = subprocess.run([WSTAIL, "replay", SAMPLE], capture_output=True, timeout=TIMEOUT)
    assert (result.returncode, result.stdout, result.stderr) == (0, plain_output, b"")


def test_console_script_exit_codes(tmp_path: Path) -> None:
    """The script exits 4 on bad input and 2 on a bad option, with no traceback."""
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"event":"x"}\n{nope}\n')
    result = subprocess.run([WSTAIL, "replay", bad], capture_output=True, timeout=TIMEOUT)
    assert (result.returncode, result.stderr) == (
        4,
        f"{bad}:2: invalid JSON (unexpected character, expected a string key)\n"
        "wstail: replay finished with 1 bad line\n".encode(),
    )
    usage = subprocess.run([WSTAIL, "replay", "-n", "0", bad], capture_output=True, timeout=TIMEOUT)
    assert usage.returncode == 2
    assert usage.stderr.count(b"\n") == 1


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory, full_output: bytes) -> Path:
    """A few MB of wstail NDJSON: far more than a pipe buffer holds."""
    path = tmp_path_factory.mktemp("big") / "big.jsonl"
    path.write_bytes(full_output * 1500)
    return path


@pytest.mark.parametrize(
    "command",
    [
        '"$WSTAIL" replay "$BIG" | head -1',
        '"$WSTAIL" replay --meta --pretty --color always "$BIG" | head -1',
        '"$WSTAIL" replay -r -q event "$BIG.gz" | head -1',
        'cat "$BIG.gz" | "$WSTAIL" replay - --seq | head -1',
    ],
    ids=["plain", "pretty-colour", "query-gz", "stdin-gz"],
)
def test_broken_pipe_is_a_quiet_success(big_file: Path, command: str) -> None:
    """`wstail replay big | head -1` exits 0 with nothing at all on stderr."""
    gz = big_file.with_name("big.jsonl.gz")
    if not gz.exists():
        gz.write_bytes(gzip.compress(big_file.read_bytes(), compresslevel=1))
    bash = shutil.which("bash")
    assert bash is not None
    result = subprocess.run(
        [bash, "-c", command + '; echo "${PIPESTATUS[@]}"'],
        capture_output=True,
        env={**os.environ, "WSTAIL": str(WSTAIL), "BIG": str(big_file)},
        timeout=TIMEOUT,
    )
    out = result.stdout.splitlines()
    assert len(out) == 2
    statuses = out[-1].split()
    assert statuses[-2:] == [b"0", b"0"]
    assert result.stderr == b""


# ---------------------------------------------------------------- block scanning

BLOCK_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

_PLAIN_LINE = b'{"seq":6,"event":"trade","data":{"price":76070.5,"id":"29553fe-347c"}}'
_RISKY_LINE = (
    b'{"seq":7,"event":"trade","data":{"price":0.1000000000000000055511,"n":123456789012345678901}}'
)

# Lines of every kind the pre-filter meets: envelopes that match or not, the
# event behind a \u escape, the name only inside data, meta, blank, CRLF, RS
# framing, truncated, garbage, non-objects, invalid UTF-8.
scan_lines = st.one_of(
    st.builds(
        lambda seq, event, price: serialize(
            make_envelope(seq, 1_795_428_000_000_000, "paymium.public", event, None, price)
        ),
        st.integers(1, 10**6),
        st.sampled_from(["trade", "ticker", "depth", "trades", "meta.connected"]),
        st.one_of(st.none(), st.just({"event": "trade"}), st.just({"price": 1.5})),
    ),
    st.sampled_from(
        [
            b'{"seq":1,"event":"tr\\u0061de","data":null}',
            b'{"seq":2,"event":"depth","data":{"kind":"trade"}}',
            b'{"seq":3,"event":"unknown","data":{"event":"trade"}}',
            b'{"seq":4, "event": "trade", "data": {}}',
            _RISKY_LINE,
            b'{"seq":8,"event":"trade","data":{"price":1e400,"id":"4e-347c"}}',
            b'{"seq":9,"event":"ticker","data":{"id":"29553fe-347c","price":76070.5}}',
            b'{"seq":10,"event":"unknown","data":{"file":{"_binary":"3q2+7w=="}}}',
            b'{"seq":11,"event":"trade","data":{"price":1.5,"raw":{"_binary":"dHJhZGU="}}}',
            b'{"seq":5,"event":"trade"',
            b'{"event":"trade"} trailing',
            b'["trade"]',
            b"",
            b"   ",
            b"garbage",
            b'{"event":"trade","data":"\xff"}',
            b"\x1e" + b'{"seq":6,"event":"trade"}',
        ]
    ),
)


@BLOCK_SETTINGS
@given(
    lines=st.lists(scan_lines, min_size=1, max_size=40),
    endings=st.lists(st.sampled_from([b"\n", b"\r\n"]), min_size=1, max_size=3),
    block=st.integers(1, 300),
    events=st.sampled_from([["trade"], ["trade", "ticker"], ["depth"], []]),
    extra=st.sampled_from(
        [
            [],
            ["--meta"],
            ["-n", "3"],
            ["--stats"],
            ["--seq"],
            ["-f", "event == 'trade' || data.price > `1`"],
            ["-q", "data"],
            ["--color", "always"],
        ]
    ),
)
@example(  # a number a double cannot hold, after a line that needs no exact decoding
    lines=[_PLAIN_LINE, _RISKY_LINE, _PLAIN_LINE],
    endings=[b"\n"],
    block=1 << 20,
    events=[],
    extra=["-q", "data"],
)
@example(
    lines=[_PLAIN_LINE, _RISKY_LINE, _PLAIN_LINE],
    endings=[b"\n"],
    block=1 << 20,
    events=["trade"],
    extra=["-q", "data"],
)
@example(  # several such lines in a block; CRLF lines (the general way) between the others
    lines=[_PLAIN_LINE, _PLAIN_LINE, _RISKY_LINE, _PLAIN_LINE, _PLAIN_LINE, _RISKY_LINE],
    endings=[b"\n", b"\r\n", b"\n"],
    block=1 << 20,
    events=[],
    extra=["-q", "data"],
)
def test_block_scan_matches_the_line_by_line_prefilter(
    wstail: Wstail,
    tmp_path: Path,
    lines: list[bytes],
    endings: list[bytes],
    block: int,
    events: list[str],
    extra: list[str],
) -> None:
    """Reading blocks (scanning them for the quoted event name with -e) prints and reports
    exactly what reading line by line does, whatever the block size, endings and bad lines."""

    body = b"".join(line + endings[i % len(endings)] for i, line in enumerate(lines))
    if lines[-1] and len(lines) % 2:
        body = body.rstrip(b"\r\n")  # a last line without its newline
    path = tmp_path / "mixed.ndjson"
    path.write_bytes(body)
    args = ["replay", *[arg for event in events for arg in ("-e", event)], *extra, path]

    assert_blocks_read_as_lines(wstail, args, block)


def assert_blocks_read_as_lines(wstail: Wstail, args: list[Any], block: int) -> None:
    """`wstail ARGS` reading blocks of `block` bytes the short ways exits, prints and reports
    exactly what it does reading 1 MiB blocks a line at a time (WSTAIL_DEV_SHORT_WAYS=0)."""
    blocks = wstail(*args, env={BLOCK_SIZE_VARIABLE: str(block)})
    lines = wstail(*args, env={SHORT_WAYS_VARIABLE: "0"})
    assert (blocks.code, blocks.stdout, blocks.stderr) == (lines.code, lines.stdout, lines.stderr)


def test_block_scan_reports_lines_across_blocks(
    wstail: Wstail, tmp_path: Path, full_output: bytes
) -> None:
    """Bad lines deep in a file of several MiB are reported with their own line numbers."""
    good = full_output.splitlines()
    body = []
    broken = {}
    for number in range(1, 40_001):
        line = good[number % len(good)]
        if number % 9973 == 0:
            line = line[: len(line) // 2]  # a line cut short, as by a crash
            broken[number] = line
        body.append(line + b"\n")
    path = tmp_path / "big.ndjson"
    path.write_bytes(b"".join(body))
    assert path.stat().st_size > 3 * 2**20
    result = wstail("replay", "-e", "trade", path)
    assert result.code == 4
    reports = bad_lines(result.stderr)
    assert [report.split(": ")[0] for report in reports] == [f"{path}:{n}" for n in sorted(broken)]
    for report, number in zip(reports, sorted(broken), strict=True):
        cut = broken[number]  # decoded when it holds the name, else seen not to be an object
        reason = "invalid JSON" if b'"trade"' in cut else "not a JSON object"
        assert report.split(": ", 1)[1].startswith(reason)
    trades = [line for line in body if b'"event":"trade"' in line and line.endswith(b"}\n")]
    assert result.stdout == b"".join(trades)


# ------------------------------------------------------ capture blocks

_HEADER = (
    b'{"wstail_capture":1,"source":"paymium.public","url":"","protocol":"eio3",'
    b'"tool":"t","start":"2026-11-23T10:00:00.500000Z","first_seq":%d}'
)

_NEXT_PART = (_HEADER % 200).replace(b"10:00:00.5", b"11:30:00.25").replace(b".public", b".user")
_DEPTH_LINE = orjson.dumps(
    [
        0.1,
        "sio",
        "/public",
        '["stream",{"asks":[{"amount":"0.5","price":"76070.60","timestamp":1795428000}]}]',
    ]
)

# Capture lines of every kind: Socket.IO events the normalizer takes the fast
# way and the general way (unknown keys, risky floats, \u escapes, bad JSON,
# a normalizer's bad frame), node text frames, lifecycle lines, binary frames,
# lines that are not frames, blank lines, the header of a next part (good and
# bad), invalid UTF-8, an offset that is not a number.
capture_lines = st.one_of(
    st.builds(
        lambda offset, text, channel: orjson.dumps([offset, "sio", channel, text]),
        st.one_of(st.floats(0, 1e6, allow_nan=False), st.integers(0, 10**9)),
        st.sampled_from(
            [
                '["stream",{"asks":[{"amount":"0.5","price":"76070.60","category":"sell",'
                '"currency":"EUR","timestamp":1795428000}]}]',
                '["stream",{"trades":[{"price":"1.10","timestamp":1795428001},7]}]',
                '["stream",{"ticker":{"at":"1795428002","price":"12345678901234567.5"}}]',
                '["stream",{"ticker":{"at":1795428002.25,"price":0.1000000000000000055511}}]',
                '["stream",{"bids":[],"mystery":{"price":"1"}}]',
                '["stream",{"balance_eur":"12.5","locked_btc":true}]',
                '["stream",{"event":"new-trade","payload":{"price":"3","timestamp":5}}]',
                '["stream",{"trades":[{"price":"\\u0031","timestamp":1}]}]',
                '["announcement",["maintenance"]]',
                '["stream",{"asks":[',
                '"stream"',
                "[]",
                "",
            ]
        ),
        st.sampled_from(["/public", "/user", "/other"]),
    ),
    st.builds(
        lambda offset, text: orjson.dumps([offset, "text", text]),
        st.floats(0, 100, allow_nan=False),
        st.sampled_from(
            [
                '{"notification":{"type":"follow","peerId":"Qm1"}}',
                '{\n  "status": "publishing"\n}',
                '{"wallet": {"height": "12", "unconfirmed": 1.25}}',
                "not json",
            ]
        ),
    ),
    st.sampled_from(
        [
            b'[0.25,"meta","meta.connected",{"url":"x","protocol":"eio3"}]',
            b'[0.5,"meta","meta.disconnected",{"reason":"bye"}]',
            b'[0.75,"binary","3q2+7w=="]',
            b'[0.75,"binary","not base64!"]',
            # binary events: attachments base64 in a fifth element (good and bad)
            b'[0.8,"sio","/public","[\\"stream\\",{\\"f\\":{\\"_placeholder\\":true,'
            b'\\"num\\":0}}]",["3q2+7w=="]]',
            b'[0.8,"sio","/public","[\\"stream\\",{\\"trades\\":[{\\"price\\":\\"1.10\\",'
            b'\\"timestamp\\":1,\\"b\\":{\\"_placeholder\\":true,\\"num\\":0}}]}]",'
            b'["dHJhZGU="]]',
            b'[0.8,"sio","/user","[\\"blob\\",{\\"_placeholder\\":true,\\"num\\":1},'
            b'{\\"_placeholder\\":true,\\"num\\":0}]",["","AAE="]]',
            b'[0.8,"sio","/public","[\\"stream\\",{}]",["not base64!"]]',
            b'[0.8,"sio","/public","[\\"stream\\",{}]",[7]]',
            b'[true,"sio","/public","[\\"stream\\",{}]"]',
            b'["0.1","sio","/public","[\\"stream\\",{}]"]',
            b'[0.1,"sio","/public",5]',
            b'[0.1,"text"]',
            b'[0.1,"sio","/public","[\\"stream\\",{\\"bids\\":[{\\"price\\":\\"\xff\\"}]}]"]',
            b"[0.1,",
            b"{}",
            b"",
            b"  ",
            _HEADER % 100,
            _NEXT_PART,
            _HEADER.replace(b'"start":"2026', b'"start":"bad'),
        ]
    ),
)


@BLOCK_SETTINGS
@given(
    lines=st.lists(capture_lines, min_size=0, max_size=40),
    endings=st.lists(st.sampled_from([b"\n", b"\r\n"]), min_size=1, max_size=3),
    block=st.one_of(st.integers(1, 400), st.just(1 << 20)),
    cut_last=st.booleans(),
    extra=st.sampled_from(
        [
            [],
            ["--meta"],
            ["--stats"],
            ["--seq"],
            ["-e", "trade"],
            ["-x", "depth", "--meta"],
            ["-n", "3"],
            ["-q", "data"],
            ["-f", "event == 'depth' || data.price > `1`", "-q", "[seq, data.price]"],
            ["-q", "data", "-r"],
            ["--color", "always", "--pretty"],
            ["--until", "event == 'trade'"],
            ["--raw"],
        ]
    ),
)
@example(  # a bad frame after a good one in one block, printed with --meta
    lines=[_DEPTH_LINE, orjson.dumps([0.2, "sio", "/public", '["stream",{"asks":['])],
    endings=[b"\n"],
    block=1 << 20,
    cut_last=False,
    extra=["--meta"],
)
@example(  # the next part starts later: its frames are timed from its own start
    lines=[_DEPTH_LINE, _NEXT_PART, _DEPTH_LINE],
    endings=[b"\n"],
    block=1 << 20,
    cut_last=False,
    extra=[],
)
@example(  # binary events (good, bad base64) among plain ones, printed raw
    lines=[
        _DEPTH_LINE,
        b'[0.8,"sio","/public","[\\"stream\\",{\\"f\\":{\\"_placeholder\\":true,'
        b'\\"num\\":0}}]",["3q2+7w=="]]',
        b'[0.8,"sio","/public","[\\"stream\\",{}]",["not base64!"]]',
        _DEPTH_LINE,
    ],
    endings=[b"\n"],
    block=1 << 20,
    cut_last=False,
    extra=["--raw"],
)
def test_capture_blocks_match_line_by_line(
    wstail: Wstail,
    tmp_path: Path,
    lines: list[bytes],
    endings: list[bytes],
    block: int,
    cut_last: bool,
    extra: list[str],
) -> None:
    """Reading a capture a block at a time prints, numbers and reports exactly what reading
    it line by line does, whatever the block size, the endings, the frames and bad lines."""

    body = b"".join(
        line + endings[i % len(endings)] for i, line in enumerate([_HEADER % 7, *lines])
    )
    if cut_last:
        body = body.rstrip(b"\r\n")  # a last line without its newline
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(body)
    args = ["replay", *extra, path]

    assert_blocks_read_as_lines(wstail, args, block)


def test_capture_frames_take_the_short_way_whatever_the_options(
    wstail: Wstail, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every frame of every capture of a multi-file replay is read from blocks, the short way
    (no Frame built but for lifecycle lines), whatever waits or stops at an envelope."""
    import wstail.replaying.captures as captures_module
    import wstail.replaying.driver as driver_module

    second = tmp_path / "second.jsonl"
    second.write_bytes(SAMPLE.read_bytes())
    reads: list[int] = []
    real_read_blocks = driver_module.read_blocks

    def counting_blocks(*args: Any) -> Any:
        reads.append(1)
        return real_read_blocks(*args)

    real_decode_frame = captures_module.decode_frame

    def no_frames(*args: Any) -> Any:
        frame = real_decode_frame(*args)
        assert frame.kind == "meta", "an event or text frame took the general way"
        return frame

    monkeypatch.setattr(driver_module, "read_blocks", counting_blocks)
    monkeypatch.setattr(captures_module, "decode_frame", no_frames)
    for args in (
        [],
        ["-e", "trade", "--meta"],
        ["-f", "event == 'trade'", "-q", "data.price"],
        ["--pretty"],
        ["-n", "5000"],
        ["--until", "seq == `5000`"],
        ["--raw"],
        ["--from", "seq:3"],
        ["--speed", "1000000"],
    ):
        reads.clear()
        ok(wstail("replay", *args, SAMPLE, second, SAMPLE))
        assert len(reads) == 3, args


def test_a_block_s_newlines_are_counted_once_and_right() -> None:
    """`newlines` takes read_blocks' count of the block it just gave, and counts any other."""
    import io

    from wstail.replaying.blocks import newlines, read_blocks

    data = b"".join(b'{"n":%d}\n' % n for n in range(5000)) + b'{"last":1}'
    counted = []
    for _, block in read_blocks(io.BytesIO(data), 0, 4096):
        counted.append(newlines(block))
        assert counted[-1] == block.count(b"\n")
        copy = bytes(bytearray(block[:-1]))  # equal text, another object: counted anew
        assert newlines(copy) == copy.count(b"\n")
    assert sum(counted) == 5000 and len(counted) > 10
