"""The per-process handles a pipeline step needs, built once from `Settings`."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import httpx
import redis

from config.catalogue import ProviderSpec, provider_spec
from config.redis import redis_client
from config.settings import ProviderName, Settings, key_id
from jobs.budget import Budget
from jobs.clips.store import ClipStore
from jobs.ledger import Ledger
from jobs.limits.breaker import BreakerPolicy
from jobs.limits.breaker_store import Breakers
from jobs.limits.limiter import KeyLimits, Limiter
from jobs.limits.limiter_off import build_limiter
from jobs.limits.tiers import KeyTier, TierStore
from jobs.liveness.heartbeat import Heartbeat
from jobs.liveness.store import Leases
from jobs.timing import TimingPolicy
from providers.adapter import ProviderAdapter
from providers.registry import AdapterPool
from storage.fetching import fetch_client
from storage.s3 import ensure_bucket, s3_client

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


TIER_CACHE_S = 30.0
"""How stale a worker's copy of a key's reported tier may be."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def breaker_policy(settings: Settings) -> BreakerPolicy:
    """The circuit breakers' cooldowns from ``settings``."""
    cap = settings.breaker_max_cooldown_s
    return BreakerPolicy(
        cooldown_s=min(settings.breaker_cooldown_s, cap),
        max_cooldown_s=cap,
        credits_cooldown_s=min(settings.breaker_credits_cooldown_s, cap),
        # Not capped: a daily cap does not lift within the outage cooldowns (jobs.limits.breaker).
        auth_cooldown_s=cap,
        probe_lease_s=settings.http_read_timeout_s + 5,
    )


@dataclass
class Context:
    """Settings plus the clients built from them; one per worker process."""

    settings: Settings
    redis: redis.Redis[bytes]
    ledger: Ledger
    limiter: Limiter
    budget: Budget
    breakers: Breakers
    s3: S3Client
    http: httpx.Client
    adapters: AdapterPool
    clips: ClipStore
    leases: Leases
    heartbeat: Heartbeat
    timing: TimingPolicy = field(default_factory=TimingPolicy)
    _buckets_ready: set[str] = field(default_factory=set)
    _tiers: dict[tuple[ProviderName, str], tuple[float, KeyTier | None]] = field(
        default_factory=dict
    )

    @classmethod
    def from_settings(cls, settings: Settings) -> Context:
        client = redis_client(settings)
        leases = Leases(client)
        timeout = httpx.Timeout(
            settings.http_read_timeout_s, connect=settings.http_connect_timeout_s
        )
        return cls(
            settings=settings,
            redis=client,
            ledger=Ledger.from_settings(settings, client),
            limiter=build_limiter(client, settings.limiter_enabled),
            budget=Budget(client),
            breakers=Breakers(client, breaker_policy(settings)),
            s3=s3_client(settings),
            # Every outside URL (outputs, sources, frames) is fetched through the guarded client.
            http=fetch_client(settings, timeout),
            adapters=AdapterPool(settings),
            timing=TimingPolicy(poll_cap_s=settings.poll_max_interval_s),
            clips=ClipStore(client, record_ttl_s=settings.job_record_ttl_s),
            leases=leases,
            heartbeat=Heartbeat(leases, settings.liveness_lease_s),
        )

    def spec(self, provider: ProviderName) -> ProviderSpec:
        return provider_spec(provider, self.settings)

    def key_ids(self, provider: ProviderName) -> list[str]:
        return [key_id(key) for key in self.settings.provider(provider).api_keys]

    def limits(self, provider: ProviderName, key: str | None = None) -> KeyLimits:
        """The key's limits: its reported tier's concurrency where one was read, else the
        catalogue's."""
        spec = self.spec(provider)
        tier = self.tier(provider, key) if key is not None else None
        concurrency = tier.concurrency if tier and tier.concurrency else spec.concurrency
        return KeyLimits(concurrency=concurrency, rate_per_s=spec.rate_per_s)

    def daily_cap(self, provider: ProviderName, key: str) -> int | None:
        """The key's generations per rolling day: its tier's, else the catalogue's (None: none)."""
        tier = self.tier(provider, key)
        if tier is not None and tier.daily_generations is not None:
            return tier.daily_generations
        return self.spec(provider).daily_generations

    def tier(self, provider: ProviderName, key: str) -> KeyTier | None:
        """The key's reported tier, re-read from Redis at most every `TIER_CACHE_S`."""
        now = time.monotonic()
        cached = self._tiers.get((provider, key))
        if cached is not None and now - cached[0] < TIER_CACHE_S:
            return cached[1]
        found = TierStore(self.redis).load(provider, key)
        self._tiers[(provider, key)] = (now, found)
        return found

    def adapter(self, provider: ProviderName, key: str) -> ProviderAdapter:
        """The adapter bound to the (active or retired) API key whose `key_id` is ``key``."""
        return self.adapters.get(provider, key)

    def close(self) -> None:
        """Close every client this context opened (worker process shutdown)."""
        self.heartbeat.stop()
        self.adapters.close()
        self.http.close()
        self.redis.close()

    def call_grace(self) -> timedelta:
        """How long one provider call may take (the read timeout), and a margin."""
        return timedelta(seconds=self.settings.http_read_timeout_s + 5)

    def submit_grace(self) -> timedelta:
        """How long a submit POST may take (its own, longer read timeout), and a margin."""
        return timedelta(seconds=self.settings.http_submit_read_timeout_s + 5)

    def slot_lease_s(self) -> float:
        """How long a concurrency slot survives without a poll renewing it."""
        longest_call = max(
            self.settings.http_read_timeout_s, self.settings.http_submit_read_timeout_s
        )
        return 3 * self.settings.poll_max_interval_s + longest_call

    def ready_bucket(self, bucket: str) -> None:
        """Create ``bucket`` once per process when the settings ask for it."""
        if self.settings.s3_create_bucket and bucket not in self._buckets_ready:
            ensure_bucket(self.s3, bucket)
            self._buckets_ready.add(bucket)
