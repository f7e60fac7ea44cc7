"""Which envelopes pass: -e/-x event globs, -f JMESPath filters, the -q projection.

events.py holds the globs; envelope.py puts them together with the compiled
expressions. The JMESPath engine: parse.py (jmespath's parser, checked),
expression.py (the tree compiled to closures), compare.py, functions.py (the
built-in functions), values.py (JMESPath's view of JSON values) and prefilter.py
(which event names a filter can keep); lint.py warns about filters that
are valid but match nothing (`-e trades`, `event == "trade"`). jmespath itself loads only when an
expression is compiled.
"""

from __future__ import annotations

from wstail.filters.envelope import (
    EnvelopeFilter,
    compile_jmespath,
    event_names_needed,
    is_truthy,
)
from wstail.filters.events import EventFilter
from wstail.filters.lint import stream_warnings

__all__ = [
    "EnvelopeFilter",
    "EventFilter",
    "compile_jmespath",
    "event_names_needed",
    "is_truthy",
    "stream_warnings",
]
