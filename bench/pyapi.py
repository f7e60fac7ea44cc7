"""The Python API's bench cases, each run as a process of its own by bench/sections/python.py.

    python bench/pyapi.py replay FILE             envelopes of wstail.replay(FILE), counted
    python bench/pyapi.py split FILE DIR N        FILE in N capture parts, numbered as rotated
    python bench/pyapi.py dask WORKERS PART...    read_captures(PARTS).count() on a LocalCluster

Each prints one JSON line: what it counted and, for `dask`, the seconds the
compute took (the cluster's start is not timed).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def replay(path: str) -> dict[str, float]:
    """Iterate wstail.replay(path): the number of envelopes."""
    import wstail

    count = 0
    for _ in wstail.replay(path):
        count += 1
    return {"envelopes": count}


def split(path: str, directory: str, parts: int) -> dict[str, float]:
    """Write `parts` captures of the frames of `path` in turn, each header's first_seq continued."""
    import orjson

    import wstail

    header, *frames = Path(path).read_bytes().splitlines()
    head = orjson.loads(header)
    size = -(-len(frames) // parts)
    first_seq = head.get("first_seq", 1)
    for number in range(parts):
        part = Path(directory) / f"part-{number:03d}.jsonl"
        lines = [orjson.dumps({**head, "first_seq": first_seq})]
        lines += frames[number * size : (number + 1) * size]
        part.write_bytes(b"\n".join(lines) + b"\n")
        first_seq += sum(1 for _ in wstail.replay(str(part), meta=True))
    return {"parts": parts, "envelopes": first_seq - head.get("first_seq", 1)}


def dask_count(workers: int, parts: list[str]) -> dict[str, float]:
    """read_captures(parts).count() on a LocalCluster of `workers` processes: count, seconds."""
    from dask.distributed import Client, LocalCluster

    import wstail.dask

    with (
        LocalCluster(
            n_workers=workers, processes=True, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        client.run(lambda: __import__("wstail.api"))  # the workers' imports are not timed
        begin = time.perf_counter()
        count = wstail.dask.read_captures(parts).count().compute()
        seconds = time.perf_counter() - begin
    return {"envelopes": count, "seconds": seconds}


def main() -> None:
    """Run the case named by the first argument; its JSON line on stdout."""
    case, *args = sys.argv[1:]
    if case == "replay":
        result = replay(args[0])
    elif case == "split":
        result = split(args[0], args[1], int(args[2]))
    elif case == "dask":
        result = dask_count(int(args[0]), args[1:])
    else:
        raise SystemExit(f"unknown case {case!r}")
    print(json.dumps(result))


if __name__ == "__main__":  # the cluster's worker processes import this file
    main()
