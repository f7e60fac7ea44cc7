"""Replay: captures and wstail NDJSON read back through the stream.

blocks.py reads any input a block of whole lines at a time; captures.py
and ndjson.py turn blocks into entries (frames, envelopes, bad lines);
window.py is --from/--to; pacing.py sleeps; driver.py reports and feeds the stream.

Called, this package is the Python API's `wstail.replay(*paths, ...)`
(wstail.api.replay): the package and the function share the name `wstail.replay`.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any

from .driver import Replayer, ReplayOptions
from .pacing import ReplayTimer
from .window import Bound, Window

__all__ = ["Bound", "ReplayOptions", "ReplayTimer", "Replayer", "Window"]


class _CallablePackage(ModuleType):
    """This package, callable as the API's replay (whichever `wstail.replay` names)."""

    def __call__(self, *paths: str, **options: Any) -> Any:
        """wstail.api.replay: the envelopes of captures or NDJSON, as dicts."""
        from wstail.api import replay

        return replay(*paths, **options)

    @property
    def __signature__(self) -> Any:
        """The API function's signature (for help() and editors)."""
        import inspect

        from wstail.api import replay

        return inspect.signature(replay)


sys.modules[__name__].__class__ = _CallablePackage
