"""wstail.dask on a real distributed cluster: the envelopes and seq of `wstail replay`."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import distributed  # the extra wstail[dask], part of the dev extra: never skipped
import pandas as pd
import pytest

import wstail.dask as wd
from helpers.parts import split_capture
from wstail.feeds import FEEDS, sample_path


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """A LocalCluster of 2 worker processes, one thread each."""
    with (
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as connected,
    ):
        yield connected


@pytest.fixture(scope="module")
def parts(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The public sample split in 3 parts, numbered as a rotated recording's."""
    return split_capture(Path(sample_path(FEEDS["public"])), tmp_path_factory.mktemp("parts"), 3)


def replayed(*args: str | Path) -> list[Any]:
    """The envelopes `wstail replay ARGS` prints."""
    done = subprocess.run(
        [sys.executable, "-m", "wstail", "replay", *map(str, args)],
        capture_output=True,
        check=True,
    )
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_read_captures_on_two_workers_equals_replay(client: Any, parts: list[Path]) -> None:
    """One partition per part, read by the cluster's worker processes: the same
    envelopes, seq included, as `wstail replay` of the parts in order (and of the whole)."""
    bag = wd.read_captures(str(parts[0].parent / "part-*.jsonl"))
    assert bag.npartitions == 3
    got = bag.compute()
    assert got == replayed(*parts) == replayed(sample_path(FEEDS["public"]))
    trades = wd.read_captures([str(p) for p in parts], events="trade", start="+2s", meta=True)
    assert trades.compute() == replayed("-e", "trade", "--from", "+2s", "--meta", *parts)
    workers = client.run(lambda: __import__("os").getpid())
    assert len(set(workers.values())) == 2


def test_dataframe_dtypes_and_parquet(client: Any, parts: list[Path], tmp_path: Path) -> None:
    """to_dataframe: seq int64, UTC timestamps, data as objects, JSON text or flat columns;
    to_parquet of the flat and JSON layouts reads back the same rows."""
    bag = wd.read_captures([str(p) for p in parts])
    envelopes = replayed(*parts)
    frame = wd.to_dataframe(bag).compute()
    assert str(frame["seq"].dtype) == "int64"
    assert str(frame["recv_ts"].dtype) == str(frame["event_ts"].dtype) == "datetime64[us, UTC]"
    assert frame["seq"].tolist() == [e["seq"] for e in envelopes]
    assert frame["data"].tolist() == [e["data"] for e in envelopes]
    assert frame["recv_ts"].iloc[0] == pd.Timestamp(envelopes[0]["recv_ts"])
    flat = wd.to_dataframe(bag.filter(lambda e: e["event"] == "trade"), data="flat")
    assert str(flat["data.price"].dtype) == "Float64"
    flat.to_parquet(tmp_path / "flat", write_index=False)
    back = pd.read_parquet(tmp_path / "flat")
    trades = [e for e in envelopes if e["event"] == "trade"]
    assert back["data.price"].tolist() == [e["data"]["price"] for e in trades]
    wd.read_dataframe([str(p) for p in parts], data="json").to_parquet(tmp_path / "json")
    back = pd.read_parquet(tmp_path / "json")
    assert [json.loads(text) for text in back["data"]] == [e["data"] for e in envelopes]
