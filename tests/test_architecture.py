"""docs/architecture.md stays a true map: every module file under cli/wstail is named in it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "cli" / "wstail"
MAP = ROOT / "docs" / "architecture.md"


def mapped_modules() -> set[str]:
    """The module paths the map's tree names, as paths relative to cli/wstail."""
    text = MAP.read_text(encoding="utf-8")
    tree = text.split("```", 2)[1]  # the first code block is the tree
    found: set[str] = set()
    folders: list[tuple[int, str]] = []  # (indent, folder) of the enclosing folders
    for line in tree.splitlines():
        match = re.match(r"( *)(\S+)", line)
        if match is None:
            continue
        indent, name = len(match.group(1)), match.group(2)
        while folders and folders[-1][0] >= indent:
            folders.pop()
        prefix = "".join(folder for _, folder in folders)
        if name.endswith("/"):
            folders.append((indent, name))
        elif name.endswith(".py"):
            found.add(prefix + name)
    return found


def test_every_module_is_on_the_map() -> None:
    """A module added to cli/wstail without a line in docs/architecture.md fails here."""
    modules = {str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")}
    assert sorted(modules - mapped_modules()) == []


def test_the_map_names_no_module_that_is_gone() -> None:
    """A module removed or renamed leaves no line behind on the map."""
    modules = {str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")}
    assert sorted(mapped_modules() - modules) == []
