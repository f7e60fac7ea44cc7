"""`replay --serve` and `--demo` of generic captures (`tail ws`, `tail sio`), end to end.

Each capture (the bundled samples, and small ones written here with what the
samples lack: binary frames and events, pretty-printed and non-JSON text,
the root namespace, another Socket.IO path) is served by the real command on
127.0.0.1:0, then tapped back by `wstail tail ws|sio` (whose envelopes must
be those `wstail replay` prints for the capture, apart from recv_ts) and by
the official clients: the npm `ws` package (tests/peers/ws_client.js) and
socket.io-client 4.8 and 2.5 (tests/peers/sio_client.js), which must get the
recorded frames and events, text as text and binary as binary.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from helpers.serving import clean_env, serving
from helpers.sio_peers import scaled

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "cli" / "wstail" / "data"
PEERS = ROOT / "tests" / "peers"
WSTAIL = str(Path(sys.executable).with_name("wstail"))
BIN = base64.b64encode(b"\x00\xff\xfe binary").decode()

WS_SUBSCRIBE = '{"op":"subscribe","args":["trade:BTC-EUR"]}'
WS_HEADER = {
    "wstail_capture": 1,
    "source": "feed.example",
    "url": "wss://feed.example/ws/btc%20eur@trade?key=***",
    "protocol": "websocket",
    "tool": "wstail test",
    "start": "2026-11-23T10:00:00.000000Z",
    "first_seq": 1,
    "feed": {"kind": "ws", "send": [WS_SUBSCRIBE], "event-name": "e", "event-time": "T"},
}
WS_LINES: list[list[Any]] = [
    [0.001, "meta", "meta.connected", {"url": "wss://feed.example/ws/btceur@trade"}],
    [0.01, "text", '{"e":"trade","p":"77792.10","q":1234567890.123456789,"T":1795428000123}'],
    [0.02, "text", '{\n    "e": "depth",\n    "T": "2026-11-23T10:00:00.5Z"\n}'],
    [0.03, "text", "not json: a notice"],
    [0.04, "binary", BIN],
    [0.05, "text", '{"e":"trade","p":"77793.00","T":1795428000999}'],
]


def sio_header(namespace: str, path: str) -> dict[str, Any]:
    """The header of a `tail sio` capture of `namespace` at Socket.IO `path`."""
    return {
        "wstail_capture": 1,
        "source": "app.example" + ("" if namespace == "/" else namespace),
        "url": "https://app.example",
        "protocol": "eio4",
        "tool": "wstail test",
        "start": "2026-11-23T10:00:00.000000Z",
        "first_seq": 1,
        "feed": {"kind": "sio", "namespace": namespace, "path": path, "event-time": "ts"},
    }


def sio_lines(namespace: str) -> list[list[Any]]:
    """A `tail sio` capture's frames: two event names, two arguments, a binary event."""
    return [
        [0.001, "meta", "meta.connected", {"url": "https://app.example", "protocol": "eio4"}],
        [0.01, "sio", namespace, '["quote",{"bid":"77792.10","ts":1795428000123}]'],
        [
            0.02,
            "sio",
            namespace,
            '["trade",{"p":1234567890.123456789,"ts":"2026-11-23T10:00:01Z"}]',
        ],
        [0.03, "sio", namespace, '["trade",{"p":"1.50"},"second"]'],
        [
            0.04,
            "sio",
            namespace,
            '["file",{"name":"a","blob":{"_placeholder":true,"num":0}}]',
            [BIN],
        ],
        [0.05, "sio", namespace, '["quote",{"bid":"77793.00"}]'],
    ]


