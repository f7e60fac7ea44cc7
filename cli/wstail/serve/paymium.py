"""What both Paymium dialects of `--serve` share: the namespaces and which frames each replays.

Each recorded `sio` frame goes to the clients of the namespace it was
recorded on, with its recorded event name and arguments:
- /public: from the moment a client joins the namespace;
- /user: only once the client emitted `channel` (any value: a replay has no
  secrets to check), and from then on, like the live server.
"""

from __future__ import annotations

from collections.abc import Callable

from wstail.frames import Frame

__all__ = ["NAMESPACES", "replays_namespace"]

NAMESPACES = ("/public", "/user")


def replays_namespace(namespace: str) -> Callable[[Frame], bool]:
    """The `keep` rule of a namespace's replay: its own recorded Socket.IO frames."""

    def keep(frame: Frame) -> bool:
        return frame.kind == "sio" and frame.channel == namespace

    return keep
