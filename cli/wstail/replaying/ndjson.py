"""wstail's own NDJSON in, envelopes out: the reader of envelope lines."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import orjson

from wstail.fastpaths import FastPaths
from wstail.jsonexact import NUMBER_SHAPES, RISKY_SHAPES, loads_exact

from .blocks import BadLine, newlines, split_lines

EnvelopeEntry = tuple[dict[str, Any], bytes]
"""One envelope read back, with its line as read (its canonical text)."""

RS = b"\x1e"
# Envelopes handed on at once, at most: few enough that the decoded values
# of one batch are still in the CPU's caches when the stream writes them.
_BATCH = 64


def envelope_entries(
    blocks: Iterator[tuple[int, bytes]],
    *,
    needles: tuple[bytes, ...] | None,
    exact: bool,
    short: bool = True,
    paths: FastPaths | None = None,
) -> Iterator[list[EnvelopeEntry] | BadLine]:
    """The envelopes of NDJSON lines and their bad lines, in order, a block's worth at a time.

    Envelopes come in lists (those of one block between bad lines), for
    `Stream.feed_envelopes`.

    `needles`: lines that hold none of them (quoted event names) cannot
    pass the filters and are skipped undecoded; a name can only hide from a
    substring test behind a \\u escape, so lines with one are always looked
    at. A block whose every line is exactly `{...}` is only looked at where
    a needle occurs. `exact`: the envelopes are printed anew (-q, styling),
    so lines holding a number a double may not hold are decoded exactly
    (found by one look at the whole block). `short` False: every line on its
    own, decoded exactly where `exact` (the same entries). `paths` counts
    the lines each way took (lines skipped undecoded count as short) and,
    strict, raises when a plain envelope line missed the short way.
    """
    if paths is None:
        paths = FastPaths()
    loads = orjson.loads
    first: int | None = None  # the line number before the first block
    before, block = 0, b""
    try:
        for before, block in blocks:
            if first is None:
                first = before
            number_of = _numbering(block, before)
            if not short:
                lines: Iterable[tuple[int, bytes]] = enumerate(split_lines(block), before + 1)
                number_of = _same
                risky: frozenset[int] | None = None
                picked = needles
            elif needles is not None and _all_objects(block):
                spans = _lines_holding(block, needles)
                if block.find(b"\\") >= 0:  # rare: an escape might hide a needle
                    spans = sorted(set(spans + _lines_holding(block, (b"\\u",))))
                # Keyed by where they start: a line's number is only counted if it is bad.
                lines = ((start, block[start:end]) for start, end in spans)
                risky = None  # each picked line gets a look of its own
                picked = None
            else:
                lines = enumerate(split_lines(block), before + 1)
                number_of = _same
                risky = _risky_lines(block, before) if exact else frozenset()
                picked = needles
            batch: list[EnvelopeEntry] = []  # the block's envelopes, handed on at once
            add = batch.append
            for key, line in lines:
                offered = (
                    picked is None
                    and line[:1] == b"{"
                    and line[-1:] == b"}"
                    and (not exact or (risky is not None and key not in risky))
                )
                if offered:
                    try:  # the common line, inline: a plain object decoded by orjson
                        envelope = loads(line)
                    except orjson.JSONDecodeError:  # bad JSON, 1e400: the general way says
                        envelope = None
                    if type(envelope) is dict and type(envelope.get("event")) is str:
                        add((envelope, line))
                        if len(batch) >= _BATCH:
                            yield batch
                            batch = []
                            add = batch.append
                        continue
                paths.general += 1
                entry = envelope_entry(number_of(key), line, picked, exact)
                if entry is None:
                    continue
                if isinstance(entry, BadLine):  # in its place: what came before goes first
                    if batch:
                        yield batch
                        batch = []
                        add = batch.append
                    yield entry
                    continue
                if offered and _plain_envelope(line):
                    paths.miss("NDJSON", line)
                add(entry)
            if batch:
                yield batch
    finally:
        # The lines offered, counted from the blocks' numbering: no extra pass over them.
        if first is not None:
            last = newlines(block) + (block[-1:] != b"\n")
            paths.lines += before + last - first


def _plain_envelope(line: bytes) -> bool:
    """Whether orjson reads the line as an envelope (asked of general-way envelopes only)."""
    try:
        envelope = orjson.loads(line)
    except orjson.JSONDecodeError:
        return False  # orjson refuses it (a number like 1e400): the general way is right
    return type(envelope) is dict and type(envelope.get("event")) is str


def _same(number: int) -> int:
    return number


def _numbering(block: bytes, before: int) -> Callable[[int], int]:
    """The line number of a line of `block` from where it starts (asked in ascending order)."""
    at, number = 0, before + 1

    def number_of(start: int) -> int:
        nonlocal at, number
        number += block.count(b"\n", at, start)
        at = start
        return number

    return number_of


def envelope_entry(
    number: int, line: bytes, needles: tuple[bytes, ...] | None, exact: bool
) -> EnvelopeEntry | BadLine | None:
    """One NDJSON line: its envelope, a bad line, or None (blank, or holding no needle)."""
    if line[:1] == RS:
        line = line[1:]
    line = line.strip()
    if not line:
        return None
    if needles is not None and b"\\u" not in line:
        for needle in needles:
            if needle in line:
                break
        else:
            if line[:1] != b"{" or line[-1:] != b"}":
                return BadLine(number, "not a JSON object")
            return None
    try:
        # Passed through as they are, lines need no exact digits: filters
        # compare the same doubles either way (an ExactNumber is the double
        # of its text).
        envelope = loads_exact(line) if exact else orjson.loads(line)
    except ValueError:
        try:
            envelope = loads_exact(line)  # orjson refuses 1e400
        except ValueError as exc:
            return BadLine(number, f"invalid JSON ({_reason(exc)})")
    if type(envelope) is not dict or type(envelope.get("event")) is not str:
        return BadLine(number, "not a wstail envelope or capture line")
    return envelope, line


def _all_objects(block: bytes) -> bool:
    """Whether every line of the block is exactly `{...}` (no blank line, CR or RS)."""
    return (
        block[:1] == b"{" and block[-2:] == b"}\n" and block.count(b"}\n{") == newlines(block) - 1
    )


def _lines_holding(block: bytes, needles: tuple[bytes, ...]) -> list[tuple[int, int]]:
    """The (start, end) of each line of `block` holding any needle, in order, each once.

    Every line of `block` ends with a newline.
    """
    spans: list[tuple[int, int]] = []
    find = block.find
    rfind = block.rfind
    for needle in needles:
        at = find(needle)
        while at >= 0:
            end = find(b"\n", at)
            spans.append((rfind(b"\n", 0, at) + 1, end))
            at = find(needle, end)
    if len(needles) > 1:
        return sorted(set(spans))
    return spans


def _line_numbers(block: bytes, before: int, starts: list[int]) -> list[int]:
    """The line numbers of lines starting at `starts` (ascending) in a block after line `before`."""
    numbers = []
    at, number = 0, before + 1
    for start in starts:
        number += block.count(b"\n", at, start)
        at = start
        numbers.append(number)
    return numbers


def _risky_lines(block: bytes, before: int) -> frozenset[int]:
    """The numbers of the lines where jsonexact.risky finds a number a double may not hold."""
    shapes = block.translate(NUMBER_SHAPES)
    if shapes[-1:] != b"\n":
        shapes += b"\n"
    starts = sorted({start for start, _ in _lines_holding(shapes, RISKY_SHAPES)})
    return frozenset(_line_numbers(block, before, starts))


def _reason(exc: ValueError) -> str:
    text = str(exc.args[0]) if exc.args else str(exc)
    if "UTF-8" in text:  # orjson says "str is not valid UTF-8: surrogates not allowed"
        return "not UTF-8 text"
    return text.split(": line")[0]
