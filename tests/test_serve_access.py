"""replay --serve answers its own Host names and the origins --cors names, nothing else (issue 22).

Raw HTTP/1.1 requests, written by hand so that Host and Origin say what a
hostile page's browser would send, against serve_capture on 127.0.0.1:0:
every route (Socket.IO long-polling and its preflight, the WebSocket
handshake of Engine.IO 3 and 4, the node WebSocket), then the rules
themselves as a table, then the command's options. The real browser's
side is in test_browser.py.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from helpers.serve import Served, capture_opener, sio, text, write_capture
from helpers.serving import WSTAIL, clean_env, serving, split_notices
from helpers.sio_peers import run, scaled
from wstail.feeds import FEEDS
from wstail.serve import serve_capture
from wstail.serve.access import Access, parse_allowed_host, parse_origin
from wstail.serve.run import exposure_warning

SAMPLES = Path(__file__).resolve().parent.parent / "cli" / "wstail" / "data"
EVIL = "http://evil.example"
APP = "http://app.example:5173"


@dataclasses.dataclass(frozen=True)
class Route:
    """One way into the server: the capture's source, the dialect, the request."""

    source: str
    eio: str
    target: str
    upgrade: bool  # a WebSocket handshake (101 when served)
    method: str = "GET"


ROUTES = {
    "eio3-polling": Route("paymium.user", "3", "/ws/socket.io/?EIO=3&transport=polling", False),
    "eio4-polling": Route("paymium.user", "4", "/ws/socket.io/?EIO=4&transport=polling", False),
    "eio4-preflight": Route(
        "paymium.user", "4", "/ws/socket.io/?EIO=4&transport=polling", False, "OPTIONS"
    ),
    "eio3-websocket": Route("paymium.user", "3", "/ws/socket.io/?EIO=3&transport=websocket", True),
    "eio4-websocket": Route("paymium.user", "4", "/ws/socket.io/?EIO=4&transport=websocket", True),
    "node-websocket": Route("node", "4", "/ws", True),
}


@dataclasses.dataclass(frozen=True)
class Answer:
    """The status, headers (lowercase names) and body of an HTTP answer."""

    status: int
    headers: dict[str, str]
    body: str


def capture(tmp_path: Path, source: str) -> Path:
    """A capture of `source` with a few frames."""
    if source == "node":
        frames = [text(0.01 * i, f'{{"status": "n{i}"}}') for i in range(3)]
    else:
        namespace = "/user" if source == "paymium.user" else "/public"
        frames = [sio(0.01 * i, namespace, f'["stream",{{"n":{i}}}]') for i in range(3)]
    return write_capture(tmp_path / f"{source}.wstail", source, frames)


