"""Every Python example of docs/python.md runs, as a script of its own."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parent.parent / "docs" / "python.md"
EXAMPLES = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)


def test_the_doc_has_its_examples() -> None:
    """The study, the bot loops, raw frames and the Dask run are all there."""
    text = "\n".join(EXAMPLES)
    assert len(EXAMPLES) >= 6
    for needle in (
        "pd.DataFrame",
        "wstail.tail(",
        "wstail.atail(",
        "LocalCluster",
        "capture_frames",
    ):
        assert needle in text


@pytest.mark.parametrize("number", range(len(EXAMPLES)))
def test_example_runs(number: int, tmp_path: Path) -> None:
    """Example `number` runs to its end (exit 0), in a fresh interpreter."""
    script = tmp_path / f"example_{number}.py"
    script.write_text(EXAMPLES[number])
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=110
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip()
