"""Replay: captures and wstail NDJSON read back through the stream.

blocks.py reads any input a block of whole lines at a time; captures.py
and ndjson.py turn blocks into entries (frames, envelopes, bad lines);
window.py is --from/--to; pacing.py sleeps; driver.py reports and feeds the stream.

(Named for what it does, not `replay`: that is the Python API's
`wstail.replay(*paths, ...)`.)
"""

from __future__ import annotations

from .driver import Replayer, ReplayOptions
from .pacing import ReplayTimer
from .window import Bound, Window

__all__ = ["Bound", "ReplayOptions", "ReplayTimer", "Replayer", "Window"]
