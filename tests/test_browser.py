"""A real browser receives `wstail replay --serve`'s events, from a page on another origin.

Headless Debian chromium (installed by .ci/run; on first use here when root
can apt-get it), driven by playwright-core (tests/peers/browser_client.js),
loads a page served on another port of 127.0.0.1 than the Socket.IO server,
so every request is cross-origin with credentials: socket.io-client 4.8
(`withCredentials: true`) and 2.5 (credentials by default, long-polling first,
then the upgrade) must both get every event of the capture, in order, once
`--cors` names the page's origin. Without it they get nothing, on
long-polling and on a WebSocket alone (which browsers do not guard with
CORS); `--cors '*'` serves pages without credentials only.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from helpers.binary_events import RECORDED, write_capture
from helpers.serving import clean_env, serving, sio_events
from helpers.sio_peers import TESTS, ensure_node_modules, scaled

ROOT = TESTS.parent
SAMPLE = ROOT / "cli" / "wstail" / "data" / "public.jsonl"
BROWSER_CLIENT = TESTS / "peers" / "browser_client.js"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CLIENT_SCRIPTS = {
    "4": TESTS / "node_modules" / "sioc4" / "dist" / "socket.io.min.js",
    "2": TESTS / "node_modules" / "sioc2" / "dist" / "socket.io.js",
}

PAGE = """<!doctype html>
<meta charset="utf-8">
<title>wstail browser test</title>
<script src="/socket.io.js"></script>
<script>
window.result = {events: [], error: null, transport: null};
const socket = io(%(url)s, %(options)s);
socket.on("connect", () => { window.result.transport = socket.io.engine.transport.name; });
socket.on("connect_error", (e) => { window.result.error = String((e && e.message) || e); });
for (const name of %(names)s) {
  socket.on(name, (...args) => window.result.events.push([name, ...args]));
}
</script>
"""


def page_html(base_url: str, names: list[str], **options: Any) -> str:
    """PAGE for the /public namespace at `base_url`: credentials, no reconnection, `options`."""
    settings = {"path": "/ws/socket.io", "withCredentials": True, "reconnection": False, **options}
    return PAGE % {
        "url": json.dumps(base_url + "/public"),
        "options": json.dumps(settings),
        "names": json.dumps(names),
    }


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's chromium: installed by .ci/run, or here when root may apt-get it."""
    if not Path(CHROMIUM).exists() and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "chromium"],
            check=False,
            capture_output=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            timeout=scaled(600),
        )
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} missing: apt-get install chromium (.ci/run does)"
    ensure_node_modules()
    return CHROMIUM


@dataclass
class PageServer:
    """The page server's URL and origin, and the page it serves at / (set once known)."""

    url: str
    html: str = ""

    @property
    def origin(self) -> str:
        """http://127.0.0.1:PORT, what the browser sends as the page's Origin."""
        return self.url.rstrip("/")


@contextlib.contextmanager
def page_server(script: Path) -> Iterator[PageServer]:
    """An HTTP server on its own port (another origin): the page at / and the client script."""
    page = PageServer("")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            bodies = {
                "/": (page.html.encode(), "text/html"),
                "/socket.io.js": (script.read_bytes(), "text/javascript"),
            }
            body, kind = bodies.get(self.path, (b"not found", "text/plain"))
            self.send_response(200 if self.path in bodies else 404)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            """Quiet: the test reads the browser's console instead."""

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    page.url = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield page
    finally:
        server.shutdown()
        server.server_close()


def browse(chromium: str, page_url: str, count: int) -> dict[str, Any]:
    """What the page's socket.io-client received: events, error, transport."""
    node = shutil.which("node") or "node"
    done = subprocess.run(
        [node, str(BROWSER_CLIENT), page_url, str(count)],
        capture_output=True,
        env={**os.environ, "CHROMIUM": chromium},
        cwd=TESTS,
        timeout=scaled(90),
    )
    assert done.returncode == 0, done.stderr.decode()
    result: dict[str, Any] = json.loads(done.stdout)
    result["console"] = done.stderr.decode()
    return result


@pytest.mark.parametrize(
    ("client", "serve"), [("4", []), ("2", ["--eio", "3"])], ids=["sioc4.8", "sioc2.5-eio3"]
)
def test_browser_on_another_origin_receives_every_event(
    chromium: str, tmp_path: Path, client: str, serve: list[str]
) -> None:
    """socket.io-client in chromium, from another origin allowed by --cors, with credentials,
    gets the capture."""
    recorded = [event for namespace, event in sio_events(SAMPLE) if namespace == "/public"]
    names = sorted({event[0] for event in recorded})
    with (
        page_server(CLIENT_SCRIPTS[client]) as page,
        serving(
            "--speed", "1000", "--cors", page.origin, *serve, SAMPLE, env=clean_env(tmp_path)
        ) as served,
    ):
        page.html = page_html(served.base_url, names)
        assert not page.url.startswith(served.base_url)  # another origin: another port
        result = browse(chromium, page.url, len(recorded))
    assert result["error"] is None, result["console"]
    assert result["events"] == recorded
    assert result["transport"] in ("websocket", "polling")


