"""No silent filters: comma lists for -e/-x, warnings for names and quotes that match nothing."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import SAMPLE, Result, Wstail

TRADES = [3, 8, 9, 11]
TRADES_AND_DEPTH = [3, 4, 5, 6, 8, 9, 11, 12]


def seqs(result: Result) -> list[int]:
    """The seq of every envelope printed."""
    return [record["seq"] for record in result.records]


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["-e", "trade,depth"], None, TRADES_AND_DEPTH),
        (["-e", "trade, depth"], None, TRADES_AND_DEPTH),
        (["-e", "trade,t*", "-e", "depth"], None, [2, *TRADES_AND_DEPTH, 10]),
        (["-x", "depth,ticker,prices,announcement"], None, TRADES),
        (["-e", "t*", "-x", "ticker,depth"], None, TRADES),
        ([], {"WSTAIL_REPLAY_EVENT": "trade,depth"}, TRADES_AND_DEPTH),
        ([], {"WSTAIL_REPLAY_EXCLUDE": "depth,ticker,prices,announcement"}, TRADES),
    ],
)
def test_event_options_take_comma_lists(
    wstail: Wstail, args: list[str], env: dict[str, Any] | None, expected: list[int]
) -> None:
    """-e/-x (and their environment forms) accept comma lists of names and globs."""
    result = wstail("replay", SAMPLE, *args, env=env)
    assert (result.code, result.stderr) == (0, "")
    assert sorted(seqs(result)) == sorted(expected)


def test_unknown_event_name_warns_with_the_closest_names(wstail: Wstail) -> None:
    """-e trades matches nothing: one warning naming `trade`, exit 0, no output."""
    result = wstail("replay", SAMPLE, "-e", "trades")
    assert (result.code, result.stdout) == (0, b"")
    assert result.stderr == (
        "wstail: warning: -e trades: no feed emits this event (did you mean trade?)\n"
    )


def test_unknown_event_name_warns_once_per_name(wstail: Wstail) -> None:
    """A name given twice, or in a list, is warned about once; known names and globs never."""
    result = wstail("replay", SAMPLE, "-e", "tickr,trade", "-e", "tickr", "-e", "dep*")
    assert result.code == 0
    assert result.stderr == (
        "wstail: warning: -e tickr: no feed emits this event (did you mean ticker?)\n"
    )
    assert sorted(seqs(result)) == TRADES_AND_DEPTH


def test_unknown_event_name_without_close_names(wstail: Wstail) -> None:
    """A name like no other gets the warning without a suggestion."""
    result = wstail("replay", SAMPLE, "-e", "xyzzy")
    assert (result.code, result.stdout) == (0, b"")
    assert result.stderr == "wstail: warning: -e xyzzy: no feed emits this event\n"


def test_unknown_event_name_still_selects_nothing(wstail: Wstail) -> None:
    """-e nothing prints nothing and exits 0, as before; only the warning is new."""
    result = wstail("replay", SAMPLE, "-e", "nothing")
    assert (result.code, result.stdout) == (0, b"")
    assert result.stderr.startswith("wstail: warning: -e nothing: no feed emits this event")
    assert result.stderr.count("\n") == 1


def test_unknown_excluded_name_warns(wstail: Wstail) -> None:
    """-x with a name no feed emits excludes nothing: it warns too."""
    result = wstail("replay", SAMPLE, "-x", "depths", "-e", "depth")
    assert result.code == 0
    assert result.stderr == (
        "wstail: warning: -x depths: no feed emits this event (did you mean depth?)\n"
    )
    assert seqs(result) == [4, 5, 6, 12]


@pytest.mark.parametrize(
    "name", ["trade", "meta.connected", "notification.somethingNew", "wallet.balance"]
)
def test_known_and_open_ended_names_do_not_warn(wstail: Wstail, name: str) -> None:
    """SPEC names, and node notification types (open-ended), pass without a warning."""
    result = wstail("replay", SAMPLE, "-e", name)
    assert (result.code, result.stderr) == (0, "")


@pytest.mark.parametrize(
    ("option", "expression", "label"),
    [
        ("-f", 'event == "trade"', "--filter"),
        ("-f", '"trade" == event', "--filter"),
        ("-f", 'data.price > `1` && event == "trade"', "--filter"),
        ("--until", 'event == "trade"', "--until"),
        ("-q", 'event != "trade"', "--query"),
    ],
)
def test_quoted_identifier_in_a_comparison_warns(
    wstail: Wstail, option: str, expression: str, label: str
) -> None:
    """`event == "trade"` compares with a field named trade: one warning suggesting 'trade'."""
    result = wstail("replay", SAMPLE, option, expression)
    assert result.code == 0
    assert result.stderr == (
        f'wstail: warning: {label}: "trade" is a field name in JMESPath, not a string; '
        "write 'trade' to compare with the string\n"
    )


def test_quoted_identifier_warning_comes_once(wstail: Wstail) -> None:
    """The same quoted name in two filters is one warning; the filter still matches nothing."""
    result = wstail("replay", SAMPLE, "-f", 'event == "trade"', "-f", '"trade" != event')
    assert (result.code, result.stdout) == (0, b"")
    assert result.stderr.count("warning:") == 1


@pytest.mark.parametrize(
    "expression",
    [
        "event == 'trade'",
        "\"event\" == 'trade'",
        'data."price" > `1`',
        '"data".price > `1`',
        "data.levels[?\"side\" == 'buy']",
        '"data" == `{}`',
    ],
)
def test_meant_quoted_identifiers_do_not_warn(wstail: Wstail, expression: str) -> None:
    """Envelope fields, path steps and fields inside [?...] are quoted on purpose: no warning."""
    result = wstail("replay", SAMPLE, "-f", expression)
    assert (result.code, result.stderr) == (0, "")


@pytest.mark.parametrize(
    ("expression", "column", "number"),
    [
        ("data.price > 200", 14, "200"),
        ("data.price >= -1.5", 15, "-1.5"),
        ("200 < data.price", 1, "200"),
    ],
)
def test_bare_number_is_a_usage_error_hinting_at_backticks(
    wstail: Wstail, expression: str, column: int, number: str
) -> None:
    """`data.price > 200` exits 2, the message saying to write `200`, with the caret under it."""
    result = wstail("replay", SAMPLE, "-f", expression)
    assert (result.code, result.stdout) == (2, b"")
    message, echo, caret = result.stderr.splitlines()
    assert message == (
        f"wstail: --filter: invalid JMESPath expression {expression!r}: unexpected number "
        f"{number} (write numbers in backticks: `{number}`) at column {column}"
    )
    assert echo == "  " + expression
    assert caret == " " * (2 + column - 1) + "^"


# ---------------------------------------------------------------- filters on --meta


@pytest.mark.parametrize("kind", ["capture", "ndjson"])
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--meta", "-q", "event"], [b'"meta.connected"', b'"ticker"']),
        (["--meta", "-x", "meta.*", "-q", "event"], [b'"ticker"', b'"trade"']),
        (["--meta", "-e", "meta.*", "-q", "data.namespace", "-r"], [b"/public"]),
        (["--meta", "-f", "data.url", "-q", "[seq, event]"], [b'[1,"meta.connected"]']),
        (["-e", "meta.*"], []),
    ],
)
def test_filters_and_query_apply_to_meta_envelopes(
    wstail: Wstail, tmp_path: Any, kind: str, args: list[str], expected: list[bytes]
) -> None:
    """With --meta, -e/-x/-f and -q treat lifecycle envelopes as any other, from a capture or
    from wstail's own NDJSON (whose event-name short way must still find them)."""
    source = SAMPLE
    if kind == "ndjson":
        source = tmp_path / "sample.ndjson"
        source.write_bytes(wstail("replay", "--meta", SAMPLE).stdout)
    result = wstail("replay", source, *args)
    assert (result.code, result.stderr) == (0, "")
    assert result.stdout.splitlines()[:2] == expected


