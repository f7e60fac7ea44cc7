"""Split a capture into parts as a rotated recording is: each header's first_seq continues."""

from __future__ import annotations

from pathlib import Path

import orjson

import wstail


def split_capture(capture: Path, directory: Path, parts: int) -> list[Path]:
    """Write `parts` capture files holding the capture's frames in turn; their paths, in order.

    Each part's header is the capture's, with first_seq where `wstail replay`
    of the whole capture numbers the part's first envelope.
    """
    header, *frames = capture.read_bytes().splitlines()
    head = orjson.loads(header)
    size = -(-len(frames) // parts)
    paths = []
    first_seq = head.get("first_seq", 1)
    for number in range(parts):
        path = directory / f"part-{number:03d}.jsonl"
        chunk = frames[number * size : (number + 1) * size]
        path.write_bytes(
            b"\n".join([orjson.dumps({**head, "first_seq": first_seq}), *chunk]) + b"\n"
        )
        first_seq += sum(1 for _ in wstail.replay(str(path), meta=True))
        paths.append(path)
    return paths
