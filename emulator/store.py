"""The in-memory remote job store: jobs, concurrency slots, Runway's THROTTLED queues, and the
idempotency index. No I/O and no timers (see `emulator.lifecycle`)."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Iterator

from config.settings import ProviderName
from emulator.jobs import RemoteJob

Slot = tuple[ProviderName, str]
IdempotencyIndex = tuple[ProviderName, str, str]


class JobStore:
    """Every live remote job, who holds a concurrency slot, and who waits for one."""

    def __init__(self) -> None:
        self.jobs: dict[str, RemoteJob] = {}
        self.active: dict[Slot, set[str]] = defaultdict(set)
        self.waiting: dict[Slot, deque[str]] = defaultdict(deque)
        self.peak: dict[Slot, int] = defaultdict(int)
        self._idempotent: dict[IdempotencyIndex, str] = {}

    def clear(self) -> None:
        """Forget every job, slot, queue, peak and idempotency key."""
        self.jobs.clear()
        self.active.clear()
        self.waiting.clear()
        self.peak.clear()
        self._idempotent.clear()

    def __iter__(self) -> Iterator[RemoteJob]:
        return iter(list(self.jobs.values()))

    def add(self, job: RemoteJob) -> None:
        """Keep ``job`` and index its idempotency key."""
        self.jobs[job.id] = job
        if job.idempotency_key:
            self._idempotent[(job.provider, job.key_id, job.idempotency_key)] = job.id

    def get(self, provider: ProviderName, kid: str, job_id: str) -> RemoteJob | None:
        """The job, when it exists and belongs to this provider and key."""
        job = self.jobs.get(job_id)
        if job is None or job.provider is not provider or job.key_id != kid:
            return None
        return job

    def by_idempotency_key(self, provider: ProviderName, kid: str, key: str) -> RemoteJob | None:
        """The job an earlier submit with the same idempotency key created, if still kept."""
        job_id = self._idempotent.get((provider, kid, key))
        return self.jobs.get(job_id) if job_id else None

    def active_count(self, slot: Slot) -> int:
        """How many jobs hold a slot of this (provider, key)."""
        return len(self.active.get(slot, ()))

    def occupy(self, job: RemoteJob) -> None:
        """Let ``job`` hold one of its key's slots; track the peak."""
        holders = self.active[job.slot]
        holders.add(job.id)
        self.peak[job.slot] = max(self.peak[job.slot], len(holders))

    def enqueue(self, job: RemoteJob) -> None:
        """Park ``job`` until a slot of its key frees (Runway's THROTTLED)."""
        self.waiting[job.slot].append(job.id)

    def vacate(self, job: RemoteJob) -> RemoteJob | None:
        """Free ``job``'s slot or queue place; the next waiting job of that key, if any."""
        self.active[job.slot].discard(job.id)
        queue = self.waiting.get(job.slot)
        if queue is None:
            return None
        if job.id in queue:
            queue.remove(job.id)
        while queue:
            candidate = self.jobs.get(queue.popleft())
            if candidate is not None and candidate.final is None:
                return candidate
        return None

    def remove(self, job: RemoteJob) -> None:
        """Forget ``job`` entirely (deleted or past its record TTL)."""
        self.jobs.pop(job.id, None)
        if job.idempotency_key:
            index = (job.provider, job.key_id, job.idempotency_key)
            if self._idempotent.get(index) == job.id:
                del self._idempotent[index]

    def expired(self, is_expired: Callable[[RemoteJob], bool]) -> list[RemoteJob]:
        """Finished jobs for which ``is_expired`` says their record is past its TTL."""
        return [job for job in self.jobs.values() if job.final is not None and is_expired(job)]

    def current(self) -> dict[Slot, int]:
        """Jobs holding a slot right now, per (provider, key)."""
        return {slot: len(ids) for slot, ids in self.active.items() if ids}
