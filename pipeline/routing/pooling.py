"""Late binding: a job that may run on several providers or keys, finding all of them full,
waits for the first slot that frees on any of them rather than parking on one key.

Parking pins a job to a key at its first submit, which for a batch dispatched at once is
enqueue time: the keys that happen to finish first then idle while others still have a queue.
So such a job (one whose route names several providers) joins one pool-wide list instead (no
message while it waits), and whenever a step leaves a key with free slots and nobody parked on
it (`pipeline.routing.slots.hand_on`), the jobs longest in the list are sent to be routed
again, now, to whichever key is free. Interactive jobs go first; unlike the limiter's parking,
batches of one priority are served in arrival order, not round-robin.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from redis.commands.core import Script

from config.settings import ProviderName
from jobs import redis_keys
from jobs.limits.breaker import CircuitState
from jobs.limits.limiter import Handover
from jobs.models import Job, Priority
from jobs.routes import Option
from jobs.scripts import load_script
from jobs.states import JobState
from pipeline.context import Context

HANDED_TTL_S = 60
"""How long a handed slot's provider is remembered for the job's next routing."""
INTERACTIVE_AHEAD_S = 1e9
_UNPARK: dict[int, Script] = {}


def wait_for_any(ctx: Context, job: Job, now: datetime) -> None:
    """Put ``job`` on the pool-wide list (it keeps its place if already there): interactive
    jobs ahead of bulk ones, then first come, first served."""
    ahead = INTERACTIVE_AHEAD_S if job.priority is Priority.INTERACTIVE else 0.0
    ctx.redis.zadd(redis_keys.pool_waiting(), {job.id: now.timestamp() - ahead}, nx=True)


def unpark(ctx: Context, job: Job) -> None:
    """Take ``job`` out of the limiter queue of the key it was parked on (it waits for any)."""
    assert job.key_id is not None
    provider, key = str(job.provider), job.key_id
    script = _UNPARK.get(id(ctx.redis))
    if script is None:
        script = _UNPARK[id(ctx.redis)] = load_script(ctx.redis, "limiter_common", "limiter_unpark")
    batches = redis_keys.limiter(f"parked-{job.priority.value}", provider, key)
    prefix = redis_keys.limiter("parked", provider, key) + ":"
    script(
        keys=[batches, redis_keys.limiter("stats", provider, key)], args=[prefix, job.id, job.batch]
    )


def holds_slot(ctx: Context, job: Job) -> bool:
    """Whether ``job`` holds a live slot of its key (handed one, or a redelivered submit)."""
    if job.key_id is None:
        return False
    lease = ctx.redis.zscore(redis_keys.limiter("slots", str(job.provider), job.key_id), job.id)
    return lease is not None and lease > ctx.limiter.clock()


def stop_waiting_for_any(ctx: Context, job_id: str) -> None:
    """Take ``job_id`` off the pool-wide list (it found a slot)."""
    ctx.redis.zrem(redis_keys.pool_waiting(), job_id)


def take_for_free_slots(ctx: Context, provider: ProviderName, key: str) -> list[Handover]:
    """Pool-waiting jobs for the key's free slots, removed from the list; send their submits.

    Only a key that takes submits counts: no cooldown, no open circuit, nobody parked on it.
    """
    if not ctx.redis.exists(redis_keys.pool_waiting()):
        return []
    limits = ctx.limits(provider)
    load = ctx.limiter.loads(provider, [key], {key: limits})[key]
    free = limits.concurrency - load.in_flight - load.parked
    if free <= 0 or load.cooldown_s > 0:
        return []
    circuit = ctx.breakers.get(provider, key)
    if circuit.effective(ctx.breakers.clock()) is not CircuitState.CLOSED:
        return []
    popped = ctx.redis.zpopmin(redis_keys.pool_waiting(), free)
    jobs = ctx.ledger.get_many([member.decode() for member, _score in popped])
    waiting = (JobState.QUEUED, JobState.RETRY_WAIT)
    handed = [job for job in jobs if job.state in waiting]
    pipe = ctx.redis.pipeline(transaction=False)
    for job in handed:
        pipe.set(redis_keys.pool_handed(job.id), str(provider), ex=HANDED_TTL_S)
    pipe.execute()
    return [Handover(job.id, job.priority) for job in handed]


def handed_option(ctx: Context, job: Job, options: Sequence[Option]) -> Option | None:
    """The option of the provider whose free slot ``job`` was just handed, while that slot is
    still free (read once). Late binding means taking that slot: left to the policy, a handed
    job may prefer another provider that freed a slot at the same moment, and the slot it was
    handed then idles until its provider's next job ends (a whole extra wave at the tail)."""
    found = ctx.redis.getdel(redis_keys.pool_handed(job.id))
    if found is None:
        return None
    return bound_option(found.decode(), options)


def bound_option(provider: str, options: Sequence[Option]) -> Option | None:
    """The option of ``provider`` when it has a free slot (pure)."""
    for option in options:
        if option.provider == provider and option.queued < option.capacity:
            return option
    return None
