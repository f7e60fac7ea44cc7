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


_SECRET_KEYS = ("auth", "token", "secret", "signature", "key", "pass")


def redact_sent(text: str) -> str:
    """A message sent to a feed (--send, --emit), fit for a capture header.

    In JSON, the string values of keys that name a secret (token, signature,
    key, passphrase...) become "***", at any depth; other text is kept as is.
    The JSON is read and written with every digit kept (a number a double
    cannot hold neither hides a secret nor is rounded in the header).
    """
    from wstail.jsonexact import dumps, loads_exact

    try:
        value = loads_exact(text)
    except (ValueError, RecursionError):  # not JSON: kept as given, as documented
        return text
    redacted, changed = _redacted(value)
    return dumps(redacted).decode() if changed else text


def _redacted(value: object) -> tuple[object, bool]:
    if isinstance(value, dict):
        changed = False
        out: dict[str, object] = {}
        for key, item in value.items():
            if isinstance(item, str) and any(word in key.lower() for word in _SECRET_KEYS):
                out[key], changed = "***", True
            else:
                out[key], inner = _redacted(item)
                changed = changed or inner
        return out, changed
    if isinstance(value, list):
        items = [_redacted(item) for item in value]
        return [item for item, _ in items], any(inner for _, inner in items)
    return value, False