# ---------------------------------------------------------------- jq habits


@pytest.mark.parametrize(
    ("option", "expression", "hint"),
    [
        ("-q", ".data.price", "drop the leading dot: data.price"),
        ("--query", " .data", "drop the leading dot: data"),
        ("-f", ".x", "drop the leading dot: x"),
        ("--filter", ".data.price > `1`", "drop the leading dot: data.price > `1`"),
        ("--until", ".x", "drop the leading dot: x"),
        ("-q", ".[0]", "drop the leading dot: [0]"),
        ("-q", ".", "JMESPath has no '.': the whole envelope is '@'"),
    ],
)
def test_a_leading_dot_is_a_usage_error_saying_to_drop_it(
    wstail: Wstail, option: str, expression: str, hint: str
) -> None:
    """jq's `.data.price` is exit 2 with one line saying what JMESPath wants instead."""
    result = wstail("replay", SAMPLE, option, expression)
    assert (result.code, result.stdout) == (2, b"")
    long = {"-q": "--query", "-f": "--filter"}.get(option, option)
    assert result.stderr == f"wstail: {long} {expression!r}: {hint}\n"


def test_c_is_compact(wstail: Wstail) -> None:
    """-c is --compact: one plain line an envelope, whatever the layout default."""
    compact = wstail("replay", SAMPLE, "-n", "3", "--compact")
    short = wstail("replay", SAMPLE, "-n", "3", "-c")
    assert (short.code, short.stderr) == (0, "")
    assert short.stdout == compact.stdout and len(short.stdout.splitlines()) == 3


