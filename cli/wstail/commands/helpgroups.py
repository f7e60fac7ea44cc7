"""Help as people know it from gh or kubectl: a command's options under headings.

`GroupedCommand` lists each option under the heading `HEADINGS` gives its
parameter, in the headings' order; anything unlisted falls under "Other".
`tailored` gives a feed's command its own help texts: its URL and defaults,
what -H applies to, and the options that only matter with another one.
"""

from __future__ import annotations

import click

from wstail.feeds import Feed

_ORDER = (
    "Connection",
    "Reading messages",
    "Recording",
    "Replay",
    "Filters",
    "Output",
    "Stop conditions",
    "Serving",
    "Demo",
    "Other",
)

HEADINGS: dict[str, str] = {
    **dict.fromkeys(
        (
            "url",
            "feed_file",
            "channels",
            "channel_file",
            "sends",
            "emits",
            "namespace",
            "path",
            "eio",
            "headers",
            "insecure",
            "cacert",
            "connect_timeout",
            "retries",
            "retry_max_delay",
            "ping_interval",
            "max_frame_size",
            "user",
            "password_file",
            "cookie_file",
        ),
        "Connection",
    ),
    **dict.fromkeys(("each", "event_name", "event_time", "name"), "Reading messages"),
    **dict.fromkeys(("output", "rotate_size", "rotate_every", "tee", "force"), "Recording"),
    **dict.fromkeys(("start", "end", "speed", "max_gap", "follow", "jobs"), "Replay"),
    **dict.fromkeys(("events", "excludes", "filters"), "Filters"),
    **dict.fromkeys(
        (
            "query",
            "raw_output",
            "tsv",
            "csv",
            "raw",
            "meta",
            "rs",
            "pretty",
            "oneline",
            "color",
            "no_color",
            "stats",
        ),
        "Output",
    ),
    **dict.fromkeys(("count", "until", "idle_timeout", "duration"), "Stop conditions"),
    **dict.fromkeys(("serve", "loop", "cors", "allow_hosts"), "Serving"),
    "demo": "Demo",
}


class GroupedCommand(click.Command):
    """A command whose --help lists its options under headings."""

    headings: dict[str, str] = HEADINGS
    order: tuple[str, ...] = _ORDER

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Each heading's options, in the command's order of headings; the rest under Other."""
        sections: dict[str, list[tuple[str, str]]] = {}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            heading = self.headings.get(param.name or "", "Other")
            sections.setdefault(heading, []).append(record)
        for heading in self.order:
            rows = sections.get(heading)
            if rows:
                with formatter.section(heading):
                    formatter.write_dl(rows)


class ReplayCommand(GroupedCommand):
    """`replay`: its own options first; its --eio and --speed belong to serving and pacing."""

    headings = {**HEADINGS, "eio": "Serving"}
    order = ("Replay", *(heading for heading in _ORDER if heading != "Replay"))


class FeedCommand(GroupedCommand):
    """`tail NAME`, `record NAME`: --speed goes with --demo."""

    headings = {**HEADINGS, "speed": "Demo"}


# Options of `record` that shape only what --tee prints.
_TEE_ONLY = (
    "query",
    "raw_output",
    "tsv",
    "csv",
    "raw",
    "rs",
    "pretty",
    "oneline",
    "color",
    "no_color",
)


def tailored(command: click.Command, feed: Feed, verb: str) -> click.Command:
    """The command with help texts of its own feed (`verb`: tail or record)."""
    for param in command.params:
        if not isinstance(param, click.Option):
            continue
        name = param.name
        if name == "url":
            param.help = f"Server URL (default: {feed.default_url})."
        elif name == "headers":
            what = (
                "the WebSocket upgrade request"
                if feed.protocol == "websocket"
                else "the WebSocket upgrade and long-polling requests"
            )
            param.help = f"Extra HTTP header on {what} (repeatable)."
        elif name == "demo":
            doing = "Record" if verb == "record" else "Tail"
            param.help = (
                f"{doing} the bundled {feed.name} sample, served on 127.0.0.1 (offline)"
                + (": a capture to try replay on." if verb == "record" else ".")
            )
        elif verb == "record" and name in _TEE_ONLY and param.help:
            param.help = _with(param.help, "--tee")
    return command


def _with(text: str, option: str) -> str:
    """A help text that says it applies only with another option."""
    return f"{text.rstrip('.')} (with {option})."


def replay_tailored(command: click.Command) -> click.Command:
    """replay's --idle-timeout and --duration, said when they apply."""
    for param in command.params:
        if param.name == "idle_timeout":
            param.help = "With --speed: exit 124 when no envelope passed the filters for that long."
        elif param.name == "duration":
            param.help = "Exit 0 after that long (wall clock), paced or not."
    return command


__all__ = ["FeedCommand", "GroupedCommand", "ReplayCommand", "replay_tailored", "tailored"]
