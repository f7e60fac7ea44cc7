"""--feed FILE.toml: a generic feed's settings written once; every documented key shape,
the command line over the file, and bad files as one-line usage errors (file:line, key)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import Wstail
from helpers.generic_peers import ScriptedPeer, ensure_ws_server, sio_emit
from helpers.live import Done, run_wstail, wstail_env
from helpers.sio_peers import run


@pytest.fixture(scope="module")
def _node_peers() -> None:
    """The ws and socket.io servers are installed (npm install when missing)."""
    ensure_ws_server()


async def tail_with_file(
    kind: str, scenario: dict[str, Any], toml: str, tmp_path: Path, *args: str
) -> tuple[Done, ScriptedPeer]:
    """Write the feed file (URL in it replaced by the peer's), run `wstail tail ARGS...`."""
    async with ScriptedPeer(kind, scenario) as peer:
        feed = tmp_path / "feed.toml"
        feed.write_text(toml.replace("URL", peer.url()))
        argv = [arg.replace("FEED", str(feed)).replace("URL", peer.url()) for arg in args]
        done = await run_wstail(*argv, env=wstail_env(tmp_path), timeout=20)
    return done, peer


WS_FILE = """\
# a Kraken-style feed
url = "URL/v2"
name = "kraken"
send = ['{"method":"subscribe"}', {op = "sub", args = ["a", 1]}]
each = "data"
event-name = "channel"
event-time = "timestamp"
max-frame-size = 1048576
HEADER
"""
MESSAGE = '{"channel":"trade","data":[{"p":1,"timestamp":1790139583},{"p":2}]}'


@pytest.mark.usefixtures("_node_peers")
@pytest.mark.parametrize(
    "header",
    ['header = ["X-Desk: d1", "User-Agent: my-desk/1.0"]', '[header]\nX-Desk = "d1"'],
    ids=["list", "table"],
)
def test_ws_feed_file_sets_url_sends_headers_and_rules(header: str, tmp_path: Path) -> None:
    """The URL from the file; send as strings and tables (compact JSON), sent in order;
    headers as a list or a table; the rules and the name applied."""
    scenario = {"path": "/v2", "connections": [[{"wait": 2}, {"text": MESSAGE}]]}
    toml = WS_FILE.replace("HEADER", header)
    done, peer = run(
        lambda: tail_with_file(
            "ws", scenario, toml, tmp_path, "tail", "ws", "--feed", "FEED", "-n", "2"
        )
    )
    assert done.code == 0, done.err
    assert peer.received() == ['{"method":"subscribe"}', '{"op":"sub","args":["a",1]}']
    assert peer.connects()[0]["url"] == "/v2"
    assert peer.connects()[0]["headers"]["x-desk"] == "d1"
    tails = [line.split(b',"source":', 1)[1] for line in done.lines]
    assert tails == [
        b'"kraken","event":"trade","event_ts":"2026-09-23T04:59:43.000000Z",'
        b'"data":{"p":1,"timestamp":1790139583}}',
        b'"kraken","event":"trade","event_ts":null,"data":{"p":2}}',
    ]


@pytest.mark.usefixtures("_node_peers")
def test_the_command_line_overrides_the_file(tmp_path: Path) -> None:
    """The URL argument, --send, --name and a rule given on the command line win."""
    scenario = {"connections": [[{"wait": 1}, {"text": MESSAGE}]]}
    toml = 'url = "ws://127.0.0.1:9/never"\nname = "file"\nsend = ["from file"]\neach = "data"\n'
    done, peer = run(
        lambda: tail_with_file(
            "ws",
            scenario,
            toml,
            tmp_path,
            "tail",
            "ws",
            "URL/cli",
            "--feed",
            "FEED",
            "--send",
            "from cli",
            "--name",
            "cli",
            "--each",
            "nothing",
            "-n",
            "1",
        )
    )
    assert done.code == 0, done.err
    assert peer.received() == ["from cli"]
    assert peer.connects()[0]["url"] == "/cli"
    assert b'"source":"cli","event":"message"' in done.out
    assert b'"data":' + MESSAGE.encode() in done.out


@pytest.mark.usefixtures("_node_peers")
@pytest.mark.parametrize(
    "emit",
    [
        'emit = [["subscribe", {pair = "BTC-EUR"}], ["join", "\\"r1\\""]]',
        'emit = [["subscribe", \'{"pair":"BTC-EUR"}\'], ["join", \'"r1"\']]',
        'emit = {subscribe = {pair = "BTC-EUR"}, join = "\\"r1\\""}',
    ],
    ids=["pairs", "pairs-of-json-text", "table"],
)
def test_sio_feed_file_emits_pairs_or_a_table(emit: str, tmp_path: Path) -> None:
    """emit as ["event", argument] pairs (a TOML value or JSON text) or as a table; the
    namespace and path from the file."""
    scenario = {
        "namespace": "/prices",
        "path": "/io",
        "connections": [[{"wait": 2}, sio_emit("quote", 1)]],
    }
    toml = f'url = "URL"\nnamespace = "/prices"\npath = "/io"\n{emit}\n'
    done, peer = run(
        lambda: tail_with_file(
            "sio4", scenario, toml, tmp_path, "tail", "sio", "--feed", "FEED", "-n", "1"
        )
    )
    assert done.code == 0, done.err
    assert peer.events_received() == [
        '2/prices,["subscribe",{"pair":"BTC-EUR"}]',
        '2/prices,["join","r1"]',
    ]
    assert b'"event":"quote"' in done.out


BAD_FILES = [
    ('url = "ws://h/"\nnmae = "k"\n', "{f}:2: unknown key 'nmae' (did you mean 'name'?)"),
    ('url = "ws://h/"\nsned = ["x"]\n', "{f}:2: unknown key 'sned' (did you mean 'send'?)"),
    (
        'url = "ws://h/"\nemit = [["a", 1]]\n',
        "{f}:2: unknown key 'emit' (this feed subscribes with 'send')",
    ),
    ('url = "ws://h/"\n\neach = [1]\n', "{f}:3: each: expected a single value"),
    ("url = 5\n", "{f}:1: url: expected a string, not 5"),
    (
        'url = "ws://h/"\nmax-frame-size = "abc"\n',
        "{f}:2: max-frame-size: 'abc' is not a whole number of bytes",
    ),
    ('url = "ws://h/"\nretries = -1\n', "{f}:2: retries: -1 is not in the range x>=0."),
    (
        'url = "ws://h/"\nheader = [1, {a = 2}]\n',
        "{f}:2: header: expected a string or a list of strings",
    ),
    ('url = "ws://h/"\neach = \n', "{f}:2: not valid TOML: Invalid value"),
    ('url = "ws://h/"\nname = ""\n', "{f}:2: --name '': give a printable, non-empty name"),
    ("demo = true\n", "{f}:1: unknown key 'demo'"),
]


@pytest.mark.parametrize(("toml", "message"), BAD_FILES)
def test_a_bad_ws_feed_file_is_a_usage_error_naming_file_line_and_key(
    toml: str, message: str, wstail: Wstail, tmp_path: Path
) -> None:
    """Exit 2, one line naming the file, the line and the key; never a traceback."""
    feed = tmp_path / "feed.toml"
    feed.write_text(toml)
    done = wstail("tail", "ws", "--feed", feed, "--retries", "0")
    assert done.code == 2, done
    assert done.stderr.splitlines() == ["wstail: " + message.format(f=feed)]


SIO_BAD_FILES = [
    (
        'url = "http://h/"\nemit = [["a"]]\n',
        '{f}:2: emit: expected a table {{event = argument}} or a list of ["event", argument]',
    ),
    (
        'url = "http://h/"\nemit = {sub = "not json"}\n',
        "{f}:2: --emit sub: the argument is not JSON: 'not json' (quote a string: '\"text\"')",
    ),
    (
        'url = "http://h/"\nsend = "x"\n',
        "{f}:2: unknown key 'send' (this feed subscribes with 'emit')",
    ),
]


@pytest.mark.parametrize(("toml", "message"), SIO_BAD_FILES)
def test_a_bad_sio_feed_file_is_a_usage_error(
    toml: str, message: str, wstail: Wstail, tmp_path: Path
) -> None:
    """The same for `tail sio`: emit's shapes and arguments checked at their line."""
    feed = tmp_path / "feed.toml"
    feed.write_text(toml)
    done = wstail("tail", "sio", "--feed", feed, "--retries", "0")
    assert done.code == 2, done
    assert done.stderr.splitlines() == ["wstail: " + message.format(f=feed)]


def test_a_bad_rule_in_a_feed_file_names_the_file_and_marks_the_column(
    wstail: Wstail, tmp_path: Path
) -> None:
    """A bad expression: file:line, the option, the caret."""
    feed = tmp_path / "feed.toml"
    feed.write_text('url = "ws://h/"\n\nevent-time = "a..b"\n')
    done = wstail("record", "-o", tmp_path / "cap.jsonl", "ws", "--feed", feed)
    assert done.code == 2, done
    assert done.stderr.splitlines() == [
        f"wstail: {feed}:3: --event-time: invalid JMESPath expression 'a..b': "
        "unexpected token '.' at column 3",
        "  a..b",
        "    ^",
    ]
    assert not (tmp_path / "cap.jsonl").exists()


def test_an_unreadable_or_non_toml_feed_file_is_a_usage_error(
    wstail: Wstail, tmp_path: Path
) -> None:
    """Missing, a directory, not UTF-8: exit 2, the file named, no traceback."""
    missing = tmp_path / "missing.toml"
    done = wstail("tail", "ws", "--feed", missing)
    assert (done.code, done.stderr) == (2, f"wstail: --feed {missing}: No such file or directory\n")
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    done = wstail("tail", "ws", "--feed", binary)
    assert (done.code, done.stderr) == (
        2,
        f"wstail: {binary}: not a TOML feed file (not UTF-8 text)\n",
    )
    directory = tmp_path / "dir.toml"
    directory.mkdir()
    done = wstail("tail", "sio", "--feed", directory)
    assert done.code == 2
    assert str(directory.name) in done.stderr and "Traceback" not in done.stderr


# -- completions ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "offered"),
    [
        ("wstail tail ", {"ws", "sio"}),
        ("wstail record -o cap.jsonl ", {"ws", "sio"}),
        ("wstail tail ws --ev", {"--event-name", "--event-time"}),
        ("wstail tail ws --se", {"--send"}),
        ("wstail tail ws --fe", {"--feed"}),
        ("wstail tail sio --em", {"--emit"}),
        ("wstail tail sio --na", {"--namespace", "--name"}),
        ("wstail tail sio --pa", {"--path"}),
        ("wstail record -o c ws --ea", {"--each"}),
        ("wstail tail sio http://h --emit a b --ea", {"--each"}),
        ("wstail replay --ea", {"--each"}),
        ("wstail replay --event-", {"--event-name", "--event-time"}),
    ],
)
def test_the_generic_commands_and_options_complete(words: str, offered: set[str]) -> None:
    """Bash completion offers the new feeds and their options (the scripts in completions/
    are Click's, generated per shell and checked by test_shell.py)."""
    from test_shell import complete

    assert set(complete(words)) >= offered


def test_feed_completes_files(tmp_path: Path) -> None:
    """--feed FILE.toml completes as a file."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, COMP_WORDS="wstail tail ws --feed fe", COMP_CWORD="4")
    env["_WSTAIL_COMPLETE"] = "bash_complete"
    out = subprocess.run(
        [sys.executable, "-m", "wstail"], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "file,fe"
