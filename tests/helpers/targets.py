"""A Socket.IO target that is never dialled: the sans-I/O protocol tests' session shape."""

from __future__ import annotations

from typing import Any

from wstail.fastpaths import FastPaths
from wstail.sources.socketio.session import SioTarget


def undialled_target(
    namespace: str = "/public", fast_paths: FastPaths | None = None, **settings: Any
) -> SioTarget:
    """A target for `namespace` at 127.0.0.1:1 (nothing listens); strict fast paths by default.

    An event read the codec's way instead of the fast way is then a bug the test sees.
    """
    return SioTarget(
        scheme="http",
        netloc="127.0.0.1:1",
        query="",
        path="/socket.io",
        namespace=namespace,
        display_url="http://127.0.0.1:1",
        fast_paths=FastPaths(strict=True) if fast_paths is None else fast_paths,
        **settings,
    )
