"""The Redis job ledger: every transition a compare-and-set, indexes by state and by batch.

Each job is a small hash (``s`` state, ``v`` version, ``j`` the Job JSON without its defaults).
One Lua script creates a job with its indexes, another moves it: it writes only when the state
and version are still the ones the caller read, so a duplicated or redelivered Celery message
finds the job already moved and does nothing. Finished jobs keep their record for
``record_ttl_s``; unfinished jobs never expire.

Over a failover or a dropped connection the client retries a call (`config.redis`), so a
compare-and-set may run twice: the first run wrote and its answer was lost, the second finds
a version it does not expect. That second run is recognised as applied when the stored record
is byte for byte the one this call wrote (its ``write_token`` is this call's own).
Durable writes (``durable=True``, and `add`) send ``WAIT`` in the same pipeline (`Replicas`).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis

from config.redis import redis_client
from config.settings import Settings
from jobs import redis_keys
from jobs.models import Job
from jobs.replicas import NO_REPLICAS, NotReplicated, Replicas
from jobs.scripts import load_script
from jobs.states import ACTIVE_STATES, JobState, can_transition

DEFAULT_RECORD_TTL_S = 14 * 86400
MAX_RACES = 20
"""Version races tolerated in one call before `LedgerContention` (each means another writer won)."""

FIXED_FIELDS = frozenset(
    {"id", "batch", "state", "version", "write_token", "events", "created_at", "updated_at"}
)
_ACTIVE = sorted(state.value for state in ACTIVE_STATES)


class LedgerError(Exception):
    """Root of the ledger's own errors."""


class JobNotFound(LedgerError, LookupError):
    """No record of the job: never added, or finished long enough ago to have expired."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"no job {job_id}")
        self.job_id = job_id


class IllegalTransition(LedgerError, ValueError):
    """A move `jobs.states` does not allow: a bug in the caller, never retried."""

    def __init__(self, job_id: str, current: JobState, new: JobState) -> None:
        super().__init__(f"job {job_id}: {current} -> {new} is not a legal transition")
        self.job_id, self.current, self.new = job_id, current, new


class LedgerContention(LedgerError):
    """Other writers kept changing the job; the caller's message should be retried later."""


def encode(job: Job) -> str:
    """The compact JSON stored for ``job`` (defaults left out)."""
    return job.model_dump_json(exclude_defaults=True)


def epoch(moment: datetime) -> float:
    """Seconds since the epoch, the score of the indexes."""
    return moment.timestamp()


def advance(job: Job, now: datetime, changes: dict[str, Any], state: JobState | None) -> Job:
    """A validated copy of ``job`` with ``changes``, a new version and ``updated_at = now``.

    With ``state`` the copy is in that state and carries one more history event. Its
    ``write_token`` is new, so no other write can store the same record.
    Raise TypeError on a field that does not exist or may not be changed this way.
    """
    wrong = sorted(set(changes) - (set(Job.model_fields) - FIXED_FIELDS))
    if wrong:
        raise TypeError(f"cannot change job field(s): {', '.join(wrong)}")
    token = secrets.token_hex(6)
    data = {**job.model_dump(), **changes, "version": job.version + 1, "write_token": token,
            "updated_at": now}  # fmt: skip
    if state is not None:
        data["state"] = state
    return Job.model_validate(data)


@dataclass(frozen=True)
class Moved:
    """A transition that was written; ``stitch_due`` when it stored a clip's last segment
    (the ledger gives that to exactly one writer)."""

    job: Job
    stitch_due: bool = False


