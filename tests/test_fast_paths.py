"""Fast paths are taken and honest: every ordinary line goes the fast way, with the output
the general way gives (the differential tests), and what rightly takes the general way is named.
"""

from __future__ import annotations

import io
import random
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import make_stream
from helpers.generated import bench_gen, write_node_capture
from helpers.targets import undialled_target
from wstail.fastpaths import (
    BLOCK_SIZE_VARIABLE,
    SHORT_WAYS_VARIABLE,
    STRICT_VARIABLE,
    DeveloperSwitches,
    FastPathMissed,
    FastPaths,
)
from wstail.feeds import reading_for
from wstail.replaying import Replayer, ReplayOptions
from wstail.sources.socketio import codec
from wstail.sources.socketio.protocol import SioProtocol

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = sorted((ROOT / "cli" / "wstail" / "data").glob("*.jsonl"))
WSTAIL = Path(sys.executable).with_name("wstail")
HEADER = (
    b'{"wstail_capture":1,"source":"paymium.public","url":"","protocol":"eio3",'
    b'"tool":"t","start":"2026-11-23T10:00:00Z","first_seq":1}\n'
)


def replay(
    path: Path, *, short: bool = True, block_size: int = 1 << 20, meta: bool = True
) -> tuple[bytes, str, FastPaths]:
    """Replay one input in-process, strict: its output, its reports and its fast path counts."""
    stream, out = make_stream(meta=meta)
    stderr = io.StringIO()
    options = ReplayOptions(short_ways=short, block_size=block_size, strict_fast_paths=True)
    replayer = Replayer(stream, options, stderr, reading_for)
    try:
        replayer.replay([str(path)])
    except Exception as error:  # BadInputError: the bad lines are in the reports
        stderr.write(f"{type(error).__name__}: {error}\n")
    finally:
        stream.close()
    return out.getvalue(), stderr.getvalue(), replayer.fast_paths


def frame_lines(path: Path) -> int:
    """The lines of a capture after its header."""
    return len(path.read_bytes().splitlines()) - 1


def meta_lines(path: Path) -> int:
    """The lifecycle lines of a capture: the general way's by design."""
    return sum(
        1 for line in path.read_bytes().splitlines() if line.split(b",", 2)[1:2] == [b'"meta"']
    )


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """A generated public capture (bench/gen.py, 3000 frames) and a node capture (400 frames)."""
    gen = bench_gen()
    where = tmp_path_factory.mktemp("generated")
    public = where / "public.jsonl"
    gen.write_public(public, where / "live_public.jsonl", random.Random(5), 3000)
    node = write_node_capture(where / "node.jsonl", 400)
    return [public, node]


@pytest.mark.parametrize("path", SAMPLES, ids=lambda path: path.name)
def test_bundled_samples_take_the_fast_path(path: Path) -> None:
    """Every frame line of a bundled sample goes the fast way; only lifecycle lines do not;
    the output is the general way's, byte for byte."""
    fast_out, fast_err, paths = replay(path)
    general_out, general_err, reference = replay(path, short=False)
    assert (fast_out, fast_err) == (general_out, general_err)
    assert fast_err == ""
    assert paths.lines == frame_lines(path)
    assert paths.general == meta_lines(path) > 0
    assert paths.fast == paths.lines - meta_lines(path)
    assert paths.missed == 0
    assert reference.fast == 0  # the reference really read every line the general way


def test_generated_captures_take_the_fast_path(generated: list[Path]) -> None:
    """A generated Paymium capture and a node capture: every frame the fast way, same output,
    whatever the block size."""
    for path in generated:
        fast_out, fast_err, paths = replay(path, block_size=4096)
        general_out, general_err, _ = replay(path, short=False)
        assert (fast_out, fast_err) == (general_out, general_err), path.name
        assert paths.fast == frame_lines(path) - meta_lines(path), path.name
        assert paths.general == meta_lines(path), path.name
        assert fast_out.count(b"\n") >= paths.fast


def test_ndjson_read_back_takes_the_fast_path(generated: list[Path], tmp_path: Path) -> None:
    """wstail's own output read back: every envelope line the fast way, printed as it was."""
    printed, _, _ = replay(generated[0])
    ndjson = tmp_path / "public.ndjson"
    ndjson.write_bytes(printed)
    again, err, paths = replay(ndjson, block_size=8192)
    assert (again, err) == (printed, "")
    # The first line tells NDJSON from a capture: read before the blocks, by the general way.
    assert paths.lines == printed.count(b"\n") - 1
    assert (paths.general, paths.missed) == (0, 0)
    reference, _, _ = replay(ndjson, short=False)
    assert reference == printed


def test_lines_that_rightly_take_the_general_way(tmp_path: Path) -> None:
    """Binary events (a fifth element), lifecycle and blank lines, bad lines and numbers orjson
    refuses take the general way, counted, never a strict error, with the reference's output."""
    plain = b'[0.1,"sio","/public","[\\"stream\\",{\\"ticker\\":{\\"price\\":\\"1.5\\"}}]"]'
    expected_general = [
        b'[0.2,"sio","/public","[\\"stream\\",{\\"f\\":{\\"_placeholder\\":true,\\"num\\":0}}]",'
        b'["3q2+7w=="]]',  # a binary event
        b'[0.3,"meta","meta.disconnected",{"reason":"x"}]',
        b"",  # blank
        b'[0.4,"sio","/public","[\\"stream\\"',  # cut short
        b'[1e400,"text","{}"]',  # orjson refuses the number; no time: a bad line
        b'[1e308,"text","{}"]',  # orjson reads it, but no time either: a bad line
        b'[0.5,"sio","/public","[\\"stream\\",{\\"caf\\u00e9\\":\\"\\ud800\\"}]"]',
        b'[0.6,"binary","3q2+7w=="]',
        b'{"wstail_capture":1,"source":"node","start":"2026-11-23T10:00:01Z","first_seq":9}',
    ]
    path = tmp_path / "mixed.jsonl"
    body = [plain, *expected_general, b'[0.7,"text","{\\"status\\":\\"caf\\u00e9 \xc3\xa9\\"}"]']
    path.write_bytes(HEADER + b"\n".join(body) + b"\n")
    out, err, paths = replay(path)
    reference_out, reference_err, _ = replay(path, short=False)
    assert (out, err) == (reference_out, reference_err)
    assert (paths.lines, paths.fast, paths.general, paths.missed) == (11, 2, 9, 0)
    assert "mixed.jsonl:6: not JSON (unexpected end of data)" in err
    assert "mixed.jsonl:7: bad time offset 1e400" in err
    assert "mixed.jsonl:8: bad time offset 1e+308" in err
    assert "mixed.jsonl:9: not JSON (no low surrogate in string)" in err


