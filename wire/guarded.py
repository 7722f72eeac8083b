"""The one HTTP client restyle fetches outside URLs with: sources, reference images, outputs,
re-fetches, frames. Every hop is checked before it connects, redirects included.

A URL that came from outside (a manifest row, a provider's answer, a 302) may point inside the
network restyle runs in: ``http://169.254.169.254/latest/meta-data/``, ``http://127.0.0.1:6379``.
`GuardedTransport` sits under httpx, so it sees every request the client sends, the redirects
httpx follows and the Range requests of a probe alike, and for each one:

- refuses any scheme but https, and http unless private sources are allowed or the URL is
  exactly (scheme, host, port) of a trusted origin (a provider's configured base URL, the S3
  endpoint), which is how the emulator and moto are reached over plain http;
- resolves the host once, refuses private, loopback, link-local and other non-public addresses
  (`classify_address`) unless private sources are allowed or the origin is trusted, and then
  connects to the very address it checked (the URL's host is swapped for it; ``Host`` and TLS
  SNI keep the name, and the certificate is still checked against the name), so a DNS answer
  that changes between check and connect (rebinding) is not followed.

The decision (`check_hop`) is pure over the addresses a resolver gives; the resolver is
`resolve_host` (``getaddrinfo``) unless a test passes its own.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str], list[IPAddress]]
Origin = tuple[str, str, int]
DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_REDIRECTS = 5
"""Enough for a CDN's hop or two; a longer chain is refused rather than followed."""


class UnsafeURL(Exception):
    """A URL restyle refuses to fetch or to hand to a provider; the message names the host."""


class UnresolvableHost(Exception):
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
    """Every address ``host`` resolves to; `UnresolvableHost` when it does not resolve."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnresolvableHost(f"host {host!r} does not resolve") from exc
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def addresses_of(host: str, resolve: Resolver) -> list[IPAddress]:
    """``host`` itself when it is an IP literal, else what ``resolve`` answers."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        return resolve(host)


def origin(url: str) -> Origin:
    """``(scheme, host, port)`` of ``url``, the port filled in from the scheme when absent."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or DEFAULT_PORTS.get(scheme, 0)
    return scheme, (parts.hostname or "").lower(), port


def host_of(url: str) -> str:
    """``host[:port]`` of ``url`` for messages (never userinfo, path or query)."""
    parts = urlsplit(url)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.hostname or '?'}{port}"


@dataclass(frozen=True)
class HopPolicy:
    """What a hop may reach: ``allow_private`` lifts the address and scheme checks everywhere;
    ``trusted`` origins (exact scheme, host and port) are exempt from them."""

    allow_private: bool = False
    trusted: frozenset[Origin] = field(default_factory=frozenset)

    @classmethod
    def of(cls, allow_private: bool, trusted_urls: Iterable[str | None] = ()) -> HopPolicy:
        return cls(allow_private, frozenset(origin(url) for url in trusted_urls if url))


def check_hop(url: str, policy: HopPolicy, resolve: Resolver) -> list[IPAddress] | None:
    """The addresses to connect to for ``url`` (all checked), or None to connect as usual (a
    trusted origin, or private sources allowed); raise `UnsafeURL` when the hop is refused."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = host_of(url)
    if scheme not in ("https", "http"):
        raise UnsafeURL(f"{host}: {scheme or 'a bare'}:// URLs are not fetched; use https://")
    if not parts.hostname:
        raise UnsafeURL("the URL has no host")
    if origin(url) in policy.trusted:
        return None
    if scheme == "http" and not policy.allow_private:
        raise UnsafeURL(f"{host}: plain http:// is refused; only https:// is fetched")
    if policy.allow_private:
        return None
    addresses = addresses_of(parts.hostname, resolve)
    reason = classify(addresses)
    if reason is not None:
        raise UnsafeURL(f"{host} resolves to a non-public address: {reason}")
    if not addresses:
        raise UnresolvableHost(f"host {parts.hostname!r} does not resolve")
    return addresses


class GuardedTransport(httpx.BaseTransport):
    """An httpx transport that checks every request with `check_hop` and connects to the
    checked address."""

    def __init__(
        self,
        policy: HopPolicy,
        resolve: Resolver = resolve_host,
        inner: httpx.BaseTransport | None = None,
    ) -> None:
        self.policy = policy
        self._resolve = resolve
        self._inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        addresses = check_hop(str(request.url), self.policy, self._resolve)
        if addresses is None:
            return self._inner.handle_request(request)
        # Each checked address in turn, as a plain connect would (an IPv6 answer first on a
        # host without IPv6 routes), but never one that was not checked.
        for address in addresses[:-1]:
            try:
                return self._inner.handle_request(pin(request, address))
            except httpx.ConnectError:
                continue
        return self._inner.handle_request(pin(request, addresses[-1]))

    def close(self) -> None:
        self._inner.close()


def pin(request: httpx.Request, address: IPAddress) -> httpx.Request:
    """``request`` sent to ``address``: the URL's host becomes the address; the Host header
    (set when the request was built) and the TLS server name keep the original name."""
    # A new request: httpx builds the next redirect from the original, which keeps the name.
    extensions = dict(request.extensions)
    if request.url.scheme == "https":
        extensions["sni_hostname"] = request.url.host
    return httpx.Request(
        request.method,
        request.url.copy_with(host=str(address)),
        headers=request.headers,
        stream=request.stream,
        extensions=extensions,
    )


def guarded_client(
    policy: HopPolicy,
    *,
    timeout: float | httpx.Timeout = 30.0,
    resolve: Resolver = resolve_host,
) -> httpx.Client:
    """An httpx client whose every request, redirects included, goes through `GuardedTransport`.

    ``trust_env`` is off: an environment proxy would be reached instead of the checked address.
    """
    return httpx.Client(
        transport=GuardedTransport(policy, resolve),
        timeout=timeout,
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        trust_env=False,
    )
