"""--tsv and --csv: a -q result as one row of text, jq's `@tsv` escaping or RFC 4180 quoting.

An array's items (or an object's values) are the fields; any other result
is a one-field row. null is an empty field, a string its text, a number or
a boolean its JSON text (every digit of an exact number kept), and a nested
array or object its compact JSON.
"""

from __future__ import annotations

from typing import Any, Literal

import orjson

from wstail.jsonexact import json_default

TableKind = Literal["tsv", "csv"]

# jq's @tsv: these four, and nothing else, are escaped.
_TSV_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_CSV_SPECIAL = frozenset(',"\r\n')


def table_row(value: Any, kind: TableKind) -> bytes:
    """One row (without its line end) of a -q result, tab- or comma-separated."""
    if type(value) is list:
        items: list[Any] = value
    elif type(value) is dict:
        items = list(value.values())
    else:
        items = [value]
    if kind == "tsv":
        row = "\t".join(field_text(item).translate(_TSV_ESCAPES) for item in items)
    else:
        row = ",".join(csv_field(field_text(item)) for item in items)
    try:
        return row.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate read from a \ud800 escape
        return row.encode("utf-8", "backslashreplace")


def field_text(value: Any) -> str:
    """A value's text in a row: null empty, a string as it is, anything else its JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    try:
        return orjson.dumps(value, default=json_default).decode()
    except orjson.JSONEncodeError:  # an exact number too long for orjson, or too deep
        from wstail.jsonexact import dumps

        return dumps(value).decode()


def csv_field(text: str) -> str:
    """RFC 4180: quoted, inner quotes doubled, when it holds a comma, a quote or a line break."""
    if _CSV_SPECIAL.isdisjoint(text):
        return text
    return '"' + text.replace('"', '""') + '"'
