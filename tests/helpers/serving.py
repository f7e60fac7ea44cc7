"""`wstail replay --serve` as a process: start it on 127.0.0.1:0, read its URL back.

Shared by the serve command's tests and the browser tests: the real command,
its first stderr line parsed for the bound URL, killed on exit if still running.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from helpers.timeouts import scaled

WSTAIL = str(Path(sys.executable).with_name("wstail"))
SERVING = re.compile(r"^wstail: serving .+ at ((?:http|ws)://127\.0\.0\.1:(\d+)(/\S*))$")


def clean_env(tmp_path: Path) -> dict[str, str]:
    """The caller's environment without WSTAIL_* or proxies, HOME in the test's directory."""
    kept = {
        key: value
        for key, value in os.environ.items()
        if not (key.startswith("WSTAIL_") or key.lower().endswith("_proxy"))
        or key == "WSTAIL_TEST_TIMEOUT_SCALE"
    }
    kept.pop("NO_COLOR", None)
    return {**kept, "HOME": str(tmp_path)}


@dataclass
class Served:
    """A running `wstail replay --serve` process and the URL it printed."""

    process: subprocess.Popen[bytes]
    first_line: str
    url: str  # as printed: http://127.0.0.1:PORT/ws/socket.io or ws://127.0.0.1:PORT/ws
    port: int

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:PORT, what a Socket.IO client is given."""
        return f"http://127.0.0.1:{self.port}"

    def stop(self, signum: int = signal.SIGINT) -> tuple[int, list[str]]:
        """Send a signal; the exit code and every stderr line after the first."""
        self.process.send_signal(signum)
        _, err = self.process.communicate(timeout=scaled(10))
        return self.process.returncode, err.decode().splitlines()


NOTICE = re.compile(r"^wstail: client (\d+)\b(.*)$")


def split_notices(lines: list[str]) -> tuple[list[tuple[int, str]], list[str]]:
    """The server's client notices as (client number, the rest), and the other lines."""
    notices: list[tuple[int, str]] = []
    others: list[str] = []
    for line in lines:
        match = NOTICE.match(line)
        if match:
            notices.append((int(match.group(1)), match.group(2).strip()))
        else:
            others.append(line)
    return notices, others


def read_line(stream: IO[bytes], timeout: float) -> str:
    """One line from a pipe, or TimeoutError (the reading thread dies with the pipe)."""
    box: queue.Queue[bytes] = queue.Queue()
    threading.Thread(target=lambda: box.put(stream.readline()), daemon=True).start()
    try:
        return box.get(timeout=timeout).decode().rstrip("\n")
    except queue.Empty:
        raise TimeoutError(f"no line within {timeout} s") from None


@contextlib.contextmanager
def serving(*args: str | Path, env: dict[str, str]) -> Iterator[Served]:
    """`wstail replay --serve 127.0.0.1:0 ARGS...`, killed on exit if still running."""
    command = [WSTAIL, "replay", "--serve", "127.0.0.1:0", *map(str, args)]
    process = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    try:
        assert process.stderr is not None
        line = read_line(process.stderr, scaled(10))
        match = SERVING.match(line)
        assert match, f"not the listening line: {line!r}"
        yield Served(process, line, match.group(1), int(match.group(2)))
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()


def sio_events(path: Path) -> list[tuple[str, list[Any]]]:
    """The capture's Socket.IO frames as (namespace, event array), in order."""
    lines = path.read_text().splitlines()[1:]
    frames = [json.loads(line) for line in lines]
    return [(frame[2], json.loads(frame[3])) for frame in frames if frame[1] == "sio"]