@pytest.mark.parametrize(
    ("client", "serve", "transports"),
    [
        ("4", [], ["polling", "websocket"]),
        ("4", [], ["websocket"]),
        ("2", ["--eio", "3"], ["polling", "websocket"]),
        ("2", ["--eio", "3"], ["websocket"]),
    ],
    ids=["sioc4.8", "sioc4.8-websocket", "sioc2.5-eio3", "sioc2.5-eio3-websocket"],
)
def test_browser_on_another_origin_is_refused_without_cors(
    chromium: str, tmp_path: Path, client: str, serve: list[str], transports: list[str]
) -> None:
    """Without --cors a page on another origin gets nothing: refused on long-polling (403,
    no CORS) and on the WebSocket, where the browser itself checks nothing (403 on Origin)."""
    recorded = [event for namespace, event in sio_events(SAMPLE) if namespace == "/public"]
    names = sorted({event[0] for event in recorded})
    with (
        page_server(CLIENT_SCRIPTS[client]) as page,
        serving("--speed", "1000", *serve, SAMPLE, env=clean_env(tmp_path)) as served,
    ):
        page.html = page_html(served.base_url, names, transports=transports)
        result = browse(chromium, page.url, len(recorded))
        code, lines = served.stop()
    assert result["error"] is not None, result["console"]
    assert result["events"] == [] and result["transport"] is None
    assert code == 130 and lines == ["wstail: interrupted"]  # nothing else was said
    if transports == ["websocket"]:
        assert "Unexpected response code: 403" in result["console"], result["console"]
    else:
        assert "No 'Access-Control-Allow-Origin' header" in result["console"], result["console"]


def test_browser_any_origin_reads_a_public_capture_without_credentials(
    chromium: str, tmp_path: Path
) -> None:
    """--cors '*' (public captures only): a page of any origin reads it without credentials;
    a credentialed one is refused by the browser itself (`*` never goes with credentials)."""
    recorded = [event for namespace, event in sio_events(SAMPLE) if namespace == "/public"]
    names = sorted({event[0] for event in recorded})
    results = []
    for credentials in (False, True):
        with (
            page_server(CLIENT_SCRIPTS["4"]) as page,
            serving("--speed", "1000", "--cors", "*", SAMPLE, env=clean_env(tmp_path)) as served,
        ):
            page.html = page_html(served.base_url, names, withCredentials=credentials)
            results.append(browse(chromium, page.url, len(recorded)))
    anonymous, credentialed = results
    assert anonymous["error"] is None, anonymous["console"]
    assert anonymous["events"] == recorded
    assert credentialed["error"] is not None and credentialed["events"] == []
    assert "wildcard" in credentialed["console"], credentialed["console"]


BINARY_PAGE = """<!doctype html>
<meta charset="utf-8">
<title>wstail browser test, binary events</title>
<script src="/socket.io.js"></script>
<script>
window.result = {events: [], error: null, transport: null, kinds: []};
function plain(value) {
  // An ArrayBuffer as {"$buffer": base64}, so that the events come out as JSON.
  if (value instanceof ArrayBuffer) {
    window.result.kinds.push("ArrayBuffer");
    return {$buffer: btoa(String.fromCharCode(...new Uint8Array(value)))};
  }
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === "object") {
    const out = {};
    for (const key of Object.keys(value)) out[key] = plain(value[key]);
    return out;
  }
  return value;
}
const socket = io(%(url)s, {path: "/ws/socket.io", withCredentials: true, reconnection: false,
                            transports: ["polling"]});
socket.on("connect", () => { window.result.transport = socket.io.engine.transport.name; });
socket.on("connect_error", (e) => { window.result.error = String((e && e.message) || e); });
for (const name of %(names)s) {
  socket.on(name, (...args) => window.result.events.push(plain([name, ...args])));
}
</script>
"""


def test_browser_long_polling_receives_binary_events_in_binary_payloads(
    chromium: str, tmp_path: Path
) -> None:
    """socket.io-client 2.5 in chromium, long-polling with XHR2 (no b64): ArrayBuffers, exact.

    The served payloads that hold an attachment use engine.io's binary framing.
    """
    capture = write_capture(tmp_path / "binary.jsonl")
    names = sorted({event[0] for event in RECORDED})
    with (
        page_server(CLIENT_SCRIPTS["2"]) as page,
        serving(
            "--speed", "1000", "--eio", "3", "--cors", page.origin, capture, env=clean_env(tmp_path)
        ) as served,
    ):
        url = json.dumps(served.base_url + "/public")
        page.html = BINARY_PAGE % {"url": url, "names": json.dumps(names)}
        result = browse(chromium, page.url, len(RECORDED))
    assert result["error"] is None, result["console"]
    assert result["transport"] == "polling"
    assert result["events"] == RECORDED
    assert result["kinds"] == ["ArrayBuffer"] * 4
