"""The one object that owns the terminal: streams, TTY-ness and colour, decided once."""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from typing import Any, TextIO

import orjson

from wstail.jsonexact import json_default

# jq's palette: keys blue, strings green, numbers and booleans plain,
# null grey; the event name stands out in bold yellow.
KEY = "\x1b[34;1m"
STRING = "\x1b[32m"
NUMBER = "\x1b[39m"
LITERAL = "\x1b[39m"
NULL = "\x1b[1;30m"
EVENT = "\x1b[33;1m"
RESET = "\x1b[0m"

_TOKEN = re.compile(
    r'(?P<str>"(?:[^"\\]|\\.)*")(?P<colon>\s*:)?'
    r"|(?P<num>-?\d[\d.eE+-]*)"
    r"|(?P<lit>true|false)"
    r"|(?P<null>null)"
)


def colorize(text: str) -> str:
    """Add ANSI colours to JSON text; the value of an `event` key stands out."""
    out: list[str] = []
    last = 0
    after_event_key = False
    for match in _TOKEN.finditer(text):
        out.append(text[last : match.start()])
        last = match.end()
        if match.group("str") is not None:
            token = match.group("str")
            if match.group("colon") is not None:
                out.append(f"{KEY}{token}{RESET}{match.group('colon')}")
                after_event_key = token == '"event"'
                continue
            colour = EVENT if after_event_key else STRING
            out.append(f"{colour}{token}{RESET}")
        elif match.group("num") is not None:
            out.append(f"{NUMBER}{match.group('num')}{RESET}")
        elif match.group("lit") is not None:
            out.append(f"{LITERAL}{match.group('lit')}{RESET}")
        else:
            out.append(f"{NULL}null{RESET}")
        after_event_key = False
    out.append(text[last:])
    return "".join(out)


@dataclass(slots=True)
class Terminal:
    """How output looks, decided once from options, TTY-ness and NO_COLOR."""

    pretty: bool
    color: bool
    stderr: TextIO

    @classmethod
    def detect(
        cls,
        pretty: bool | None,
        color: str,
        stdout_isatty: bool | None = None,
        environ: dict[str, str] | None = None,
    ) -> Terminal:
        """Decide pretty and colour: --pretty/--compact, --color auto|always|never, NO_COLOR."""
        env = os.environ if environ is None else environ
        tty = sys.stdout.isatty() if stdout_isatty is None else stdout_isatty
        if color == "always":
            use_color = True
        elif color == "never":
            use_color = False
        else:
            use_color = tty and not env.get("NO_COLOR") and env.get("TERM") != "dumb"
        return cls(pretty=tty if pretty is None else pretty, color=use_color, stderr=sys.stderr)

    @property
    def plain(self) -> bool:
        """Whether output is compact and colourless (the fast path)."""
        return not self.pretty and not self.color

    def render(self, value: Any) -> bytes:
        """Serialize one JSON value the way this terminal wants it."""
        option = orjson.OPT_INDENT_2 if self.pretty else 0
        try:
            data = orjson.dumps(value, default=json_default, option=option)
        except orjson.JSONEncodeError:
            from wstail.jsonexact import dumps

            data = dumps(value, option=option)
        if self.color:
            return colorize(data.decode()).encode()
        return data
