"""The guarded client of a restyle process, from its `Settings`: who may be fetched over what.

Every outside URL restyle fetches (sources, reference images, provider outputs, their
re-fetches, frames) goes through `wire.guarded`. What is trusted comes from the settings: the
providers' base URLs (the emulator, in development, is one) and the S3 endpoint, each at its
exact scheme, host and port; ``allow_private_sources`` lifts the address checks everywhere.
"""

from __future__ import annotations

import httpx

from config.catalogue import provider_spec
from config.settings import ProviderName, Settings
from wire.guarded import HopPolicy, Resolver, guarded_client, resolve_host


def fetch_policy(settings: Settings) -> HopPolicy:
    """The hop policy of ``settings``: the providers' base URLs and the S3 endpoint trusted."""
    trusted = [provider_spec(name, settings).base_url for name in ProviderName]
    return HopPolicy.of(settings.allow_private_sources, [*trusted, settings.s3_endpoint_url])


def fetch_client(
    settings: Settings,
    timeout: float | httpx.Timeout | None = None,
    resolve: Resolver = resolve_host,
) -> httpx.Client:
    """The guarded client of ``settings`` (its read and connect timeouts unless given)."""
    if timeout is None:
        timeout = httpx.Timeout(
            settings.http_read_timeout_s, connect=settings.http_connect_timeout_s
        )
    return guarded_client(fetch_policy(settings), timeout=timeout, resolve=resolve)
