"""Entry point (placeholder until the CLI lands)."""


def main() -> None:
    """Run wstail."""
    raise SystemExit(0)
