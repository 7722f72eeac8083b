"""Read each key's tier from providers that report one (Runway's ``GET /v1/organization``).

Run at worker start and by ``restyle limits``. What is read replaces the catalogue's guessed
concurrency and daily cap for that key (`Context.limits`, `Context.daily_cap`); a provider
that does not answer leaves the catalogue's values standing.
"""

from __future__ import annotations

import logging

import redis

from config.settings import ProviderName, Settings, key_id
from jobs.limits.tiers import KeyTier, TierStore
from providers.base import TierReader
from providers.errors import ProviderFailure
from providers.registry import get_adapter

log = logging.getLogger(__name__)


def learn_tiers(settings: Settings, client: redis.Redis[bytes]) -> dict[tuple[str, str], KeyTier]:
    """Read and store the tier of every configured key whose provider reports one."""
    store, learned = TierStore(client), {}
    for provider in ProviderName:
        for key in settings.provider(provider).api_keys:
            kid = key_id(key)
            adapter = get_adapter(provider, settings, api_key=key)
            try:
                if not isinstance(adapter, TierReader):
                    continue
                tier = adapter.tier()
            except ProviderFailure as exc:
                log.warning("tier of %s key %s not read, catalogue values stand: %s",
                            provider.value, kid, exc.message)  # fmt: skip
                continue
            finally:
                adapter.close()
            store.save(provider.value, kid, tier)
            learned[(provider.value, kid)] = tier
            log.info("tier of %s key %s: concurrency %s, daily cap %s", provider.value, kid,
                     tier.concurrency, tier.daily_generations)  # fmt: skip
    return learned
