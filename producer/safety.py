"""Which source URLs restyle may fetch: never ``file://``, never the user's own network.

Preflight probes every source from the machine that runs ``restyle submit``, which usually sits
inside the user's network. A manifest row pointing at ``http://169.254.169.254/`` or
``http://localhost:8080/admin`` would make that machine fetch it, so such hosts are refused
unless ``allow_private_sources`` is set (the demo and the tests do, for their loopback servers).
Plain ``http://`` is refused on the same switch: the providers fetch sources over HTTPS only.

The decision is pure (`classify`, `check_url`) over addresses given by a resolver; the default
resolver is `socket.getaddrinfo`. `guarded_client` applies the same check to every request the
probe sends, redirects included, so a public URL cannot bounce the probe inside. The client
resolves the host again when it connects, so a DNS answer that changes in between (rebinding)
is not covered; a network egress policy is the cure there.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str], list[IPAddress]]
DEFAULT_PORTS = {"http": 80, "https": 443}


class UnsafeSource(Exception):
    """A URL restyle refuses to fetch or to hand to a provider; the message says why."""


class UnreachableSource(Exception):
    """A URL whose host does not resolve."""


_CHECKS: tuple[tuple[str, Callable[[IPAddress], bool]], ...] = (
    ("loopback", lambda ip: ip.is_loopback),
    ("link-local", lambda ip: ip.is_link_local),
    ("multicast", lambda ip: ip.is_multicast),
    ("unspecified", lambda ip: ip.is_unspecified),
    ("private", lambda ip: ip.is_private),
    ("reserved", lambda ip: ip.is_reserved),
    ("not globally routable", lambda ip: not ip.is_global),
)


def classify_address(address: IPAddress) -> str | None:
    """Why ``address`` is off limits ("loopback", "private", ...), or None when it is public."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for reason, test in _CHECKS:
        if test(address):
            return reason
    return None


def classify(addresses: Iterable[IPAddress]) -> str | None:
    """The first reason any of ``addresses`` is off limits, or None when all are public."""
    for address in addresses:
        reason = classify_address(address)
        if reason is not None:
            return f"{address} is {reason}"
    return None


def resolve_host(host: str) -> list[IPAddress]:
    """Every address ``host`` resolves to; `UnreachableSource` when it does not resolve."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnreachableSource(f"host {host!r} does not resolve") from exc
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def check_url(url: str, allow_private: bool, resolve: Resolver = resolve_host) -> None:
    """Raise `UnsafeSource` unless ``url`` is an https URL of a public host (or allowed)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise UnsafeSource(f"{scheme or 'a bare'}:// URLs are not accepted; use https://")
    if scheme == "http" and not allow_private:
        raise UnsafeSource("http:// is refused: providers fetch sources over https:// only")
    if not parts.hostname:
        raise UnsafeSource("the URL has no host")
    if allow_private:
        return
    reason = classify(_addresses(parts.hostname, resolve))
    if reason is not None:
        raise UnsafeSource(f"{parts.hostname} resolves to a non-public address: {reason}")


def _addresses(host: str, resolve: Resolver) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        return resolve(host)


def cached(resolve: Resolver, size: int = 1024) -> Resolver:
    """``resolve`` remembering its answers (one batch asks about the same hosts many times)."""
    return functools.lru_cache(maxsize=size)(resolve)


def origin(url: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of ``url``, the port filled in from the scheme when absent."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or DEFAULT_PORTS.get(scheme, 0)
    return scheme, (parts.hostname or "").lower(), port


def guarded_client(
    allow_private: bool,
    trusted_origins: Iterable[str] = (),
    timeout_s: float = 30.0,
    resolve: Resolver = resolve_host,
) -> httpx.Client:
    """An httpx client that raises `UnsafeSource` before any request `check_url` refuses.

    ``trusted_origins`` (the configured S3 endpoint's URL) are exempt: presigned URLs point
    there. Only the exact scheme, host and port are: a redirect to another port of the same
    host (an internal MinIO beside the public one) is checked like any URL.
    """
    trusted = frozenset(origin(url) for url in trusted_origins)

    def guard(request: httpx.Request) -> None:
        if origin(str(request.url)) not in trusted:
            check_url(str(request.url), allow_private, resolve)

    return httpx.Client(timeout=timeout_s, follow_redirects=True, event_hooks={"request": [guard]})
