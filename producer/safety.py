"""Which source URLs restyle may fetch: never ``file://``, never the user's own network.

Preflight probes every source from the machine that runs ``restyle submit``, which usually sits
inside the user's network. A manifest row pointing at ``http://169.254.169.254/`` or
``http://localhost:8080/admin`` would make that machine fetch it, so such hosts are refused
unless ``allow_private_sources`` is set (the demo and the tests do, for their loopback servers).
Plain ``http://`` is refused on the same switch: the providers fetch sources over HTTPS only.

The decision is pure (`classify`, `check_url`) over addresses given by a resolver; the default
resolver is `socket.getaddrinfo`. `guarded_client` is `wire.guarded`'s client, the one every
fetch of restyle goes through: it applies the same check to every request the probe sends,
redirects included, and connects to the address it checked (no DNS rebinding in between).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from urllib.parse import urlsplit

import httpx

from wire.guarded import (
    HopPolicy,
    IPAddress,
    Resolver,
    addresses_of,
    classify,
    classify_address,
    origin,
    resolve_host,
)
from wire.guarded import UnresolvableHost as UnreachableSource
from wire.guarded import UnsafeURL as UnsafeSource
from wire.guarded import guarded_client as _guarded_client

__all__ = [
    "IPAddress",
    "Resolver",
    "UnreachableSource",
    "UnsafeSource",
    "cached",
    "check_url",
    "classify",
    "classify_address",
    "guarded_client",
    "origin",
    "resolve_host",
]


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
    reason = classify(addresses_of(parts.hostname, resolve))
    if reason is not None:
        raise UnsafeSource(f"{parts.hostname} resolves to a non-public address: {reason}")


def cached(resolve: Resolver, size: int = 1024) -> Resolver:
    """``resolve`` remembering its answers (one batch asks about the same hosts many times)."""
    return functools.lru_cache(maxsize=size)(resolve)


def guarded_client(
    allow_private: bool,
    trusted_origins: Iterable[str] = (),
    timeout_s: float = 30.0,
    resolve: Resolver = resolve_host,
) -> httpx.Client:
    """`wire.guarded.guarded_client` for preflight: ``trusted_origins`` (the configured S3
    endpoint's URL) are exempt, at their exact scheme, host and port only."""
    policy = HopPolicy.of(allow_private, trusted_origins)
    return _guarded_client(policy, timeout=timeout_s, resolve=resolve)
