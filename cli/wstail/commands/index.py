"""`wstail index FILE...`: make the index of captures `record` did not index (docs/index.md)."""

from __future__ import annotations

import click

from wstail.exitcodes import BadInputError, UsageError

EXAMPLES = """\b
Examples:
  wstail index day.jsonl.gz
  wstail index archive/*.jsonl.zst
  wstail replay --from 2026-11-23T17:00:00Z -n 1 day.jsonl.gz
"""


@click.command(epilog=EXAMPLES)
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def index(files: tuple[str, ...]) -> None:
    """Write FILE.idx beside each capture FILE (plain, .gz or .zst), replacing an old one.

    An index lets `replay --from/--to` start near the wanted time or seq
    instead of at the capture's start, and skip parts wholly outside the
    window. `record` writes one with every capture it closes; this makes
    one for older captures, captures from elsewhere, or after an upgrade
    that changed how frames are numbered. One line per index written on
    stdout; a file that is not a capture is one line on stderr (exit 4).
    """
    import os

    from wstail.fastpaths import DeveloperSwitches
    from wstail.feeds import reading_for
    from wstail.index import CHECKPOINT_EVERY, index_path, write_index
    from wstail.replaying.index import build_index
    from wstail.words import counted

    if "-" in files:
        raise UsageError("wstail index needs files: an index is kept beside its capture")
    every = DeveloperSwitches.from_environ(os.environ).index_every or CHECKPOINT_EVERY
    failed = 0
    for path in files:
        try:
            made = build_index(path, reading_for, every)
            try:
                write_index(path, made)
            except OSError as exc:
                raise BadInputError(
                    f"cannot write {index_path(path)}: {exc.strerror or exc}"
                ) from None
        except BadInputError as exc:
            if len(files) == 1:
                raise
            failed += 1
            click.echo(f"wstail: {exc.message}", err=True)
            continue
        summary = made.summary
        click.echo(
            f"{index_path(path)}: {counted(len(made.checkpoints), 'checkpoint')}, "
            f"{counted(summary.frames, 'frame')}, {counted(summary.envelopes, 'envelope')}"
        )
    if failed:
        raise BadInputError(f"index finished with {counted(failed, 'file')} not indexed")