def write(path: Path, header: dict[str, Any], lines: list[list[Any]]) -> Path:
    """A capture file of this header and these frame lines."""
    rows = [header, *lines]
    path.write_text("".join(json.dumps(row, separators=(",", ":")) + "\n" for row in rows))
    return path


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The caller's environment without WSTAIL_* or proxies, HOME in the test's directory."""
    return clean_env(tmp_path)


def wstail(*args: str | Path, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    """Run `wstail ARGS...` to its end."""
    return subprocess.run(
        [WSTAIL, *map(str, args)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=env,
        timeout=scaled(20),
    )


def replayed(path: Path, env: dict[str, str]) -> list[dict[str, Any]]:
    """The data envelopes `wstail replay` prints for a capture."""
    done = wstail("replay", path, env=env)
    assert (done.returncode, done.stderr) == (0, b"")
    return [json.loads(line) for line in done.stdout.splitlines()]


def comparable(envelope: dict[str, Any]) -> dict[str, Any]:
    """An envelope without what differs between a live run and a replay: recv_ts, seq."""
    return {key: value for key, value in envelope.items() if key not in ("recv_ts", "seq")}


def node(*args: str | Path) -> list[dict[str, Any]]:
    """Run a Node.js peer to its end (exit 0); the JSON lines it printed."""
    done = subprocess.run(
        [shutil.which("node") or "node", *map(str, args)], capture_output=True, timeout=scaled(20)
    )
    assert done.returncode == 0, done.stderr.decode()
    return [json.loads(line) for line in done.stdout.splitlines()]


def header_of(path: Path) -> dict[str, Any]:
    """A capture's header."""
    with path.open() as lines:
        header: dict[str, Any] = json.loads(next(lines))
    return header


def frame_lines(path: Path) -> list[list[Any]]:
    """A capture's frame lines but the lifecycle ones."""
    lines = [json.loads(line) for line in path.read_text().splitlines()[1:]]
    return [line for line in lines if line[1] != "meta"]


def binaries(value: Any) -> Any:
    """A JS client's Buffer ({"$buffer": base64, "type"}) as an envelope writes it ({"_binary"})."""
    if isinstance(value, list):
        return [binaries(item) for item in value]
    if isinstance(value, dict):
        if "$buffer" in value:
            return {"_binary": value["$buffer"]}
        return {key: binaries(item) for key, item in value.items()}
    return value


def recorded_events(path: Path) -> list[list[Any]]:
    """A Socket.IO capture's event arrays, each placeholder filled with its attachment."""

    def filled(value: Any, attachments: list[str]) -> Any:
        if isinstance(value, list):
            return [filled(item, attachments) for item in value]
        if isinstance(value, dict):
            if value.get("_placeholder") is True:
                return {"_binary": attachments[value["num"]]}
            return {key: filled(item, attachments) for key, item in value.items()}
        return value

    lines = frame_lines(path)
    return [filled(json.loads(line[3]), line[4] if len(line) > 4 else []) for line in lines]


def ws_tail_options(header: dict[str, Any]) -> list[str]:
    """The options of `tail ws` that read as the capture's live run did: its name and rules."""
    feed = header["feed"]
    options = ["--name", header["source"]]
    for text in feed.get("send", []):
        options += ["--send", text]
    for key in ("each", "event-name", "event-time"):
        if key in feed:
            options += [f"--{key}", feed[key]]
    return options


# -- WebSocket captures ---------------------------------------------------------------


def ws_captures(tmp_path: Path) -> dict[str, Path]:
    """The bundled ws sample and the capture written here."""
    return {
        "sample": SAMPLES / "ws.jsonl",
        "written": write(tmp_path / "ws.jsonl", WS_HEADER, WS_LINES),
    }


@pytest.mark.parametrize("which", ["sample", "written"])
def test_tail_ws_of_a_served_capture_prints_what_replay_prints(
    env: dict[str, str], tmp_path: Path, which: str
) -> None:
    """`tail ws` of `replay --serve`: the replay's envelopes, at the recorded URL's path."""
    path = ws_captures(tmp_path)[which]
    header = header_of(path)
    expected = replayed(path, env)
    with serving("--speed", "1000", path, env=env) as served:
        recorded_path = header["url"].split("/", 3)[3].split("?")[0]
        assert served.url.endswith("/" + recorded_path)
        options = ws_tail_options(header)
        done = wstail("tail", "ws", served.url, *options, "-n", str(len(expected)), env=env)
    assert done.returncode == 0, done.stderr.decode()
    printed = [json.loads(line) for line in done.stdout.splitlines()]
    assert [comparable(e) for e in printed] == [comparable(e) for e in expected]
    assert [e["seq"] for e in printed] == [e["seq"] for e in expected]


