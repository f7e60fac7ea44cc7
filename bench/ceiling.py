"""wstail with normalizing made free: how fast the rest of it is (a measurement aid).

    python bench/ceiling.py CAPTURE [CAPTURE...] -- WSTAIL-ARGS...

Normalizes every Socket.IO event and node text frame of the captures with
wstail's own normalizers first, then runs wstail in this process with
normalizers that only look those items up (a text not seen falls through
to the real one). What is left is the cost of everything else: reading,
the protocols, the stream, the writer. The last stderr line is
`ceiling: <seconds>`, the run of wstail alone (neither the precomputing nor
the interpreter's start). `bench/run --only ceiling` uses it to show the
best ratio any normalizer could give each anchor of issue 12.
"""

from __future__ import annotations

import gc
import sys
import time
from typing import Any

import orjson


def precompute(paths: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The items of every event text (by text) and node text (by text) of the captures."""
    from wstail.normalize import normalize_node_text, normalize_paymium_event

    events: dict[str, Any] = {}
    texts: dict[str, Any] = {}
    for path in paths:
        with open(path, "rb") as lines:
            for line in lines:
                row = orjson.loads(line)
                if type(row) is not list or len(row) < 3:
                    continue
                if row[1] == "sio" and len(row) == 4:
                    events[row[3]] = normalize_paymium_event(row[3], row[2])
                elif row[1] == "text":
                    texts[row[2]] = normalize_node_text(row[2], "openbazaar.node")
    return events, texts


def install(events: dict[str, Any], texts: dict[str, Any]) -> None:
    """Put the look-ups where wstail's frame paths call the normalizers."""
    import wstail.normalize as normalize
    import wstail.replaying.captures as captures

    real_event, real_text = normalize.normalize_paymium_event, normalize.normalize_node_text

    def event_items(payload: str, channel: str, _get: Any = events.get) -> Any:
        items = _get(payload)
        return real_event(payload, channel) if items is None else items

    def text_items(text: str, source: str, _get: Any = texts.get) -> Any:
        items = _get(text)
        return real_text(text, source) if items is None else items

    for module in (normalize, captures):
        module.normalize_paymium_event = event_items  # type: ignore[attr-defined]
        module.normalize_node_text = text_items  # type: ignore[attr-defined]


def main(argv: list[str]) -> int:
    """Precompute, install, run wstail; report its own time."""
    split = argv.index("--")
    events, texts = precompute(argv[:split])
    install(events, texts)
    gc.collect()
    gc.freeze()  # the precomputed items are not the collector's work during the run
    from wstail.commands.main import main as wstail

    started = time.perf_counter()
    code = 0
    try:
        wstail(argv[split + 1 :])
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    sys.stdout.flush()
    print(f"ceiling: {time.perf_counter() - started:.6f}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