class Ledger:
    """Jobs in Redis: create, read, move by compare-and-set, and query by state and batch."""

    def __init__(
        self,
        client: redis.Redis[bytes],
        record_ttl_s: int = DEFAULT_RECORD_TTL_S,
        replicas: Replicas = NO_REPLICAS,
    ) -> None:
        self.client = client
        self.record_ttl_s = record_ttl_s
        self.replicas = replicas
        self._add = load_script(client, "ledger_add")
        self._move = load_script(client, "ledger_move")

    @classmethod
    def from_settings(cls, settings: Settings, client: redis.Redis[bytes] | None = None) -> Ledger:
        """The ledger every process uses: the configured record TTL and replicas (``WAIT`` on
        costly writes), on ``client`` (shared with the caller's other stores) or a new one."""
        return cls(
            client if client is not None else redis_client(settings),
            settings.job_record_ttl_s,
            Replicas.of(settings),
        )

    def add(self, jobs: Sequence[Job]) -> list[bool]:
        """Create ``jobs`` in one pipeline; False for an id that exists (left untouched).

        Raise `NotReplicated` when replicas are configured and too few hold the jobs: nothing
        is dispatched then, and adding them again finds them (False) and dispatches them.
        """
        pipe = self.client.pipeline(transaction=False)
        for job in jobs:
            self._add(keys=self._add_keys(job), args=self._add_args(job), client=pipe)
        waiting = self._wait_in(pipe, durable=bool(jobs))
        answers = pipe.execute()
        if waiting:
            self.replicas.check(int(answers.pop()), f"adding {len(jobs)} job(s)")
        return [bool(created) for created in answers]

    def _wait_in(self, pipe: redis.client.Pipeline[bytes], durable: bool) -> bool:
        """Queue ``WAIT`` at the end of ``pipe`` when ``durable`` and replicas are configured."""
        if not durable or self.replicas.count == 0:
            return False
        pipe.wait(self.replicas.count, self.replicas.timeout_ms)
        return True

    def _add_keys(self, job: Job) -> list[str]:
        return [
            redis_keys.job(job.id),
            redis_keys.state_index(job.state),
            redis_keys.batch_jobs(job.batch),
            redis_keys.batch_counts(job.batch),
            redis_keys.batches(),
        ]

    def _add_args(self, job: Job) -> list[str | int | float]:
        ttl = self.record_ttl_s if job.state.terminal else 0
        score = epoch(job.updated_at)
        return [job.id, job.state.value, job.version, encode(job), score, job.batch, ttl]

    def get(self, job_id: str) -> Job | None:
        """The job, or None when there is no record of it."""
        raw = self.client.hget(redis_keys.job(job_id), "j")
        return None if raw is None else Job.model_validate_json(raw)

    def require(self, job_id: str) -> Job:
        """The job; raise `JobNotFound` when there is no record of it."""
        job = self.get(job_id)
        if job is None:
            raise JobNotFound(job_id)
        return job

    def get_many(self, ids: Sequence[str]) -> list[Job]:
        """The jobs of ``ids`` that exist, in the order asked (one pipeline)."""
        pipe = self.client.pipeline(transaction=False)
        for job_id in ids:
            pipe.hget(redis_keys.job(job_id), "j")
        return [Job.model_validate_json(raw) for raw in pipe.execute() if raw is not None]

    def transition(
        self,
        job: str | Job,
        to: JobState,
        *,
        expect: Collection[JobState],
        now: datetime,
        detail: str = "",
        expect_attempt: int | None = None,
        durable: bool = False,
        **changes: Any,
    ) -> Job | None:
        """Move the job to ``to`` if it is in one of ``expect``; apply ``changes``; log an event.

        ``job`` is the job's id, or the job as the caller last read or wrote it, which saves
        reading it again (see `_reads`). Returns the new job, or None when the job is missing
        or in none of the expected states (a duplicate message: the caller does nothing).
        With ``expect_attempt`` the job must also still be on that attempt: a move that starts
        a paid try is decided on one attempt, and a rival that started another try meanwhile
        (even one that left the state as it was, SUBMITTING -> SUBMITTING) makes it a no-op.
        Raise `IllegalTransition` when the job's state may not move to ``to``, TypeError on an
        unknown field in ``changes``; with ``durable``, `NotReplicated` (carrying the new job)
        when too few replicas hold the write.
        """
        try:
            moved = self.move(
                job,
                to,
                expect=expect,
                now=now,
                detail=detail,
                expect_attempt=expect_attempt,
                durable=durable,
                **changes,
            )
        except NotReplicated as exc:
            # What `transition` writes is the job; `move` also says whether it claimed a stitch.
            if isinstance(exc.written, Moved):
                exc.written = exc.written.job
            raise
        return None if moved is None else moved.job

    def move(
        self,
        job: str | Job,
        to: JobState,
        *,
        expect: Collection[JobState],
        now: datetime,
        detail: str = "",
        expect_attempt: int | None = None,
        durable: bool = False,
        **changes: Any,
    ) -> Moved | None:
        """`transition`, also saying whether this write stored a clip's last segment."""
        job_id = job if isinstance(job, str) else job.id

        def usable(seen: Job) -> bool:
            on_attempt = expect_attempt is None or seen.attempt == expect_attempt
            return on_attempt and seen.state in expect and can_transition(seen.state, to)

        for current in self._reads(job, usable):
            if current is None or current.state not in expect:
                return None
            if expect_attempt is not None and current.attempt != expect_attempt:
                return None
            if not can_transition(current.state, to):
                raise IllegalTransition(job_id, current.state, to)
            new = advance(current, now, changes, to).with_event(now, detail)
            outcome = self._write(current, new, durable)
            if outcome != 0:
                return Moved(new, stitch_due=outcome == 2) if outcome > 0 else None
        raise LedgerContention(f"job {job_id}: lost {MAX_RACES} races moving to {to}")

    def update(
        self,
        job: str | Job,
        *,
        expect: JobState,
        now: datetime,
        **changes: Any,
    ) -> Job | None:
        """Change fields of a job that is still in ``expect`` (no event); None otherwise.

        ``job``: the id, or the job as last read or written, as in `transition`.
        """
        return self.note(job, expect=expect, now=now, detail=None, **changes)

    def note(
        self,
        job: str | Job,
        *,
        expect: JobState,
        now: datetime,
        detail: str | None,
        **changes: Any,
    ) -> Job | None:
        """`update`, with a history line ``detail`` (none when None): for what happens to a job
        whatever its state, even a finished one (a late bill, say)."""
        for current in self._reads(job, lambda seen: seen.state is expect):
            if current is None or current.state is not expect:
                return None
            new = advance(current, now, changes, None)
            if detail is not None:
                new = new.with_event(now, detail)
            outcome = self._write(current, new)
            if outcome != 0:
                return new if outcome == 1 else None
        job_id = job if isinstance(job, str) else job.id
        raise LedgerContention(f"job {job_id}: lost {MAX_RACES} races updating it")

    def _reads(self, job: str | Job, usable: Callable[[Job], bool]) -> Iterator[Job | None]:
        """The records a compare-and-set loop works on: a given ``job`` first when it is
        usable, then up to `MAX_RACES` fresh reads.

        Trying the caller's copy saves a read when the caller holds the current record (it
        has just read or written it), and changes no outcome: the write happens only if the
        stored state and version are still those of the copy, that is if nobody has written
        the job since; otherwise, or when the copy would decline the move, the job is read
        again as if only its id had been given.
        """
        if isinstance(job, str):
            job_id = job
        else:
            job_id = job.id
            if usable(job):
                yield job
        for _ in range(MAX_RACES):
            yield self.get(job_id)

    def _write(self, old: Job, new: Job, durable: bool = False) -> int:
        """Run the CAS script: 1 written, 0 lost a race, -1 the record vanished."""
        script_keys = [
            redis_keys.job(old.id),
            redis_keys.state_index(old.state),
            redis_keys.state_index(new.state),
            redis_keys.batch_jobs(old.batch),
            redis_keys.batch_counts(old.batch),
        ]
        stores = new.state is JobState.STORED and old.state is not JobState.STORED
        if new.clip_id is not None and stores:
            clip_keys = [
                redis_keys.clip_stored(new.clip_id),
                redis_keys.clip(new.clip_id),
                redis_keys.clip_watch(),
            ]
            script_keys += clip_keys
        score = epoch(new.updated_at)
        record = encode(new)
        args = [old.id, old.state.value, old.version, new.state.value, new.version, record,
                score, self.record_ttl_s, int(new.state.terminal),
                score - self.record_ttl_s, *_ACTIVE]  # fmt: skip
        acknowledged: int | None = None
        if durable and self.replicas.count:
            # WAIT counts its own connection's writes: the script and WAIT share a pipeline.
            pipe = self.client.pipeline(transaction=False)
            self._move(keys=script_keys, args=args, client=pipe)
            self._wait_in(pipe, durable)
            answer, acknowledged = pipe.execute()
        else:
            answer = self._move(keys=script_keys, args=args)
        outcome = int(answer)
        if outcome == 0 and self._holds(new.id, record):
            # A retried run of this very write, whose first run had applied. Had that run also
            # claimed a clip's stitch, the clip's watch entry (same script) re-drives it.
            outcome = 1
        if acknowledged is not None and outcome > 0:
            written = Moved(new, stitch_due=outcome == 2)
            self.replicas.check(int(acknowledged), f"job {new.id} -> {new.state}", written)
        return outcome

    def _holds(self, job_id: str, record: str) -> bool:
        """True when the stored record of ``job_id`` is exactly ``record``."""
        return self.client.hget(redis_keys.job(job_id), "j") == record.encode()

    def stale(self, state: JobState, older_than: datetime, limit: int = 1000) -> list[str]:
        """Ids in ``state`` whose last change is older than ``older_than``, oldest first."""
        raw = self.client.zrangebyscore(
            redis_keys.state_index(state), "-inf", f"({epoch(older_than)}", start=0, num=limit
        )
        return [item.decode() for item in raw]

    def watch(self, job_id: str, until: datetime) -> None:
        """Expect a worker to act on ``job_id`` by ``until``; past that it counts as overdue."""
        self.client.zadd(redis_keys.watch(), {job_id: epoch(until)})

    def unwatch(self, job_id: str) -> None:
        """Stop expecting anything of ``job_id`` (it moved on, or ended)."""
        self.client.zrem(redis_keys.watch(), job_id)

    def overdue(self, now: datetime, limit: int = 1000) -> list[str]:
        """Watched ids whose expected time has passed, most overdue first."""
        raw = self.client.zrangebyscore(
            redis_keys.watch(), "-inf", f"({epoch(now)}", start=0, num=limit
        )
        return [item.decode() for item in raw]

    def ids_in_state(self, state: JobState) -> list[str]:
        """Every id in ``state``, oldest change first (the metrics read the jobs held now)."""
        return [item.decode() for item in self.client.zrange(redis_keys.state_index(state), 0, -1)]

    def batch_ids(self, batch: str) -> list[str]:
        """The ids of ``batch``'s jobs, sorted."""
        return sorted(item.decode() for item in self.client.smembers(redis_keys.batch_jobs(batch)))

    def batch_counts(self, batch: str) -> dict[JobState, int]:
        """How many of ``batch``'s jobs are in each state (every state present, maybe 0)."""
        raw = self.client.hgetall(redis_keys.batch_counts(batch))
        found = {JobState(name.decode()): int(count) for name, count in raw.items()}
        return {state: found.get(state, 0) for state in JobState}

    def batches(self) -> list[str]:
        """Names of the batches that still have job indexes, first enqueued first."""
        names = [item.decode() for item in self.client.zrange(redis_keys.batches(), 0, -1)]
        pipe = self.client.pipeline(transaction=False)
        for name in names:
            pipe.exists(redis_keys.batch_counts(name))
        alive = pipe.execute()
        gone = [name for name, exists in zip(names, alive, strict=True) if not exists]
        if gone:
            self.client.zrem(redis_keys.batches(), *gone)
        return [name for name, exists in zip(names, alive, strict=True) if exists]
