"""Secrets out of anything shown: URLs for messages, headers and captures."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def redact_url(url: str) -> str:
    """The URL fit for display: no user:password@, every query value replaced by ***."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    netloc = parts.netloc.rpartition("@")[2]
    items = (_redact_query_item(item) for item in parts.query.split("&"))
    query = "&".join(item for item in items if item)
    fragment = "***" if parts.fragment else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, fragment))


def _redact_query_item(item: str) -> str:
    if not item:
        return item
    name, equals, _ = item.partition("=")
    return f"{name}=***" if equals else "***"  # a bare item may itself be the secret
