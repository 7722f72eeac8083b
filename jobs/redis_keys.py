"""Every Redis key restyle writes, in one place, all under the ``restyle:`` prefix.

The variable part (a job id, a batch name, a provider key) always comes last, so no batch name
can make one key collide with another kind of key.
"""

from __future__ import annotations

from jobs.states import JobState

PREFIX = "restyle:"


def job(job_id: str) -> str:
    """Hash of one job: ``s`` state, ``v`` version, ``j`` the compact Job JSON."""
    return f"{PREFIX}job:{job_id}"


def state_index(state: JobState) -> str:
    """Sorted set of the job ids in ``state``, scored by their last change (epoch seconds)."""
    return f"{PREFIX}state:{state.value}"


def batch_jobs(batch: str) -> str:
    """Set of the job ids of ``batch``."""
    return f"{PREFIX}batch-jobs:{batch}"


def batch_counts(batch: str) -> str:
    """Hash state -> number of the batch's jobs in that state."""
    return f"{PREFIX}batch-counts:{batch}"


def batches() -> str:
    """Sorted set of the batch names that hold jobs, scored by their first job's creation."""
    return f"{PREFIX}batches"


def batch_record(batch: str) -> str:
    """String: the `Batch` JSON."""
    return f"{PREFIX}batch:{batch}"


def batch_records() -> str:
    """Sorted set of the names of the batch records, scored by creation time."""
    return f"{PREFIX}batch-records"


def budget(batch: str) -> str:
    """Hash of a batch's money in micro-dollars: ``limit`` (absent: none), ``reserved``,
    ``spent``, and the parts of ``spent`` that are bills (``billed``) and providers' maxima
    (``ceiling``)."""
    return f"{PREFIX}budget:{batch}"


def limiter(kind: str, provider: str, key_id: str) -> str:
    """One piece of the limiter's state for one API key of one provider (jobs.limits.limiter)."""
    return f"{PREFIX}limiter:{kind}:{provider}:{key_id}"


def watch() -> str:
    """Sorted set of not-yet-submitted job ids, scored by when a worker expects to act on them.

    A job whose score has passed without the job moving lost its message (a killed worker held
    it, or its retry countdown); the reconciler re-drives it.
    """
    return f"{PREFIX}watch"


def spend(batch: str) -> str:
    """Hash of a batch's spend in micro-dollars by ``<day>|<provider>|<kind>``: ``estimated``
    (committed at acceptance: the provider's maximum where it said one, else ours), ``billed``
    (the provider's bills) and ``replaced`` (the estimates those bills replaced). See
    `jobs.budget.Budget.bill`."""
    return f"{PREFIX}spend:{batch}"


def callback(job_id: str) -> str:
    """Hash of a job's crun callback: ``h`` the SHA-256 of its token's secret (never the token),
    and one ``s:<digest>`` field per distinct (task id, status) it was called back with."""
    return f"{PREFIX}callback:{job_id}"


def webhook_delivery(key: str) -> str:
    """String set once per webhook idempotency key (OpenRouter's ``<job id>-<status>``)."""
    return f"{PREFIX}webhook-delivery:{key}"


def poll_detection(provider: str) -> str:
    """Hash of a provider's detection-delay histogram: bucket bound -> count, ``sum``, ``count``."""
    return f"{PREFIX}poll-detection:{provider}"


def clip(clip_id: str) -> str:
    """Hash of one clip: ``s`` state, ``v`` version, ``j`` the Clip JSON, ``n`` its number of
    segments (0 until cut) and ``stitch`` set once, by the ledger, when its last segment is
    stored."""
    return f"{PREFIX}clip:{clip_id}"


def clip_stored(clip_id: str) -> str:
    """Set of the ids of a clip's segment jobs that are STORED (the ledger adds them)."""
    return f"{PREFIX}clip-stored:{clip_id}"


def batch_clips(batch: str) -> str:
    """Set of the clip ids of ``batch``."""
    return f"{PREFIX}batch-clips:{batch}"


def clip_watch() -> str:
    """Sorted set of clip ids scored by when a media worker should have acted on them (cut,
    anchor frame, stitch); one past its score lost its message and is re-driven."""
    return f"{PREFIX}clip-watch"


def breaker(provider: str, key_id: str) -> str:
    """Hash: the circuit breaker of one API key of one provider (see jobs.limits.breaker)."""
    return f"{PREFIX}breaker:{provider}:{key_id}"


def breaker_timer(provider: str, key_id: str) -> str:
    """String, with a TTL: the job whose delayed submit will probe this open circuit."""
    return f"{PREFIX}breaker-timer:{provider}:{key_id}"


def outage_waiting() -> str:
    """Sorted set of job ids waiting out an outage (nowhere to submit), scored by deadline."""
    return f"{PREFIX}outage-waiting"


def pool_handed(job_id: str) -> str:
    """String: the provider whose free slot a pool-waiting job was handed (read once)."""
    return f"{PREFIX}pool-handed:{job_id}"


def pool_waiting() -> str:
    """Sorted set of job ids that may run on several keys, waiting for the first free slot of
    any of them, scored by when they started waiting (see pipeline.routing.pooling)."""
    return f"{PREFIX}pool-waiting"


def lease(subject: str) -> str:
    """Hash: the liveness lease of a job or clip held in a long step (jobs.liveness): holder
    token -> when its hold ends (ms, Redis clock)."""
    return f"{PREFIX}lease:{subject}"


def task_counts() -> str:
    """Hash of Celery task counters every process adds to (jobs.task_counts): a JSON
    ``[metric, label values...]`` -> its running total."""
    return f"{PREFIX}task-counts"


def worker_heartbeats() -> str:
    """Hash: worker hostname -> epoch seconds of its last heartbeat."""
    return f"{PREFIX}worker-heartbeats"