@pytest.mark.usefixtures("node_modules")
@pytest.mark.parametrize("which", ["sample", "written"])
def test_npm_ws_client_gets_the_recorded_frames(
    env: dict[str, str], tmp_path: Path, which: str
) -> None:
    """The npm `ws` client gets every recorded frame: text as text, binary as binary; what it
    sends (a subscription) is ignored."""
    path = ws_captures(tmp_path)[which]
    frames = frame_lines(path)
    expected = [{"text": f[2]} if f[1] == "text" else {"binary": f[2]} for f in frames]
    with serving("--speed", "1000", path, env=env) as served:
        received = node(PEERS / "ws_client.js", served.url, str(len(expected)), WS_SUBSCRIBE)
    assert received == expected
    if which == "written":
        assert {"binary": BIN} in received and {"text": "not json: a notice"} in received


def test_a_ws_capture_is_served_at_its_path_only(env: dict[str, str], tmp_path: Path) -> None:
    """Another path is not the capture's: HTTP 404 before any upgrade."""
    import urllib.error
    import urllib.request

    path = ws_captures(tmp_path)["written"]
    with serving(path, env=env) as served:
        base = f"http://127.0.0.1:{served.port}"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(base + "/ws", timeout=scaled(5))  # noqa: S310 - loopback
    assert refused.value.code == 404


# -- Socket.IO captures ---------------------------------------------------------------


def sio_captures(tmp_path: Path) -> dict[str, Path]:
    """The bundled sio sample, and captures written here in /chat (another path) and in /."""
    return {
        "sample": SAMPLES / "sio.jsonl",
        "chat": write(tmp_path / "chat.jsonl", sio_header("/chat", "/live/"), sio_lines("/chat")),
        "root": write(tmp_path / "root.jsonl", sio_header("/", "/socket.io/"), sio_lines("/")),
    }


EIO = pytest.mark.parametrize("eio", ["4", "3"], ids=["eio4", "eio3"])
SIO_CAPTURES = pytest.mark.parametrize("which", ["sample", "chat", "root"])


@EIO
@SIO_CAPTURES
def test_tail_sio_of_a_served_capture_prints_what_replay_prints(
    env: dict[str, str], tmp_path: Path, which: str, eio: str
) -> None:
    """`tail sio URL` (the URL printed: its namespace's) of `replay --serve --eio 4|3` prints the
    replay's envelopes: the recorded event names, numbers and binary attachments."""
    path = sio_captures(tmp_path)[which]
    header = header_of(path)
    feed = header["feed"]
    expected = replayed(path, env)
    with serving("--speed", "1000", "--eio", eio, path, env=env) as served:
        assert served.url.endswith(feed["namespace"])
        assert ("Socket.IO path" in served.first_line) is (feed["path"] != "/socket.io/")
        options = ["--name", header["source"], "--path", feed["path"]]
        options += ["--event-time", feed["event-time"], "-n", str(len(expected))]
        for event, argument in feed.get("emit", []):
            options += ["--emit", event, argument]
        done = wstail("tail", "sio", served.url, *options, env=env)
    assert done.returncode == 0, done.stderr.decode()
    printed = [json.loads(line) for line in done.stdout.splitlines()]
    assert [comparable(e) for e in printed] == [comparable(e) for e in expected]
    assert f"(eio{eio})" in done.stderr.decode()


@pytest.mark.usefixtures("node_modules")
@pytest.mark.parametrize(
    ("client", "eio", "transport"),
    [("4", "4", []), ("4", "4", ["--polling"]), ("2", "3", []), ("2", "3", ["--polling"])],
    ids=["4.8", "4.8-polling", "2.5", "2.5-polling"],
)
@SIO_CAPTURES
def test_official_sio_client_gets_the_recorded_events(
    env: dict[str, str], tmp_path: Path, which: str, client: str, eio: str, transport: list[str]
) -> None:
    """socket.io-client 4.8 (EIO4) and 2.5 (EIO3), WebSocket or polling first, get the recorded
    events of the capture's namespace, in order, binary attachments as Buffers."""
    path = sio_captures(tmp_path)[which]
    feed = header_of(path)["feed"]
    expected = recorded_events(path)
    with serving("--speed", "1000", "--eio", eio, path, env=env) as served:
        base = served.base_url
        args = ["--path", feed["path"], *transport, client, base, feed["namespace"]]
        received = node(PEERS / "sio_client.js", *args, str(len(expected)))
    assert [binaries([event["event"], *event["args"]]) for event in received] == expected
    if which != "sample":
        assert any("$buffer" in json.dumps(event) for event in received)


