"""Baseline for capture replay: a bare Python loop of orjson.loads + orjson.dumps per line.

python bench/orjson_loop.py CAPTURE > /dev/null
"""

from __future__ import annotations

import sys

import orjson


def main(path: str) -> None:
    """Decode and re-encode every line of `path`, writing one line each to stdout."""
    loads, dumps = orjson.loads, orjson.dumps
    write = sys.stdout.buffer.write
    with open(path, "rb") as lines:
        for line in lines:
            write(dumps(loads(line)) + b"\n")


if __name__ == "__main__":
    main(sys.argv[1])
