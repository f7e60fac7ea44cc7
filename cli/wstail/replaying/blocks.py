"""Reading an input a block of whole lines at a time: the one way replay reads a file."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from wstail.inputs import CorruptStream
from wstail.jsonexact import loads_exact

BLOCK_SIZE = 1 << 20
"""Bytes asked of the input per read; whole lines are cut from what comes back."""

_counted: tuple[bytes, int] = (b"", 0)
# The block read_blocks handed on last and its newlines (see newlines). One
# tuple, replaced whole: another thread's read_blocks only makes it a miss.


class ReadFailure(Exception):
    """The input could not be read on (truncated or corrupt compression, an I/O error)."""

    def __init__(self, lineno: int, reason: str) -> None:
        super().__init__(reason)
        self.lineno = lineno
        self.reason = reason


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line replay reports as FILE:LINE: reason, and goes on."""

    lineno: int
    reason: str


def read_blocks(
    handle: BinaryIO, lineno: int = 0, size: int = BLOCK_SIZE
) -> Iterator[tuple[int, bytes]]:
    """Whole lines about `size` bytes at a time, each block with the number of the line before.

    The last line may lack its newline. A read error raises ReadFailure
    (naming the line after the last whole one) once the blocks before it
    are taken.
    """
    read = getattr(handle, "read1", handle.read)
    rest = b""
    while True:
        try:
            chunk = read(size)
        except EOFError as exc:
            chunk, error = b"", str(exc) or "compressed stream is truncated"
        except CorruptStream as exc:
            chunk, error = b"", str(exc)
        except OSError as exc:
            chunk, error = b"", f"cannot read: {exc}"
        else:
            error = ""
        if chunk:
            cut = chunk.rfind(b"\n") + 1
            if not cut:
                rest += chunk
                continue
            block, rest = rest + chunk[:cut], chunk[cut:]
        else:
            # At the end, the last line may lack its newline; after a read
            # error it is the cut line itself: the error report stands for it.
            block, rest = (b"" if error else rest), b""
        if block:
            global _counted
            count = block.count(b"\n")
            _counted = (block, count)
            yield lineno, block
            lineno += count if block[-1:] == b"\n" else count + 1
        if error:
            raise ReadFailure(lineno + 1, error)
        if not chunk:
            return


def newlines(block: bytes) -> int:
    """How many newlines `block` holds: not counted again if read_blocks just counted them.

    A pass over a block costs as much as deciding which of its lines a
    filter wants (replay -e on NDJSON): counted once, not twice.
    """
    last, count = _counted
    if last is block:
        return count
    return block.count(b"\n")


def split_lines(block: bytes) -> list[bytes]:
    """The lines of a block, without their newlines."""
    lines = block.split(b"\n")
    if not lines[-1]:
        lines.pop()
    return lines


def first_line(
    blocks: Iterator[tuple[int, bytes]],
) -> tuple[int, bytes, Iterator[tuple[int, bytes]]] | None:
    """The first line that is not blank (nor a lone RS), its number, and the blocks after it.

    None for an input with no such line.
    """
    for before, block in blocks:
        start = 0
        number = before
        while start < len(block):
            end = block.find(b"\n", start)
            end = len(block) if end < 0 else end + 1
            number += 1
            line = block[start:end]
            if content_of(line):
                rest = block[end:]
                return number, line, _prepend(number, rest, blocks)
            start = end
    return None


def content_of(line: bytes) -> bytes:
    """A line without its blanks and one RFC 7464 record separator."""
    text = line.strip()
    if text[:1] == b"\x1e":
        text = text[1:].strip()
    return text


def excerpt(line: bytes, width: int = 40) -> str:
    """A short printable quote of a line for a message: escapes for what a terminal would obey."""
    text = content_of(line)[: width * 4].decode("utf-8", "backslashreplace")
    shown = ""
    for char in text:
        part = char if char.isprintable() else repr(char)[1:-1]
        if len(shown) + len(part) > width:
            return f"'{shown}...'"
        shown += part
    return f"'{shown}'"


def _prepend(
    before: int, block: bytes, blocks: Iterator[tuple[int, bytes]]
) -> Iterator[tuple[int, bytes]]:
    if block:
        yield before, block
    yield from blocks


def decoded(line: bytes) -> Any:
    """A line's JSON value, None if it is not JSON."""
    try:
        return loads_exact(content_of(line))
    except ValueError:
        return None


def is_envelope(value: Any) -> bool:
    """Whether a decoded line is an envelope (an object with an event name)."""
    return type(value) is dict and type(value.get("event")) is str
