"""Find an adapter by provider name, with its pooled client, and describe the catalogue.

``get_adapter`` builds one adapter on a fresh client (or the caller's); an `AdapterPool` holds one
per provider and key for a process (a worker's `pipeline.context.Context`), so it reuses
connections, and closes them all at shutdown.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from pydantic import SecretStr

from config.catalogue import Price, ProviderSpec, provider_spec
from config.redaction import Redactor
from config.settings import ProviderName, Settings, SettingsError, key_id
from jobs.request import EditRequest
from providers.adapter import ProviderAdapter
from providers.aimlapi import AimlapiAdapter
from providers.comfy import ComfyAdapter
from providers.crun import CrunAdapter
from providers.openrouter import OpenRouterAdapter
from providers.runway import RunwayAdapter
from providers.segmind import SegmindAdapter
from providers.vibedream import VibedreamAdapter

PROVIDERS: dict[ProviderName, type[ProviderAdapter]] = {
    ProviderName.RUNWAY: RunwayAdapter,
    ProviderName.SEGMIND: SegmindAdapter,
    ProviderName.AIMLAPI: AimlapiAdapter,
    ProviderName.VIBEDREAM: VibedreamAdapter,
    ProviderName.CRUN: CrunAdapter,
    ProviderName.OPENROUTER: OpenRouterAdapter,
    ProviderName.COMFY: ComfyAdapter,
}

POOL_LIMITS = httpx.Limits(max_connections=32, max_keepalive_connections=8)


class UnknownProvider(ValueError):
    """A provider name that restyle has no adapter for."""


def provider_name(name: ProviderName | str) -> ProviderName:
    """``name`` as a `ProviderName`; `UnknownProvider` listing the known ones otherwise."""
    try:
        return ProviderName(name)
    except ValueError:
        known = ", ".join(member.value for member in ProviderName)
        raise UnknownProvider(f"unknown provider {name!r}; known: {known}") from None


def configured_key(settings: Settings, name: ProviderName | str, key_index: int = 0) -> SecretStr:
    """The ``key_index``-th key of a provider; `SettingsError` naming it when there is none."""
    provider = provider_name(name)
    keys = settings.provider(provider).api_keys
    if not 0 <= key_index < len(keys):
        variable = f"RESTYLE_{provider.value.upper()}__API_KEYS"
        raise SettingsError(
            f"{variable}: provider {provider.value!r} has {len(keys)} API key(s) configured, "
            f"key #{key_index} was asked for"
        )
    return keys[key_index]


def build_client(spec: ProviderSpec, api_key: SecretStr, settings: Settings) -> httpx.Client:
    """A pooled client with the provider's base URL, auth headers and explicit timeouts."""
    timeout = httpx.Timeout(settings.http_read_timeout_s, connect=settings.http_connect_timeout_s)
    headers = {
        "Accept": "application/json",
        "User-Agent": "restyle/0.1",
        **PROVIDERS[spec.name].auth_headers(api_key),
    }
    return httpx.Client(
        base_url=spec.base_url,
        headers=headers,
        timeout=timeout,
        limits=POOL_LIMITS,
        follow_redirects=False,
    )


def get_adapter(
    name: ProviderName | str,
    settings: Settings,
    api_key: SecretStr | None = None,
    client: httpx.Client | None = None,
) -> ProviderAdapter:
    """The adapter of ``name``; ``api_key`` defaults to the provider's first configured key.

    Raises `UnknownProvider` for an unknown name and `SettingsError` when no key is configured
    (unless a ``client`` is given: it already carries its credentials).
    """
    provider = provider_name(name)
    spec = provider_spec(provider, settings)
    if client is None:
        client = build_client(spec, api_key or configured_key(settings, provider), settings)
    return _built(provider, spec, client, settings)


