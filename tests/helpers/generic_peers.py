"""A scripted feed for the tests of generic feeds (`tail ws URL`, `tail sio URL`).

`ScriptedPeer` runs tests/peers/generic_server.js: the npm `ws` server
("ws") or an official socket.io server ("sio2", "sio4") playing a script per
connection, and logging what it received, exactly as it came. The script's
steps are documented in the JS file; the helpers below build the common ones.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

from helpers.sio_peers import TESTS, NodeScriptPeer, ensure_node_modules, scaled

SCRIPT = TESTS / "peers" / "generic_server.js"
KINDS = ("ws", "sio2", "sio4")
SIO_KINDS = ("sio2", "sio4")


def ensure_ws_server() -> None:
    """The pinned socket.io packages and the npm `ws` 8.x server are installed."""
    ensure_node_modules()
    manifest = TESTS / "node_modules" / "ws" / "package.json"
    if json.loads(manifest.read_text())["version"].split(".")[0] != "8":
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is needed for the ws server peer (tests/package.json)")
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund"],
            cwd=TESTS,
            check=True,
            timeout=scaled(300),
            stdout=subprocess.DEVNULL,
        )


class ScriptedPeer(NodeScriptPeer):
    """generic_server.js of one kind ("ws", "sio2", "sio4") playing a scenario."""

    def __init__(self, kind: str, scenario: dict[str, Any]) -> None:
        super().__init__(SCRIPT, kind, scenario, "wstail-feed-")
        self.kind = kind

    def url(self, path: str = "", scheme: str = "") -> str:
        """The URL a client is given: ws:// for the ws server, http:// for socket.io."""
        scheme = scheme or ("ws" if self.kind == "ws" else "http")
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def received(self, n: int | None = None) -> list[str]:
        """What the server received (texts; binary as "b64:..."), of connection n or all."""
        return [
            entry["text"] if "text" in entry else "b64:" + entry["binary"]
            for entry in self.log.of("received")
            if n is None or entry["n"] == n
        ]

    def events_received(self, n: int | None = None) -> list[str]:
        """The Socket.IO event packets the server received, as they came (connects left out)."""
        return [text for text in self.received(n) if text[:1] in ("2", "5")]

    def connects(self) -> list[dict[str, Any]]:
        """Each connection's request: its number, URL and headers."""
        return self.log.of("connect")


def sio_emit(event: str, *args: Any) -> dict[str, Any]:
    """A step: the socket.io server emits `event` with these arguments."""
    return {"event": event, "args": list(args)}
