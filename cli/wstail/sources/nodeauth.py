"""Credentials for an OpenBazaar node: HTTP Basic or the node's auth cookie.

Pure helpers: they read the files they are pointed at and an environment
mapping, and never put a secret into a message, a repr or a log line.
"""

from __future__ import annotations

import base64
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from wstail.exitcodes import UsageError

COOKIE_NAME = "OpenBazaar_Auth_Cookie"
PASSWORD_ENV = "WSTAIL_NODE_PASSWORD"

# RFC 6265 cookie-octet: printable ASCII except space, '"', ',', ';' and '\'.
_COOKIE_OCTETS = re.compile(r"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]+")


@dataclass(frozen=True, slots=True, repr=False)
class NodeAuth:
    """How to authenticate to a node: Basic (user + password) or its cookie.

    `cookie_path` names the file the cookie came from (for messages);
    `from_datadir` marks a cookie picked up from the node's default data
    directory rather than given with --cookie-file.
    """

    user: str | None = None
    password: str | None = None
    cookie: str | None = None
    cookie_path: str | None = None
    from_datadir: bool = False

    def __repr__(self) -> str:
        if self.user is not None:
            return f"NodeAuth(basic, user={self.user!r}, password=***)"
        return f"NodeAuth(cookie, file={self.cookie_path!r}, value=***)"

    __str__ = __repr__

    def headers(self) -> dict[str, str]:
        """The HTTP headers that carry these credentials on the upgrade request."""
        if self.user is not None and self.password is not None:
            token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode("ascii")
            return {"Authorization": f"Basic {token}"}
        if self.cookie is not None:
            return {"Cookie": f"{COOKIE_NAME}={self.cookie}"}
        return {}

    def describe(self) -> str:
        """A secret-free phrase for messages: 'basic auth as alice', 'cookie from FILE'."""
        if self.user is not None:
            return f"basic auth as {self.user}"
        return f"cookie from {self.cookie_path}"


def default_cookie_paths(home: str, platform: str = sys.platform) -> list[Path]:
    """Where a node keeps `.cookie` by default, mainnet first, for this platform.

    Current nodes (v0.13+) use `openbazaar[-testnet]`; older v0.1x nodes used
    `OpenBazaar2.0[-testnet]`. Dot-directories on Linux, Application Support
    on macOS, plain folders in the home directory elsewhere.
    """
    if platform.startswith("linux"):
        base, names = Path(home), [".openbazaar", ".openbazaar2.0"]
    elif platform == "darwin":
        base = Path(home, "Library", "Application Support")
        names = ["openbazaar", "OpenBazaar2.0"]
    else:
        base, names = Path(home), ["openbazaar", "OpenBazaar2.0"]
    dirs = [name + suffix for name in names for suffix in ("", "-testnet")]
    return [base / name / ".cookie" for name in dirs]


def parse_cookie_file(text: str, path: str) -> str:
    """The cookie value in a `.cookie` file's text; UsageError (naming `path`, never the text)."""
    prefix = COOKIE_NAME + "="
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith(prefix):
            continue
        value = line[len(prefix) :]
        if not value:
            raise UsageError(f"cookie file {path}: the {COOKIE_NAME} value is empty")
        if not _COOKIE_OCTETS.fullmatch(value):
            raise UsageError(
                f"cookie file {path}: the {COOKIE_NAME} value has characters a cookie cannot carry"
            )
        return value
    raise UsageError(f"cookie file {path}: no line {prefix}<value> in it")


def read_password_file(path: str) -> str:
    """The first line of a password file, trailing newline stripped."""
    text = _read_text(path, "--password-file")
    # Only "\n" ends the line: other line breaks str.splitlines() knows may be
    # part of a password.
    password = text.split("\n", 1)[0].removesuffix("\r")
    if not password:
        raise UsageError(f"--password-file {path}: the first line is empty")
    return password


def resolve_node_auth(
    user: str | None,
    password_file: str | None,
    cookie_file: str | None,
    env: Mapping[str, str],
) -> NodeAuth | None:
    """Credentials from the NODE options, the environment and the node's datadir.

    --user takes its password from --password-file, else WSTAIL_NODE_PASSWORD;
    --cookie-file takes the cookie from that file; with neither, the node's
    default `.cookie` is used when one exists; otherwise None (no auth).
    """
    if user is not None and cookie_file is not None:
        raise UsageError("give either --user (Basic auth) or --cookie-file, not both")
    if password_file is not None and user is None:
        raise UsageError("--password-file needs --user NAME")
    if user is not None:
        if not user:
            raise UsageError("--user needs a non-empty name")
        if ":" in user:
            raise UsageError("--user cannot contain ':' (HTTP Basic auth forbids it)")
        if password_file is not None:
            password = read_password_file(password_file)
        else:
            password = env.get(PASSWORD_ENV, "")
            if not password:
                raise UsageError(
                    f"--user needs a password: give --password-file FILE or set {PASSWORD_ENV}"
                )
        return NodeAuth(user=user, password=password)
    if cookie_file is not None:
        text = _read_text(cookie_file, "--cookie-file")
        return NodeAuth(cookie=parse_cookie_file(text, cookie_file), cookie_path=cookie_file)
    home = env.get("HOME") or env.get("USERPROFILE") or str(Path.home())
    for path in default_cookie_paths(home):
        if path.is_file():
            text = _read_text(str(path), "cookie file")
            return NodeAuth(
                cookie=parse_cookie_file(text, str(path)),
                cookie_path=str(path),
                from_datadir=True,
            )
    return None


def _read_text(path: str, what: str) -> str:
    try:
        with open(path, encoding="utf-8", newline="") as file:  # no newline translation
            return file.read()
    except UnicodeDecodeError:
        raise UsageError(f"cannot read {what} {path}: not UTF-8 text") from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise UsageError(f"cannot read {what} {path}: {reason}") from None


__all__ = [
    "COOKIE_NAME",
    "PASSWORD_ENV",
    "NodeAuth",
    "default_cookie_paths",
    "parse_cookie_file",
    "read_password_file",
    "resolve_node_auth",
]
