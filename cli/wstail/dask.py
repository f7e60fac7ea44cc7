"""Captures on Dask (extra `wstail[dask]`): a dask.bag of envelopes, one partition per file.

Each partition is `wstail.replay` of one file, run where Dask puts it (a
worker process of a distributed cluster, say): the same reader and stream
as `wstail replay`, so the same envelopes and numbers. A capture numbers
from its header's first_seq (a recording's parts continue each other), so
reading the parts apart gives the seq that `wstail replay` of them all, in
the same order, prints. Importing `wstail` never imports this module or Dask.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import dask.bag
    import dask.dataframe
    import pandas

__all__ = ["DataLayout", "capture_paths", "read_captures", "read_dataframe", "to_dataframe"]

DataLayout = Literal["object", "json", "flat"]
"""How `data` becomes columns: as it is (dicts, lists...), as JSON text, or flattened."""

ENVELOPE_COLUMNS = ("seq", "recv_ts", "source", "event", "event_ts")

_GLOB_CHARS = frozenset("*?[")


def capture_paths(
    paths_or_globs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
) -> list[str]:
    """The files named, in order: each glob's matches sorted (a glob matching none is an error)."""
    from wstail.exitcodes import BadInputError

    given = [paths_or_globs] if isinstance(paths_or_globs, (str, os.PathLike)) else paths_or_globs
    paths: list[str] = []
    for item in given:
        text = os.fspath(item)
        if _GLOB_CHARS & set(text):
            matches = sorted(glob.glob(text))
            if not matches:
                raise BadInputError(f"no file matches {text}")
            paths += matches
        else:
            paths.append(text)
    if not paths:
        raise BadInputError("no capture given")
    return paths


def read_captures(
    paths_or_globs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    events: str | Sequence[str] | None = None,
    exclude: str | Sequence[str] | None = None,
    where: str | Sequence[str] | None = None,
    start: str | int | datetime | None = None,
    end: str | int | datetime | None = None,
    meta: bool = False,
    exact: bool = False,
) -> dask.bag.Bag:
    """A dask.bag of the envelopes `wstail replay FILES...` prints: one partition per file.

    Globs are expanded here, each sorted (name your parts so that sorting
    orders them: `wstail record` with %Y%m%dT%H or --rotate-size does). The
    options are `wstail.replay`'s; they are checked now (UsageError), and
    `start`/`end` given as +DURATION are anchored to the first file's start,
    as replay does. Nothing is read until the bag is computed; a bad line
    fails its partition with BadInputError, as it makes replay exit 4.
    """
    import dask
    import dask.bag

    from wstail.api import replay

    paths = capture_paths(paths_or_globs)
    options: dict[str, Any] = {
        "events": events,
        "exclude": exclude,
        "where": where,
        "start": _anchored(start, paths[0]),
        "end": _anchored(end, paths[0]),
        "meta": meta,
        "exact": exact,
    }
    replay(*paths, **options)  # checks the options (nothing is read)
    parts = [dask.delayed(_read_part)(path, options) for path in paths]
    bag: dask.bag.Bag = dask.bag.from_delayed(parts)
    return bag


def _read_part(path: str, options: dict[str, Any]) -> list[dict[str, Any]]:
    """One partition: a file's envelopes (run by the worker)."""
    from wstail.api import replay

    return list(replay(path, **options))


def _anchored(bound: str | int | datetime | None, first: str) -> str | int | datetime | None:
    """A +DURATION bound made a time after the first file's start (each part has its own)."""
    if not isinstance(bound, str) or not bound.startswith("+"):
        return bound
    import orjson

    from wstail.api import _header
    from wstail.capture import is_header
    from wstail.envelope import format_us, iso_to_us
    from wstail.inputs import open_input
    from wstail.replaying import Bound

    parsed = Bound.parse(bound, "--from")  # the message names the option, as replay's
    handle = open_input(first)
    try:
        line = handle.readline()
    finally:
        handle.close()
    try:
        head = orjson.loads(line)
    except orjson.JSONDecodeError:
        head = None
    if is_header(head):
        start_us: int | None = _header(first, line).start_us
    else:
        recv = head.get("recv_ts") if isinstance(head, dict) else None
        start_us = iso_to_us(recv) if isinstance(recv, str) else None
    if start_us is None:
        return bound  # replay says what is wrong with the file
    return format_us(parsed.resolved(start_us).value)


