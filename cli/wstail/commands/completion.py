"""`wstail completion bash|zsh|fish`: print the shell completion script."""

from __future__ import annotations

import click

SHELLS = ("bash", "zsh", "fish")


def completion_script(shell: str) -> str:
    """Click's completion script for `wstail` in the given shell."""
    from click.shell_completion import get_completion_class

    from .main import _build_cli

    cls = get_completion_class(shell)
    if cls is None:  # pragma: no cover - SHELLS are all built in
        raise click.UsageError(f"unsupported shell {shell}")
    return cls(_build_cli(), {}, "wstail", "_WSTAIL_COMPLETE").source()


@click.command(
    epilog="""\b
Examples:
  wstail completion bash > ~/.local/share/bash-completion/completions/wstail
  wstail completion zsh > "${fpath[1]}/_wstail"
  wstail completion fish > ~/.config/fish/completions/wstail.fish
"""
)
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the completion script for SHELL (subcommands, options, event names, files)."""
    click.echo(completion_script(shell), nl=False)