@pytest.mark.usefixtures("node_modules")
@EIO
def test_another_namespace_is_refused(env: dict[str, str], tmp_path: Path, eio: str) -> None:
    """A client of a namespace the capture does not hold is refused, as socket.io does."""
    path = sio_captures(tmp_path)["chat"]
    with serving("--eio", eio, path, env=env) as served:
        client = "4" if eio == "4" else "2"
        args = ["--path", "/live/", client, served.base_url, "/other", "1"]
        done = subprocess.run(
            [shutil.which("node") or "node", str(PEERS / "sio_client.js"), *args],
            capture_output=True,
            timeout=scaled(20),
        )
    assert done.returncode == 2
    assert "Invalid namespace" in done.stderr.decode()


# -- --demo ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "options"),
    [("ws", []), ("sio", []), ("sio", ["--eio", "3"])],
    ids=["ws", "sio", "sio-eio3"],
)
def test_demo_prints_what_replay_of_the_sample_prints(
    env: dict[str, str], kind: str, options: list[str]
) -> None:
    """`tail ws|sio --demo` takes the sample's sends, namespace, path, rules and name: its
    envelopes are those of `replay` of the sample, apart from recv_ts and seq."""
    expected = replayed(SAMPLES / f"{kind}.jsonl", env)[:8]
    done = wstail("tail", kind, "--demo", *options, "-n", str(len(expected)), env=env)
    assert done.returncode == 0, done.stderr.decode()
    printed = [json.loads(line) for line in done.stdout.splitlines()]
    assert [comparable(e) for e in printed] == [comparable(e) for e in expected]
    assert "wstail: demo: serving the bundled" in done.stderr.decode()


def test_demo_options_given_win_over_the_sample(env: dict[str, str]) -> None:
    """What the command line gives replaces the sample's: here the name and the event rule."""
    done = wstail(
        "tail", "ws", "--demo", "--name", "mine", "--event-name", "type", "-n", "3", env=env
    )
    assert done.returncode == 0, done.stderr.decode()
    printed = [json.loads(line) for line in done.stdout.splitlines()]
    assert {e["source"] for e in printed} == {"mine"}
    assert [e["event"] for e in printed] == ["update", "message", "update"]  # the ack: no type
    assert printed[2]["event_ts"] is not None  # --event-time ts still the sample's


def test_record_demo_keeps_the_sample_settings(env: dict[str, str], tmp_path: Path) -> None:
    """`record -o F sio --demo`: the capture's header holds the sample's settings, so replay of
    it prints what replay of the sample prints."""
    out = tmp_path / "demo.jsonl"
    done = wstail("record", "-o", out, "sio", "--demo", "-n", "4", env=env)
    assert done.returncode == 0, done.stderr.decode()
    feed = header_of(out)["feed"]
    assert feed == {**header_of(SAMPLES / "sio.jsonl")["feed"]}
    expected = replayed(SAMPLES / "sio.jsonl", env)[:4]
    assert [comparable(e) for e in replayed(out, env)] == [comparable(e) for e in expected]


@pytest.mark.parametrize(
    ("kind", "url"), [("ws", "ws://127.0.0.1:9/"), ("sio", "http://127.0.0.1:9")]
)
def test_demo_with_a_url_is_a_usage_error(env: dict[str, str], kind: str, url: str) -> None:
    """--demo serves its own sample: a URL as well is a usage error (exit 2), one line."""
    done = wstail("tail", kind, "--demo", url, env=env)
    assert done.returncode == 2
    assert done.stderr.decode().splitlines() == [
        "wstail: --demo serves its own bundled sample: drop the URL (or --demo)"
    ]
    assert done.stdout == b""