def to_dataframe(
    bag: dask.bag.Bag,
    *,
    data: DataLayout = "object",
    columns: Sequence[str] | None = None,
) -> dask.dataframe.DataFrame:
    """A bag of envelopes as a Dask DataFrame, one partition per bag partition.

    Columns: seq (int64), recv_ts and event_ts (datetime64[us, UTC]; event_ts
    NaT when null), source and event (string), then the data: `data="object"`
    one column of the values as they are (dicts, lists...); `"json"` one
    column of their compact JSON text (exact digits; Parquet takes it
    whatever the shapes); `"flat"` a column per field, nested objects joined
    with dots (`data.price`, `data.order.id`): the fields `columns` names,
    else those of the first partition's first 1,000 envelopes, typed by
    them (numbers Float64, booleans boolean, texts string, anything else
    JSON text; that sample is computed now). Dask's string conversion is
    left off: objects stay objects.
    """
    import dask
    import dask.dataframe

    types: dict[str, str] | None = None
    if data == "flat":
        sample = [e.get("data") for e in bag.take(1000, npartitions=1, warn=False)]
        flat = [_flatten(value) for value in sample]
        fields = list(columns) if columns is not None else _flat_fields(sample)
        types = {field: _column_type([row.get(field) for row in flat]) for field in fields}
    elif data not in ("object", "json"):
        raise ValueError(f"data={data!r}: expected 'object', 'json' or 'flat'")
    meta = envelope_frame([], data, types)
    frames = [dask.delayed(envelope_frame)(part, data, types) for part in bag.to_delayed()]
    with dask.config.set({"dataframe.convert-string": False}):
        frame: dask.dataframe.DataFrame = dask.dataframe.from_delayed(
            frames, meta=meta, verify_meta=False
        )
    return frame


def _column_type(values: list[Any]) -> str:
    """The dtype of a flattened field, from sampled values (None: missing)."""
    kinds = {type(value) for value in values if value is not None}
    if kinds and kinds <= {bool}:
        return "boolean"
    if kinds and all(issubclass(kind, (int, float)) and kind is not bool for kind in kinds):
        return "Float64"
    if kinds == {str}:
        return _STRING
    return "json"  # lists, mixed values: their JSON text, so Parquet takes any of them


_STRING = "string[pyarrow]"


def read_dataframe(
    paths_or_globs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    data: DataLayout = "object",
    columns: Sequence[str] | None = None,
    **options: Any,
) -> dask.dataframe.DataFrame:
    """`to_dataframe(read_captures(paths_or_globs, **options), data=..., columns=...)`."""
    return to_dataframe(read_captures(paths_or_globs, **options), data=data, columns=columns)


def envelope_frame(
    envelopes: Sequence[dict[str, Any]],
    data: DataLayout = "object",
    types: dict[str, str] | None = None,
) -> pandas.DataFrame:
    """Envelopes as a pandas DataFrame with the dtypes of `to_dataframe`.

    `types`: with data="flat", the data fields made columns and their dtypes.
    """
    import pandas as pd

    frame = pd.DataFrame(
        {
            "seq": pd.Series([e["seq"] for e in envelopes], dtype="int64"),
            "recv_ts": _times([e["recv_ts"] for e in envelopes]),
            "source": pd.Series([e["source"] for e in envelopes], dtype=_STRING),
            "event": pd.Series([e["event"] for e in envelopes], dtype=_STRING),
            "event_ts": _times([e["event_ts"] for e in envelopes]),
        }
    )
    values = [e.get("data") for e in envelopes]
    if data == "object":
        frame["data"] = pd.Series(values, dtype=object)
    elif data == "json":
        frame["data"] = pd.Series([_json(value) for value in values], dtype=_STRING)
    else:
        flat = [_flatten(value) for value in values]
        for field, dtype in (types or {}).items():
            cells = [row.get(field) for row in flat]
            if dtype == "Float64":
                cells = [_number(cell) for cell in cells]
            elif dtype == "json":
                cells = [None if cell is None else _json(cell) for cell in cells]
                dtype = _STRING
            try:
                frame["data." + field] = pd.Series(cells, dtype=dtype)
            except (TypeError, ValueError):
                raise ValueError(
                    f"data.{field} holds values other than {dtype} (sampled from the first "
                    "partition): give columns, or data='json'"
                ) from None
    return frame


def _number(value: Any) -> Any:
    """A number as a float (a Decimal of exact=True too); anything else as it is."""
    from decimal import Decimal

    if isinstance(value, Decimal) or (isinstance(value, int) and not isinstance(value, bool)):
        return float(value)
    return value


def _times(texts: list[str | None]) -> pandas.Series:
    import pandas as pd

    return pd.Series(pd.to_datetime(texts, utc=True, format="ISO8601"), dtype="datetime64[us, UTC]")


def _json(value: Any) -> str:
    import orjson

    try:
        return orjson.dumps(value, default=_decimal_default).decode()
    except orjson.JSONEncodeError:  # an ExactNumber orjson cannot write
        from wstail.jsonexact import dumps

        return dumps(value).decode()


def _decimal_default(value: Any) -> Any:
    from decimal import Decimal

    from wstail.jsonexact import ExactNumber, json_default

    if isinstance(value, Decimal):
        return json_default(ExactNumber(str(value)))
    return json_default(value)


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """A data object's fields by dotted path (a value that is no object: no fields)."""
    if not isinstance(value, dict):
        return {}
    flat: dict[str, Any] = {}
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, dict) and item:
            flat.update(_flatten(item, name + "."))
        else:
            flat[name] = item
    return flat


def _flat_fields(values: Any) -> list[str]:
    """The dotted fields of data values, in order of first appearance."""
    seen: dict[str, None] = {}
    for value in values:
        for name in _flatten(value):
            seen.setdefault(name, None)
    return list(seen)
