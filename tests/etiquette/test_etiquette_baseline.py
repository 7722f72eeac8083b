"""The switches bench/quota.py uses for its baseline: the limiter off, Celery's rate_limit on."""

from __future__ import annotations

import redis

from config.settings import Settings
from jobs.limits.limiter import KeyLimits, Limiter
from jobs.limits.limiter_off import UnlimitedLimiter, build_limiter
from jobs.models import Priority
from workers.celery_config import celery_config

LIMITS = KeyLimits(concurrency=1, rate_per_s=1)


def test_the_switched_off_limiter_allows_everything_and_keeps_no_cooldown(
    redis_client: redis.Redis[bytes],
) -> None:
    limiter = build_limiter(redis_client, enabled=False)
    for holder in ("a", "b", "c"):
        grant = limiter.acquire_slot("aimlapi", "k", holder, LIMITS, 60, batch="b",
                                     priority=Priority.BULK)  # fmt: skip
        assert grant.allowed
    limiter.on_throttled("aimlapi", "k", LIMITS, 30.0)

    assert isinstance(limiter, UnlimitedLimiter)
    assert limiter.acquire_request("aimlapi", "k", LIMITS).allowed
    assert limiter.cooldown_remaining("aimlapi", "k") == 0.0
    assert type(build_limiter(redis_client)) is Limiter


def test_a_submit_rate_limit_becomes_a_celery_annotation_of_restyle_submit() -> None:
    assert celery_config(Settings(submit_rate_limit=None))["task_annotations"] == {}
    configured = celery_config(Settings(submit_rate_limit="0.5/s"))
    assert configured["task_annotations"] == {"restyle.submit": {"rate_limit": "0.5/s"}}