TABLE_DATA = {
    "s": 'tab\there, comma, "quote"',
    "lines": "a\nb\r\\c",
    "none": None,
    "yes": True,
    "exact": "1234567890.12345678901",
    "int": 7,
    "nested": {"k": [1, "x,y"]},
    "empty": "",
}


def table_input() -> bytes:
    """One wstail NDJSON envelope holding every kind of field."""
    import orjson

    envelope = {
        "seq": 1,
        "recv_ts": "2026-11-23T10:00:00.000000Z",
        "source": "node",
        "event": "status",
        "event_ts": None,
        "data": TABLE_DATA,
    }
    text = orjson.dumps(envelope).replace(b'"1234567890.12345678901"', b"1234567890.12345678901")
    return text + b"\n"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--tsv", "-q", "data"],
            'tab\\there, comma, "quote"\ta\\nb\\r\\\\c\t\ttrue\t1234567890.12345678901\t7\t'
            '{"k":[1,"x,y"]}\t\n',
        ),
        (
            ["--csv", "-q", "data"],
            '"tab\there, comma, ""quote""","a\nb\r\\c",,true,1234567890.12345678901,7,'
            '"{""k"":[1,""x,y""]}",\n',
        ),
        (["--csv", "-q", "[data.int, data.none, data.exact]"], "7,,1234567890.12345678901\n"),
        (["--tsv", "-q", "data.exact"], "1234567890.12345678901\n"),
        (["--csv", "-q", "data.s"], '"tab\there, comma, ""quote"""\n'),
        (["--tsv", "-q", "data.none"], "\n"),
        (["--tsv", "-r", "-q", "[event, source]"], "status\tnode\n"),
        (["--csv", "-q", "data.nested.k"], '1,"x,y"\n'),
    ],
)
def test_tsv_and_csv_print_query_results_as_rows(
    wstail: Wstail, args: list[str], expected: str
) -> None:
    """--tsv escapes as jq's @tsv, --csv quotes as RFC 4180; null empty, exact numbers whole."""
    result = wstail("replay", "-", *args, input=table_input())
    assert (result.code, result.stderr) == (0, "")
    assert result.stdout.decode() == expected


def test_tsv_rows_from_a_capture_with_meta(wstail: Wstail) -> None:
    """A row per envelope that passes, lifecycle ones included with --meta."""
    result = wstail("replay", SAMPLE, "--meta", "-e", "meta.*,trade", "--tsv", "-q", "[seq, event]")
    assert (result.code, result.stderr) == (0, "")
    assert result.stdout.decode().splitlines() == [
        "1\tmeta.connected",
        "3\ttrade",
        "8\ttrade",
        "9\ttrade",
        "11\ttrade",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tsv"], "--tsv needs -q EXPR: it prints the query's result as a row"),
        (["--csv", "-e", "trade"], "--csv needs -q EXPR: it prints the query's result as a row"),
        (["--tsv", "--csv", "-q", "seq"], "--tsv and --csv cannot be combined"),
        (["--csv", "-q", "seq", "--pretty"], "--csv cannot be combined with --pretty"),
        (["--tsv", "-q", "seq", "--raw"], "--tsv cannot be combined with --raw"),
        (["--tsv", "-q", "seq", "--oneline"], "--tsv cannot be combined with --oneline"),
        (["--csv", "-q", "seq", "--seq", "--raw"], "--csv cannot be combined with --raw, --seq"),
        (["--serve", "0", "--csv"], "--csv cannot be used with --serve"),
    ],
)
def test_tsv_and_csv_misuse_is_a_usage_error(wstail: Wstail, args: list[str], message: str) -> None:
    """--tsv/--csv without -q, together, or with another layout: exit 2, one line."""
    result = wstail("replay", SAMPLE, *args)
    assert (result.code, result.stdout) == (2, b"")
    assert result.stderr.startswith(f"wstail: {message}")
    assert result.stderr.count("\n") == 1


def test_tsv_from_the_environment_waits_for_a_query(wstail: Wstail) -> None:
    """WSTAIL_REPLAY_TSV is a setting for the runs with -q: without one it changes nothing."""
    plain = wstail("replay", SAMPLE, "-n", "2")
    result = wstail("replay", SAMPLE, "-n", "2", env={"WSTAIL_REPLAY_TSV": "1"})
    assert (result.code, result.stderr, result.stdout) == (0, "", plain.stdout)
    rows = wstail("replay", SAMPLE, "-n", "2", "-q", "[seq, event]", env={"WSTAIL_REPLAY_TSV": "1"})
    typed = wstail("replay", SAMPLE, "-n", "2", "-q", "[seq, event]", "--tsv")
    assert rows.stdout == typed.stdout and rows.stdout.count(b"\t") == 2
