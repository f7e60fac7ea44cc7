"""A Click group whose subcommands' options may also come before the source name."""

from __future__ import annotations

import click


def resolve_or_suggest(
    group: click.Group, ctx: click.Context, args: list[str]
) -> tuple[str | None, click.Command | None, list[str]]:
    """`group`'s command for args[0]; a misspelt name is a usage error naming the closest one.

    ("No such command 'tial'. Did you mean 'tail'?"; Click suggests only
    since 8.4, and only for commands it holds, not those loaded lazily.)
    """
    name = args[0] if args else ""
    if name and not name.startswith("-") and group.get_command(ctx, name) is None:
        import difflib

        close = difflib.get_close_matches(name, group.list_commands(ctx), n=1)
        if close and not ctx.resilient_parsing:
            raise click.UsageError(f"No such command {name!r}. Did you mean {close[0]!r}?", ctx)
    return click.Group.resolve_command(group, ctx, args)


class SourceGroup(click.Group):
    """`wstail tail --demo public` reads as `wstail tail public --demo`.

    Tokens before the source name are moved after it, so every option the
    source accepts works in either place (users type options first, as with
    `record -o FILE`).
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Move options given before the source name to after it, then parse as usual."""
        return super().parse_args(ctx, self.options_after_source(ctx, args))

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """The source named by args[0]; a misspelt one is answered with the closest."""
        return resolve_or_suggest(self, ctx, args)

    def options_after_source(self, ctx: click.Context, args: list[str]) -> list[str]:
        """The arguments with the leading options placed after the source name."""
        takes_value = self._value_options(ctx)
        index = 0
        while index < len(args):
            token = args[index]
            if token == "--":
                return args
            if token in self.list_commands(ctx):
                if index == 0:
                    return args
                return [token, *args[:index], *args[index + 1 :]]
            if not token.startswith("-") or token == "-":
                scheme = token.partition("://")[0].lower()
                if scheme in ("ws", "wss") and "ws" in self.list_commands(ctx):
                    # `wstail tail wss://...`, as websocat is typed: the generic WebSocket feed
                    return ["ws", *args[:index], *args[index:]]
                if scheme in ("http", "https") and "sio" in self.list_commands(ctx):
                    raise click.UsageError(
                        f"{ctx.command_path} {token}: say which protocol: "
                        f"`{ctx.command_path} sio URL` (Socket.IO) or `{ctx.command_path} ws URL`",
                        ctx,
                    )
                if index:  # a misspelt source after options: say so, not "no such option"
                    resolve_or_suggest(self, ctx, [token])
                return args  # an unknown word: let Click report it where it stands
            name = token.split("=", 1)[0] if token.startswith("--") else token[:2]
            attached = "=" in token if token.startswith("--") else len(token) > 2
            if name in ctx.help_option_names:
                return args
            index += 1 if attached else 1 + takes_value.get(name, 0)
        if args and not ctx.resilient_parsing:
            sources = ", ".join(self.list_commands(ctx))
            raise click.UsageError(
                f"{ctx.command_path} needs a source ({sources}); its options may go before "
                "or after it",
                ctx,
            )
        return args

    def _value_options(self, ctx: click.Context) -> dict[str, int]:
        """Every option name, across the sources, that takes values: how many (--emit: 2)."""
        names: dict[str, int] = {}
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            for param in command.params if command is not None else ():
                if isinstance(param, click.Option) and not param.is_flag:
                    for opt in param.opts + param.secondary_opts:
                        names[opt] = param.nargs
        return names