def find_key(settings: Settings, name: ProviderName | str, kid: str) -> SecretStr:
    """The active or retired key of ``name`` whose `key_id` is ``kid``.

    Jobs keep the key they were submitted with; after a rotation the old key stays in
    ``RESTYLE_<P>__RETIRED_API_KEYS`` until its jobs are done. `SettingsError` naming that
    variable when the key is gone.
    """
    provider = provider_name(name)
    block = settings.provider(provider)
    for key in (*block.api_keys, *block.retired_api_keys):
        if key_id(key) == kid:
            return key
    variable = f"RESTYLE_{provider.value.upper()}__RETIRED_API_KEYS"
    raise SettingsError(f"{variable}: key {kid} of {provider.value} is no longer configured")


def _built(
    provider: ProviderName, spec: ProviderSpec, client: httpx.Client, settings: Settings
) -> ProviderAdapter:
    adapter = PROVIDERS[provider](spec, client, redactor=Redactor.from_settings(settings))
    adapter.submit_read_timeout_s = settings.http_submit_read_timeout_s
    return adapter


class AdapterPool:
    """One process's adapters, one per provider and key, each on its own pooled client.

    Built after fork (clients must not cross it); `prepare` builds every configured key's
    adapter up front so that the first submit of a process does not pay for it between its
    limiter grant and its POST.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._adapters: dict[tuple[ProviderName, str], ProviderAdapter] = {}

    def get(self, name: ProviderName | str, kid: str) -> ProviderAdapter:
        """The adapter of ``name`` bound to its key ``kid`` (see `find_key`)."""
        provider = provider_name(name)
        adapter = self._adapters.get((provider, kid))
        if adapter is None:
            key = find_key(self.settings, provider, kid)
            adapter = get_adapter(provider, self.settings, api_key=key)
            self._adapters[(provider, kid)] = adapter
        return adapter

    def prepare(self) -> int:
        """Build the adapter of every configured key, active and retired; return how many."""
        for provider in ProviderName:
            block = self.settings.provider(provider)
            for key in (*block.api_keys, *block.retired_api_keys):
                self.get(provider, key_id(key))
        return len(self._adapters)

    def close(self) -> None:
        """Close every adapter's client (worker shutdown, tests)."""
        for adapter in self._adapters.values():
            adapter.close()
        self._adapters.clear()


def validate_request(name: ProviderName | str, settings: Settings, request: EditRequest) -> None:
    """Preflight without a key: raise `InvalidRequest` if ``name`` cannot take ``request``."""
    provider = provider_name(name)
    PROVIDERS[provider].check(request, provider_spec(provider, settings))


@dataclass(frozen=True)
class ProviderRow:
    """One line of ``restyle providers``: catalogue values and configuration, never a key."""

    name: ProviderName
    configured: bool
    key_count: int
    key_ids: tuple[str, ...]
    base_url: str
    concurrency: int
    rate_per_s: float
    price: Price
    retention_s: float
    typical_duration_s: float
    ratios: tuple[str, ...]
    accepts_seed: bool
    accepts_reference_image: bool
    max_source_bytes: int


def describe(settings: Settings) -> list[ProviderRow]:
    """The catalogue after overrides, one row per provider, for a table."""
    return [_row(name, settings) for name in ProviderName]


def _row(name: ProviderName, settings: Settings) -> ProviderRow:
    spec = provider_spec(name, settings)
    keys = settings.provider(name).api_keys
    return ProviderRow(
        name=name,
        configured=bool(keys),
        key_count=len(keys),
        key_ids=tuple(key_id(key) for key in keys),
        base_url=spec.base_url,
        concurrency=spec.concurrency,
        rate_per_s=spec.rate_per_s,
        price=spec.effective_price,
        retention_s=spec.retention_s,
        typical_duration_s=spec.typical_duration_s,
        ratios=spec.ratios,
        accepts_seed=spec.accepts_seed,
        accepts_reference_image=spec.accepts_reference_image,
        max_source_bytes=spec.limits.max_bytes,
    )