async def request(port: int, route: Route, host: str | None, origin: str | None = None) -> Answer:
    """One raw HTTP/1.1 request on 127.0.0.1:port with exactly these Host and Origin headers."""
    lines = [f"{route.method} {route.target} HTTP/1.1"]
    if host is not None:
        lines.append(f"Host: {host}")
    if origin is not None:
        lines.append(f"Origin: {origin}")
    if route.upgrade:
        key = base64.b64encode(os.urandom(16)).decode()
        lines += ["Upgrade: websocket", "Connection: Upgrade", f"Sec-WebSocket-Key: {key}"]
        lines.append("Sec-WebSocket-Version: 13")
    else:
        lines.append("Connection: close")
    if route.method == "OPTIONS":
        lines.append("Access-Control-Request-Method: POST")
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split()[1])
        headers = {}
        for line in head[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        body = b""
        if status != 101:
            body = await reader.readexactly(int(headers.get("content-length", "0")))
        return Answer(status, headers, body.decode())
    finally:
        writer.close()


def ask(
    tmp_path: Path,
    route: Route,
    asks: Sequence[tuple[str | None, str | None]],
    **options: Any,
) -> list[Answer]:
    """Serve a capture of the route's source, send each (Host, Origin) request ("{port}"
    in a value: the bound port), return the answers."""

    async def body() -> list[Answer]:
        opener = capture_opener(capture(tmp_path, route.source))
        async with Served(opener, route.source, eio=route.eio, **options) as served:
            answers = []
            for host, origin in asks:
                host = host.format(port=served.port) if host is not None else None
                origin = origin.format(port=served.port) if origin is not None else None
                answers.append(await request(served.port, route, host, origin))
            return answers

    return run(body)


def served_status(route: Route) -> int:
    """The status of a request that is served: 101 for a handshake, else 200."""
    return 101 if route.upgrade else 200


@pytest.mark.parametrize("name", list(ROUTES))
def test_forged_host_or_foreign_origin_is_refused_on_every_route(tmp_path: Path, name: str) -> None:
    """The issue's request (Origin evil.example, Host attacker.example) and each half of it
    get HTTP 403 with a one-line reason, before any handshake or CORS header."""
    route = ROUTES[name]
    answers = ask(
        tmp_path,
        route,
        [
            ("attacker.example", EVIL),
            ("attacker.example:{port}", None),  # DNS rebinding: same origin, the page's name
            ("127.0.0.1:{port}", EVIL),
            ("localhost:{port}", "null"),  # a sandboxed frame or a file
        ],
    )
    for answer in answers:
        assert answer.status == 403
        assert answer.headers["content-type"].startswith("text/plain")
        assert answer.body.startswith("forbidden: ") and answer.body.count("\n") == 1
        assert not any(key.startswith("access-control-") for key in answer.headers)
    assert "Host attacker.example" in answers[0].body and "--allow-host" in answers[1].body
    assert f"Origin {EVIL} is not allowed" in answers[2].body and "--cors" in answers[2].body


@pytest.mark.parametrize("name", list(ROUTES))
def test_no_origin_loopback_hosts_and_same_origin_are_served(tmp_path: Path, name: str) -> None:
    """Without an Origin (a CLI or Node.js client), on a loopback name or the bound address,
    and from the server's own origin, every route answers as before; no CORS headers."""
    route = ROUTES[name]
    answers = ask(
        tmp_path,
        route,
        [
            ("127.0.0.1:{port}", None),
            ("localhost:{port}", None),
            ("[::1]:{port}", None),
            ("LOCALHOST.:{port}", None),
            ("app.localhost:{port}", None),
            ("127.0.0.1:{port}", "http://127.0.0.1:{port}"),
            ("localhost:{port}", "http://localhost:{port}"),
        ],
    )
    for answer in answers:
        assert answer.status == served_status(route), answer.body
        assert "access-control-allow-origin" not in answer.headers


@pytest.mark.parametrize("name", list(ROUTES))
def test_cors_origin_is_served_with_credentials(tmp_path: Path, name: str) -> None:
    """An origin named by `cors` is served (echoed with credentials on HTTP answers); others,
    and the named origin on another port, are still refused."""
    route = ROUTES[name]
    answers = ask(
        tmp_path,
        route,
        [("127.0.0.1:{port}", APP), ("127.0.0.1:{port}", EVIL), ("127.0.0.1:{port}", APP + "1")],
        cors=[APP, "https://other.example"],
    )
    allowed, evil, other_port = answers
    assert allowed.status == served_status(route), allowed.body
    if not route.upgrade:
        assert allowed.headers["access-control-allow-origin"] == APP
        assert allowed.headers["access-control-allow-credentials"] == "true"
        assert allowed.headers["vary"] == "Origin"
    assert evil.status == other_port.status == 403


@pytest.mark.parametrize("name", ["eio3-polling", "eio4-polling", "eio4-preflight"])
def test_any_origin_on_a_public_capture_never_with_credentials(tmp_path: Path, name: str) -> None:
    """`*` serves a public capture to every origin with `Access-Control-Allow-Origin: *` and
    no Allow-Credentials, even to an origin also named."""
    public = dataclasses.replace(ROUTES[name], source="paymium.public")
    answers = ask(
        tmp_path,
        public,
        [("127.0.0.1:{port}", EVIL), ("127.0.0.1:{port}", "null"), ("127.0.0.1:{port}", None)],
        cors=["*"],
    )
    for answer in answers:
        assert answer.status == 200
        assert answer.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in answer.headers


@pytest.mark.parametrize("name", ["eio3-websocket", "eio4-websocket"])
def test_any_origin_opens_a_public_websocket(tmp_path: Path, name: str) -> None:
    """`*` lets every origin through the WebSocket handshake of a public capture."""
    public = dataclasses.replace(ROUTES[name], source="paymium.public")
    [answer] = ask(tmp_path, public, [("127.0.0.1:{port}", EVIL)], cors=["*"])
    assert answer.status == 101


@pytest.mark.parametrize("source", ["paymium.user", "node"])
def test_any_origin_is_refused_for_a_private_capture(tmp_path: Path, source: str) -> None:
    """serve_capture raises ValueError for `*` on a private capture, before binding."""
    opener = capture_opener(capture(tmp_path, source))

    async def body() -> None:
        with pytest.raises(ValueError, match="private"):
            await serve_capture(opener, source, cors=["*"])

    run(body)
    assert opener.calls == 0


def test_allow_host_names_are_answered(tmp_path: Path) -> None:
    """A name given in `allow_hosts` is answered on any port (a reverse proxy's, a tunnel's);
    other names are not, nor IP literals on a loopback bind."""
    route = ROUTES["eio4-polling"]
    answers = ask(
        tmp_path,
        route,
        [
            ("replay.example:{port}", None),
            ("Replay.Example", None),
            ("replay.example.evil:{port}", None),
            ("192.0.2.7:{port}", None),
        ],
        allow_hosts=["replay.example"],
    )
    assert [answer.status for answer in answers] == [200, 200, 403, 403]


@pytest.mark.parametrize(
    ("bound", "host", "local", "allowed"),
    [
        ("127.0.0.1", "127.0.0.1:8080", None, True),
        ("127.0.0.1", "127.0.0.2:8080", None, True),  # all of 127/8 is loopback
        ("127.0.0.1", "localhost", None, True),
        ("127.0.0.1", "[::1]:8080", None, True),
        ("127.0.0.1", "[::ffff:127.0.0.1]:8080", None, True),
        ("127.0.0.1", "attacker.example:8080", None, False),
        ("127.0.0.1", "localhost.attacker.example", None, False),
        ("127.0.0.1", "192.0.2.7:8080", None, False),
        ("192.0.2.7", "192.0.2.7:8080", None, True),  # the bound address
        ("192.0.2.7", "192.0.2.8:8080", None, False),
        ("myhost.lan", "MyHost.lan:8080", None, True),  # bound by name
        ("0.0.0.0", "192.0.2.7:8080", None, True),  # every interface: any IP literal
        ("::", "[2001:db8::1]:8080", None, True),
        ("0.0.0.0", "myhost.lan:8080", None, False),  # names: --allow-host
        ("0.0.0.0", "attacker.example", None, False),
        ("myhost.lan", "192.0.2.7:8080", "192.0.2.7", True),  # the address it came in on
        ("myhost.lan", "192.0.2.8:8080", "192.0.2.7", False),
        ("127.0.0.1", None, None, True),  # no Host: HTTP/1.0 (aiohttp refuses it in 1.1)
    ],
)
def test_host_rule(bound: str, host: str | None, local: str | None, allowed: bool) -> None:
    """Host: loopback names, the bound address or the local one, IP literals on 0.0.0.0/::."""
    assert Access.of(bound).host_allowed(host, local) is allowed


@pytest.mark.parametrize(
    ("cors", "origin", "host", "allowed", "headers"),
    [
        ((), None, "127.0.0.1:8080", True, {}),
        ((), EVIL, "127.0.0.1:8080", False, {}),
        ((), "http://127.0.0.1:8080", "127.0.0.1:8080", True, {}),  # same origin
        ((), "https://127.0.0.1:8080", "127.0.0.1:8080", False, {}),  # another scheme
        ((), "http://localhost:80", "localhost", True, {}),
        ((), "null", "127.0.0.1:8080", False, {}),
        (
            (APP,),
            APP,
            "127.0.0.1:8080",
            True,
            {
                "Access-Control-Allow-Origin": APP,
                "Access-Control-Allow-Credentials": "true",
                "Vary": "Origin",
            },
        ),
        (("HTTP://App.Example:5173/",), APP, "127.0.0.1:8080", True, {}),  # normalized
        ((APP,), "http://app.example", "127.0.0.1:8080", False, {}),
        (("*",), EVIL, "127.0.0.1:8080", True, {"Access-Control-Allow-Origin": "*"}),
        (("*",), None, "127.0.0.1:8080", True, {"Access-Control-Allow-Origin": "*"}),
    ],
)
def test_origin_rule(
    cors: tuple[str, ...], origin: str | None, host: str, allowed: bool, headers: dict[str, str]
) -> None:
    """Origin: none, the server's own, or one --cors names; `*` never with credentials."""
    access = Access.of("127.0.0.1", cors)
    assert access.origin_allowed(origin, host) is allowed
    if allowed and headers:
        assert access.cors_headers(origin) == headers
    if not allowed:
        assert access.refusal(host, origin, None) is not None


@pytest.mark.parametrize(
    ("text", "origin"),
    [
        ("*", "*"),
        ("http://localhost:3000", "http://localhost:3000"),
        ("http://localhost:3000/", "http://localhost:3000"),
        ("HTTPS://Example.COM:443", "https://example.com"),
        ("http://[::1]:8080", "http://[::1]:8080"),
        ("app://local", "app://local"),  # an Electron app's scheme
    ],
)
def test_parse_origin(text: str, origin: str) -> None:
    """An origin is kept as browsers serialize it: lowercase, no default port, no slash."""
    assert parse_origin(text) == origin


@pytest.mark.parametrize(
    "text",
    ["localhost:3000", "http://a.example/page", "http://a.example?x", "http://u@a.example", "null"],
)
def test_parse_origin_refuses_what_is_not_an_origin(text: str) -> None:
    """A path, a query, credentials, no scheme, `null`: ValueError."""
    with pytest.raises(ValueError):
        parse_origin(text)


@pytest.mark.parametrize("text", ["replay.example:8080", "http://replay.example", "", "a b"])
def test_parse_allowed_host_refuses_ports_and_urls(text: str) -> None:
    """--allow-host takes a name only."""
    with pytest.raises(ValueError):
        parse_allowed_host(text)


def test_exposure_warning() -> None:
    """Beyond loopback, one line says what is exposed and where; on loopback, nothing."""
    user, public = FEEDS["user"], FEEDS["public"]
    assert exposure_warning("user.jsonl", user, "127.0.0.1", 8080) is None
    assert exposure_warning("user.jsonl", user, "localhost", 8080) is None
    assert exposure_warning("user.jsonl", user, "0.0.0.0", 8080) == (
        "wstail: warning: serving user.jsonl (private: balances and orders) to the network "
        "on 0.0.0.0:8080; anyone who can reach this port can read it"
    )
    warning = exposure_warning("p.jsonl", public, "::", 8080)
    assert warning is not None and "(public) to the network on [::]:8080" in warning


# -- the command -------------------------------------------------------------------


def wstail_serve(*args: str | Path, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    """`wstail replay ARGS...` expected to stop at once (a usage error)."""
    return subprocess.run(
        [WSTAIL, "replay", *map(str, args)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=env,
        timeout=scaled(15),
    )


@pytest.mark.parametrize("sample", ["user.jsonl", "node.jsonl"])
def test_cli_any_origin_on_a_private_capture_is_a_usage_error(tmp_path: Path, sample: str) -> None:
    """--cors '*' with a private capture: exit 2, one line naming the file and why."""
    done = wstail_serve(
        "--serve", "127.0.0.1:0", "--cors", "*", SAMPLES / sample, env=clean_env(tmp_path)
    )
    lines = done.stderr.decode().splitlines()
    assert done.returncode == 2 and len(lines) == 1, lines
    assert lines[0].startswith("wstail: --cors '*': ") and sample in lines[0]
    assert "private" in lines[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--cors", "localhost:3000"],
            "--cors 'localhost:3000': expected an origin like http://localhost:3000, or *",
        ),
        (
            ["--allow-host", "a.example:80"],
            "--allow-host 'a.example:80': expected a host name, without a scheme or port",
        ),
    ],
)
def test_cli_bad_values_are_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    """A --cors that is not an origin, an --allow-host with a port: exit 2, one line."""
    sample = SAMPLES / "public.jsonl"
    done = wstail_serve("--serve", "127.0.0.1:0", *args, sample, env=clean_env(tmp_path))
    assert done.returncode == 2
    assert done.stderr.decode() == f"wstail: {message}\n"


def test_cli_cors_needs_serve_but_not_from_the_environment(tmp_path: Path) -> None:
    """--cors without --serve is a usage error; WSTAIL_REPLAY_CORS left set is not."""
    sample = SAMPLES / "public.jsonl"
    env = clean_env(tmp_path)
    done = wstail_serve("--cors", APP, "-n", "1", sample, env=env)
    assert done.returncode == 2
    assert done.stderr.decode() == "wstail: --cors and --allow-host only apply with --serve\n"
    done = wstail_serve("-n", "1", sample, env={**env, "WSTAIL_REPLAY_CORS": APP})
    assert done.returncode == 0 and len(done.stdout.splitlines()) == 1


def test_cli_cors_and_allow_host_from_the_environment(tmp_path: Path) -> None:
    """WSTAIL_REPLAY_CORS and WSTAIL_REPLAY_ALLOW_HOST (comma lists) work like the options;
    on loopback no warning is printed."""
    env = {
        **clean_env(tmp_path),
        "WSTAIL_REPLAY_CORS": f"{APP},https://other.example",
        "WSTAIL_REPLAY_ALLOW_HOST": "replay.example",
    }
    route = ROUTES["eio4-polling"]

    async def asks(port: int) -> list[int]:
        return [
            (await request(port, route, host, origin)).status
            for host, origin in [
                (f"127.0.0.1:{port}", APP),
                (f"127.0.0.1:{port}", "https://other.example"),
                ("replay.example", None),
                (f"127.0.0.1:{port}", EVIL),
            ]
        ]

    with serving(SAMPLES / "user.jsonl", env=env) as served:
        statuses = asyncio.run(asks(served.port))
        code, lines = served.stop()
    assert statuses == [200, 200, 200, 403]
    notices, others = split_notices(lines)
    assert code == 130 and others == ["wstail: interrupted"]
    # the three handshakes served opened a session each (and the refused one none)
    assert sorted({number for number, _ in notices}) == [1, 2, 3]
