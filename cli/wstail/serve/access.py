"""Who may read a served capture: the Host names it answers, the web pages it lets in.

A browser lets any page it has open send requests to a server on the
user's machine; two checks keep those pages from reading a capture:

- Host (DNS rebinding): a page's own host name, pointed by its DNS at
  127.0.0.1, would make its requests same-origin. Browsers send the name
  the page used, so only the names of this server are answered: loopback
  names (`localhost`, `*.localhost`, 127.0.0.0/8, ::1), the address bound
  and the one the connection came in on, any IP literal when bound to every
  interface (0.0.0.0 or ::, whose names cannot all be known), and the names
  given with `--allow-host`. The port is not compared: a tunnel or a port
  mapping (`ssh -L`, `docker -p`) changes it, and the name is what a
  rebinding page cannot fake.
- Origin (cross-origin pages): a request with an Origin is served when the
  origin is this server's own (`http://` + Host) or one given with `--cors`;
  `*` lets every origin in, without credentials, and is refused for private
  captures. Requests without an Origin (a command-line client, Node.js) are
  not from a page and are served.

socket.io 2 echoed every Origin with credentials (CVE-2020-28481);
socket.io 3 stopped, and webpack-dev-server and Jupyter check the Host.
The rules are pure functions of the header values (`Access`); `protect`
adds the aiohttp middleware that applies them to every route (HTTP 403).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp import web

__all__ = [
    "ANY_ORIGIN",
    "Access",
    "access_of",
    "client_address",
    "is_loopback_host",
    "parse_allowed_host",
    "parse_origin",
    "protect",
]

ANY_ORIGIN = "*"
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}

log = logging.getLogger("wstail.serve")


def parse_origin(text: str) -> str:
    """An origin as browsers send it (`scheme://host[:port]`, lowercase, no default port), or `*`.

    ValueError when `text` is not one (a path, a query, credentials, no host).
    """
    text = text.strip()
    if text == ANY_ORIGIN:
        return text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ValueError("expected an origin like http://localhost:3000, or *") from None
    if (
        not parts.scheme
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or "@" in parts.netloc
    ):
        raise ValueError("expected an origin like http://localhost:3000, or *")
    scheme = parts.scheme.lower()
    host = parts.hostname.lower()  # urlsplit strips IPv6 brackets
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS.get(scheme):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def parse_allowed_host(text: str) -> str:
    """A host name (or IP literal) for `--allow-host`, lowercase; ValueError with a port or path."""
    name = text.strip().lower().rstrip(".")
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if _is_ip(name):
        return name
    if not name or any(char in name for char in "/@:[]\\ \t"):
        raise ValueError("expected a host name, without a scheme or port")
    return name


def _host_name(host: str) -> str:
    """The name in a Host header value (`name`, `name:port`, `[v6]:port`), lowercase."""
    host = host.strip().lower()
    if host.startswith("["):
        name, _, _ = host[1:].partition("]")
        return name
    name, sep, port = host.rpartition(":")
    if sep and port.isdigit() and ":" not in name:
        host = name
    return host.rstrip(".")  # `localhost.` is localhost


def _ip(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(name.partition("%")[0])  # no IPv6 zone
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_ip(name: str) -> bool:
    return _ip(name) is not None


def is_loopback_host(name: str) -> bool:
    """`localhost`, a name under `.localhost` (RFC 6761), or a loopback IP literal."""
    name = _host_name(name)
    if name == "localhost" or name.endswith(".localhost"):
        return True
    address = _ip(name)
    return address is not None and address.is_loopback


def _is_wildcard(name: str) -> bool:
    """Every interface: 0.0.0.0, :: (or no host at all)."""
    address = _ip(name)
    return not name or (address is not None and address.is_unspecified)


def _parsed(what: str, values: Iterable[str], parse: Callable[[str], str]) -> tuple[str, ...]:
    """Each value parsed; ValueError naming the first bad one (`origin 'x': ...`)."""
    parsed = []
    for value in values:
        try:
            parsed.append(parse(value))
        except ValueError as exc:
            raise ValueError(f"{what} {value!r}: {exc}") from None
    return tuple(parsed)


@dataclass(frozen=True, slots=True)
class Access:
    """The Host names and cross-origin pages a served capture answers.

    `bound` is the address bound (as given); `origins` are parsed origins
    (`parse_origin`), `*` among them letting every origin in without
    credentials; `hosts` are extra host names (`parse_allowed_host`).
    """

    bound: str = "127.0.0.1"
    origins: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()

    @classmethod
    def of(cls, bound: str, origins: Iterable[str] = (), hosts: Iterable[str] = ()) -> Access:
        """An Access from option values; ValueError naming a bad origin or host."""
        return cls(
            _host_name(bound),
            _parsed("origin", origins, parse_origin),
            _parsed("host", hosts, parse_allowed_host),
        )

    @property
    def any_origin(self) -> bool:
        """`*` was given: every origin may read, without credentials."""
        return ANY_ORIGIN in self.origins

    def host_allowed(self, host: str | None, local: str | None = None) -> bool:
        """Whether a request with this Host header is for this server (None: no header).

        `local` is the address the connection came in on.
        """
        if host is None:  # HTTP/1.0: not a browser, nothing to rebind
            return True
        name = _host_name(host)
        if is_loopback_host(name) or any(_same_name(name, known) for known in self.hosts):
            return True
        if _same_name(name, self.bound) or (local is not None and _same_name(name, local)):
            return True
        return _is_wildcard(self.bound) and _is_ip(name)

    def same_origin(self, origin: str, host: str | None) -> bool:
        """The page comes from this server itself: Origin is `http://` + the Host."""
        if host is None:
            return False
        try:
            return parse_origin(origin) == parse_origin(f"http://{host.strip()}")
        except ValueError:
            return False

    def origin_allowed(self, origin: str | None, host: str | None) -> bool:
        """Whether a request with this Origin header may be served (None: not from a page)."""
        if origin is None or self.any_origin:
            return True
        try:
            parsed = parse_origin(origin)
        except ValueError:  # "null" (a sandboxed frame, a file), or garbage
            return False
        return parsed in self.origins or self.same_origin(origin, host)

    def cors_headers(self, origin: str | None) -> dict[str, str]:
        """The CORS headers of an answer: the named Origin echoed with credentials, or `*`."""
        if origin is not None:
            try:
                named = parse_origin(origin) in self.origins and origin != ANY_ORIGIN
            except ValueError:
                named = False
            if named:
                return {
                    "Access-Control-Allow-Origin": origin,
                    "Access-Control-Allow-Credentials": "true",
                    "Vary": "Origin",
                }
        if self.any_origin:
            return {"Access-Control-Allow-Origin": "*"}
        return {}  # same origin, or no page: no CORS needed

    def refusal(self, host: str | None, origin: str | None, local: str | None) -> str | None:
        """Why a request is refused (one line), or None when it may be served.

        The Host goes first: a rebinding page's Origin is `http://` + its Host.
        """
        if not self.host_allowed(host, local):
            return f"forbidden: Host {host} is not this server's name (see --allow-host)"
        if not self.origin_allowed(origin, host):
            return f"forbidden: Origin {origin} is not allowed (see --cors)"
        return None


def _same_name(name: str, other: str) -> bool:
    """The same host: equal IP addresses (however written), or equal names."""
    address = _ip(name)
    if address is not None:
        return address == _ip(other)
    return name == other


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_ACCESS = web.AppKey("wstail.serve.access", Access)


def protect(app: web.Application, access: Access) -> None:
    """Refuse, with HTTP 403 on every route of `app`, what `access` does not allow."""
    app[_ACCESS] = access
    app.middlewares.append(_guard)


def access_of(request: web.Request) -> Access:
    """The Access of the request's server (an app not `protect`ed: loopback, no CORS)."""
    found = request.app.get(_ACCESS)
    return found if found is not None else Access()


@web.middleware
async def _guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    access = access_of(request)
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    local = str(sockname[0]) if isinstance(sockname, tuple) else None
    why = access.refusal(request.headers.get("Host"), request.headers.get("Origin"), local)
    if why is not None:
        log.info("refused a request from %s: %s", request.remote, why)
        return web.Response(status=403, text=why + "\n")
    return await handler(request)


def client_address(request: web.Request) -> str:
    """Where a request came from, `host:port` (`[v6]:port`), for the server's notices."""
    transport = request.transport
    peer = transport.get_extra_info("peername") if transport is not None else None
    if isinstance(peer, tuple) and len(peer) >= 2:
        host, port = str(peer[0]), peer[1]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return request.remote or "?"
