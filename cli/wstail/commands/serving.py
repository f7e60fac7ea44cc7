"""`replay --serve` options: checked and parsed here, served by `wstail.serve.serve_file`."""

from __future__ import annotations

from typing import Any

from wstail.exitcodes import UsageError


def parse_listen(text: str) -> tuple[str, int]:
    """`[HOST:]PORT` (HOST may be a bracketed IPv6 address); 127.0.0.1 by default."""
    host, sep, port_text = text.rpartition(":")
    if not sep:
        host = "127.0.0.1"
    host = host.strip("[]") or "127.0.0.1"
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise UsageError(f"--serve {text!r}: expected [HOST:]PORT with PORT in 0-65535")
    return host, int(port_text)


# Options that shape what replay prints; a served capture is sent whole, from its start.
_NOT_SERVED = {
    "start": "--from",
    "end": "--to",
    "events": "-e/--event",
    "excludes": "-x/--exclude",
    "filters": "-f/--filter",
    "query": "-q/--query",
    "raw_output": "-r/--raw-output",
    "count": "-n/--count",
    "until": "--until",
    "idle_timeout": "--idle-timeout",
    "duration": "--duration",
    "raw": "--raw",
    "meta": "--meta",
    "rs": "--seq",
    "pretty": "--pretty/--compact",
    "tsv": "--tsv",
    "csv": "--csv",
    "stats": "--stats",
}


def check_serve_options(params: dict[str, Any]) -> None:
    """UsageError for an output or selection option given with --serve (it would do nothing)."""
    given = [flag for key, flag in _NOT_SERVED.items() if params.get(key) not in (None, False, ())]
    if given:
        raise UsageError(
            f"{', '.join(given)} cannot be used with --serve (every client gets the whole capture)"
        )


def serve_files(paths: list[str], params: dict[str, Any]) -> None:
    """Check the options, then serve one capture until interrupted (exit 130)."""
    from wstail.serve import ServeSettings, serve_file

    if len(paths) != 1 or paths[0] == "-":
        raise UsageError("--serve takes exactly one capture FILE (not stdin)")
    check_serve_options(params)
    host, port = parse_listen(params["serve"])
    settings = ServeSettings(
        listen=params["serve"],
        host=host,
        port=port,
        speed=params["speed"] or 1.0,
        max_gap=params["max_gap"],
        loop=params["loop"],
        eio=params["eio"],
        cors=tuple(params["cors"]),
        allow_hosts=tuple(params["allow_hosts"]),
    )
    serve_file(paths[0], settings)