def test_strict_mode_raises_for_a_missed_line() -> None:
    """FastPaths counts a missed line; strict, it is an internal error naming the line."""
    lax = FastPaths()
    lax.miss("capture", b"[0.1]")
    assert lax.missed == 1 and "well-formed" in lax.summary()
    with pytest.raises(FastPathMissed, match=r"capture: .*\[0\.1\]"):
        FastPaths(strict=True).miss("capture", b"[0.1]")


def test_developer_switches_from_the_environment() -> None:
    """The switches are read from the run's environment; a bad block size is a usage error."""
    switches = DeveloperSwitches.from_environ(
        {STRICT_VARIABLE: "1", SHORT_WAYS_VARIABLE: "0", BLOCK_SIZE_VARIABLE: "77"}
    )
    assert switches == DeveloperSwitches(strict=True, short_ways=False, block_size=77)
    assert DeveloperSwitches.from_environ({STRICT_VARIABLE: "0"}) == DeveloperSwitches()
    from wstail.exitcodes import UsageError

    with pytest.raises(UsageError, match=BLOCK_SIZE_VARIABLE):
        DeveloperSwitches.from_environ({BLOCK_SIZE_VARIABLE: "lots"})


def test_debug_reports_the_fast_path_counts() -> None:
    """`wstail --debug replay` says on stderr how many lines each way took."""
    sample = ROOT / "cli" / "wstail" / "data" / "public.jsonl"
    result = subprocess.run(
        [WSTAIL, "--debug", "replay", sample], capture_output=True, text=True, check=True
    )
    fast = frame_lines(sample) - meta_lines(sample)
    assert f"wstail: debug: fast path: {fast} lines, general way: 1\n" in result.stderr


# ------------------------------------------------------ the Socket.IO codec

CODEC_FAST = [
    '42/public,["stream",{"ticker":{"price":"1.5"}}]',
    '42["stream",{"bids":[{"price":1.25,"amount":3}]}]',
    '43/public,7["ok"]',
    '0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":60000}',
    '40/public,{"sid":"x"}',
    '44/public,{"message":"Invalid namespace"}',
    '451-/public,["stream",{"_placeholder":true,"num":0}]',
    '42/public,["stream",{"big":123456789012345678901234567890}]',  # orjson: a double
]
CODEC_GENERAL = [  # what orjson refuses and the exact decoder reads: the general way, rightly
    '42/public,["stream",{"huge":1e400}]',
    '42/public,["stream",{"low":-1e999}]',
]
CODEC_BAD = ['42/public,["stream",', "42/public,nope"]


def test_codec_reads_json_the_fast_way() -> None:
    """decode_packet takes orjson's way for every packet orjson reads, the exact decoder only
    for big numbers, and says so for bad JSON: strict, nothing is missed."""
    paths = FastPaths(strict=True)
    for data in CODEC_FAST:
        packet = codec.decode_packet(data, paths)
        assert type(packet) is not codec.BadPacket, data
        assert packet == codec.decode_packet(data)
    for data in CODEC_GENERAL:
        assert type(codec.decode_packet(data, paths)) is codec.Event
    for data in CODEC_BAD:
        assert type(codec.decode_packet(data, paths)) is codec.BadPacket
    assert paths.missed == 0


def _protocol(paths: FastPaths) -> SioProtocol:
    """An open session of /public, as the driver holds it after the handshake."""
    protocol = SioProtocol(undialled_target(fast_paths=paths), "eio4")
    protocol.receive_handshake('0{"sid":"s","upgrades":[],"pingInterval":25000,"pingTimeout":1}')
    protocol.receive_handshake('40/public,{"sid":"t"}')
    assert protocol.is_open
    return protocol


def test_protocol_reads_events_the_fast_way() -> None:
    """SioProtocol.receive reads every event of its namespace without an ack id the fast way;
    acks, other namespaces and big numbers rightly take the codec's."""
    paths = FastPaths(strict=True)
    protocol = _protocol(paths)
    events = [f'42/public,["stream",{{"n":{n}}}]' for n in range(50)]
    frames = [protocol.receive(data, 0.0, n) for n, data in enumerate(events)]
    assert [frame.payload for frame in frames if frame is not None] == [e[10:] for e in events]
    assert (paths.lines, paths.general, paths.missed) == (50, 0, 0)
    for data in ['42/public,3["stream",{}]', '42/other,["stream",{}]', *CODEC_GENERAL, "3"]:
        protocol.receive(data, 0.0, 1)
    assert (paths.lines, paths.general, paths.missed) == (55, 5, 0)
    # A message that is not UTF-8 is a bad frame, the general way's too.
    assert protocol.receive(b"42/public,[\xff]", 0.0, 1) is not None
    assert (paths.lines, paths.general, paths.missed) == (56, 6, 0)
