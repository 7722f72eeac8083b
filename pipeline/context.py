"""The per-process handles a pipeline step needs, built once from `Settings`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import httpx
import redis

from config.catalogue import ProviderSpec, provider_spec
from config.settings import ProviderName, Settings, key_id
from jobs.breaker import BreakerPolicy
from jobs.breaker_store import Breakers
from jobs.budget import Budget
from jobs.ledger import Ledger
from jobs.limiter import KeyLimits, Limiter
from jobs.limiter_off import build_limiter
from providers.base import ProviderAdapter
from providers.registry import adapter_for_key
from storage.s3 import ensure_bucket, s3_client

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def utcnow() -> datetime:
    return datetime.now(UTC)


def breaker_policy(settings: Settings) -> BreakerPolicy:
    """The circuit breakers' cooldowns from ``settings``."""
    cap = settings.breaker_max_cooldown_s
    return BreakerPolicy(
        cooldown_s=min(settings.breaker_cooldown_s, cap),
        max_cooldown_s=cap,
        credits_cooldown_s=min(settings.breaker_credits_cooldown_s, cap),
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
    _buckets_ready: set[str] = field(default_factory=set)

    @classmethod
    def from_settings(cls, settings: Settings) -> Context:
        client = redis.Redis.from_url(settings.redis_url)
        timeout = httpx.Timeout(
            settings.http_read_timeout_s, connect=settings.http_connect_timeout_s
        )
        return cls(
            settings=settings,
            redis=client,
            ledger=Ledger(client, record_ttl_s=settings.job_record_ttl_s),
            limiter=build_limiter(client, settings.limiter_enabled),
            budget=Budget(client),
            breakers=Breakers(client, breaker_policy(settings)),
            s3=s3_client(settings),
            http=httpx.Client(timeout=timeout, follow_redirects=True),
        )

    def spec(self, provider: ProviderName) -> ProviderSpec:
        return provider_spec(provider, self.settings)

    def key_ids(self, provider: ProviderName) -> list[str]:
        return [key_id(key) for key in self.settings.provider(provider).api_keys]

    def limits(self, provider: ProviderName) -> KeyLimits:
        spec = self.spec(provider)
        return KeyLimits(concurrency=spec.concurrency, rate_per_s=spec.rate_per_s)

    def adapter(self, provider: ProviderName, key: str) -> ProviderAdapter:
        """The adapter bound to the (active or retired) API key whose `key_id` is ``key``."""
        return adapter_for_key(self.settings, provider, key)

    def call_grace(self) -> timedelta:
        """How long one provider call may take (the read timeout), and a margin."""
        return timedelta(seconds=self.settings.http_read_timeout_s + 5)

    def slot_lease_s(self) -> float:
        """How long a concurrency slot survives without a poll renewing it."""
        return 3 * self.settings.poll_max_interval_s + self.settings.http_read_timeout_s

    def ready_bucket(self, bucket: str) -> None:
        """Create ``bucket`` once per process when the settings ask for it."""
        if self.settings.s3_create_bucket and bucket not in self._buckets_ready:
            ensure_bucket(self.s3, bucket)
            self._buckets_ready.add(bucket)
