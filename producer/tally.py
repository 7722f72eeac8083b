"""A batch's numbers, counted one way for `restyle status`, the reports and the dashboard.

Pure. A batch's *items* are what the producer submitted: whole clips (a long source edited as
segments, `Clip`) and single jobs. Every count starts from the records that exist at submit
time (a clip is created before it is cut, with its planned number of segments), so totals do
not grow while cuts run. *Jobs* are every ledger job, segments and re-runs included: what the
providers were asked for. Money is the estimate of every job a provider accepted (it has a
remote id); a clip's cost is its segments', re-runs included (`ClipRollup`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from jobs.clips.record import Clip, ClipState
from jobs.models import Job
from jobs.states import JobState


@dataclass(frozen=True)
class JobFacts:
    """What counting, filtering and rolling up need of one job (the web index keeps these)."""

    id: str
    batch: str
    item: str
    state: JobState
    provider: str
    failure_kind: str | None
    paid: bool
    cost_usd: float
    double_charges: int
    double_charge_usd: float
    stored_bytes: int
    updated_at: str
    clip_id: str | None = None
    segment: int | None = None

    billed: bool = False
    """``cost_usd`` is the provider's own bill (else the catalogue's estimate)."""

    @property
    def spent_usd(self) -> float:
        """What the job cost: its estimate once a provider accepted it."""
        return self.cost_usd if self.paid else 0.0


def job_cost(job: Job) -> float:
    """The bill where the provider sent one; else the estimate of a job it accepted."""
    if job.billed_cost_usd is not None:
        return job.billed_cost_usd
    return job.estimated_cost_usd if job.remote_id else 0.0


def facts_of(job: Job) -> JobFacts:
    """The `JobFacts` of a ledger job (its cost the provider's bill where it sent one)."""
    return JobFacts(
        id=job.id,
        batch=job.batch,
        item=job.item,
        state=job.state,
        provider=job.provider.value,
        failure_kind=job.failure_kind.value if job.failure_kind else None,
        paid=bool(job.remote_id),
        cost_usd=job.billed_cost_usd if job.billed_cost_usd is not None else job.estimated_cost_usd,
        billed=job.billed_cost_usd is not None,
        double_charges=job.possible_double_charges,
        double_charge_usd=job.possible_double_charge_usd,
        stored_bytes=job.output.size if job.output else 0,
        updated_at=job.updated_at.isoformat(),
        clip_id=job.clip_id,
        segment=job.segment,
    )


def facts_of_raw(raw: dict[str, Any]) -> JobFacts:
    """The `JobFacts` of a job's stored JSON (which leaves out default values), read without
    validating a whole `Job` (the web index reads 10,000 of them at once)."""
    output = raw.get("output") or {}
    cost = float(raw.get("estimated_cost_usd", 0.0))
    billed = raw.get("billed_cost_usd")
    doubled = int(raw.get("possible_double_charges", 0))
    return JobFacts(
        id=raw["id"],
        batch=raw["batch"],
        item=raw["item"],
        state=JobState(raw.get("state", JobState.QUEUED.value)),
        provider=raw["provider"],
        failure_kind=raw.get("failure_kind"),
        paid=bool(raw.get("remote_id")),
        cost_usd=cost if billed is None else float(billed),
        billed=billed is not None,
        double_charges=doubled,
        # As `Job.possible_double_charge_usd` rounds it.
        double_charge_usd=round(doubled * cost, 4),
        stored_bytes=int(output.get("size", 0)),
        updated_at=str(raw.get("updated_at", "")),
        clip_id=raw.get("clip_id"),
        segment=raw.get("segment"),
    )


@dataclass(frozen=True)
class ClipRollup:
    """A clip's segments and money, from its current segment jobs and the re-runs it replaced."""

    segments: int
    """Its segments: as cut, or as planned before the cut."""
    segments_by_state: dict[str, int]
    """The current segment jobs by state (a segment not yet cut is not counted here)."""
    segments_stored: int
    reruns: int
    """Segment jobs superseded by a re-run (each was paid, or may have been)."""
    cost_usd: float
    """Every paid segment job's estimate, re-runs included."""
    rerun_usd: float
    """Of ``cost_usd``, what the superseded jobs cost."""
    double_charges: int
    double_charge_usd: float
    stored_bytes: int
    """The stitched output and every stored segment output."""
    providers: tuple[str, ...]


def rollup(clip: Clip, jobs: dict[str, JobFacts]) -> ClipRollup:
    """``clip``'s `ClipRollup`; ``jobs`` holds (at least) its segment jobs by id."""
    current = [jobs[job_id] for job_id in clip.segment_ids() if job_id in jobs]
    replaced = [jobs[job_id] for job_id in clip.superseded if job_id in jobs]
    every = current + replaced
    by_state = Counter(job.state.value for job in current)
    return ClipRollup(
        segments=planned_segments(clip),
        segments_by_state=dict(sorted(by_state.items())),
        segments_stored=by_state.get(JobState.STORED.value, 0),
        reruns=len(replaced),
        cost_usd=round(sum(job.spent_usd for job in every), 4),
        rerun_usd=round(sum(job.spent_usd for job in replaced), 4),
        double_charges=sum(job.double_charges for job in every),
        double_charge_usd=round(sum(job.double_charge_usd for job in every), 4),
        stored_bytes=(clip.output.size if clip.output else 0)
        + sum(job.stored_bytes for job in every),
        providers=tuple(sorted({job.provider for job in current} or {clip.provider.value})),
    )


@dataclass(frozen=True)
class Tally:
    """A batch in numbers; every view shows these and only these."""

    items: int
    items_finished: int
    items_by_state: dict[str, int]
    clips: int
    clips_by_state: dict[str, int]
    single_jobs: int
    segments: int
    segments_finished: int
    jobs: int
    jobs_finished: int
    jobs_by_state: dict[str, int]
    cost_usd: float
    billed_usd: float
    """The part of ``cost_usd`` the providers billed (their own figures); the rest is estimated."""
    double_charges: int
    double_charge_usd: float
    stored_bytes: int

    @property
    def done(self) -> bool:
        """Every item has ended (a clip STITCHING has not)."""
        return self.items_finished == self.items

    def as_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class ClipFacts:
    """What counting needs of one clip."""

    id: str
    state: ClipState
    segments: int
    """As cut, or as planned before the cut."""
    segment_ids: tuple[str, ...]
    """Its current segment jobs (not those a re-run replaced)."""
    output_bytes: int


def clip_facts(clip: Clip) -> ClipFacts:
    """The `ClipFacts` of a clip record."""
    return ClipFacts(
        id=clip.id,
        state=clip.state,
        segments=planned_segments(clip),
        segment_ids=tuple(clip.segment_ids()),
        output_bytes=clip.output.size if clip.output else 0,
    )


def planned_segments(clip: Clip) -> int:
    """A clip's segments: as cut; as planned while it waits for its cut; none when it ended
    before it was cut (cancelled or failed: they will never exist unless it is retried)."""
    if clip.segments:
        return len(clip.segments)
    return 0 if clip.state.terminal else clip.planned_segments


def _states(values: Iterable[str]) -> dict[str, int]:
    return dict(sorted(Counter(values).items()))


def tally(clips: Sequence[Clip | ClipFacts], jobs: Sequence[JobFacts]) -> Tally:
    """The numbers of a batch of ``clips`` and ``jobs`` (every ledger job of the batch)."""
    facts = [clip_facts(c) if isinstance(c, Clip) else c for c in clips]
    singles = [job for job in jobs if job.clip_id is None]
    by_id = {job.id: job for job in jobs}
    segment_ids = {job_id for clip in facts for job_id in clip.segment_ids}
    current = [by_id[job_id] for job_id in segment_ids if job_id in by_id]
    items = [clip.state.value for clip in facts] + [job.state.value for job in singles]
    finished = sum(clip.state.terminal for clip in facts) + sum(j.state.terminal for j in singles)
    return Tally(
        items=len(items),
        items_finished=finished,
        items_by_state=_states(items),
        clips=len(facts),
        clips_by_state=_states(clip.state.value for clip in facts),
        single_jobs=len(singles),
        segments=sum(clip.segments for clip in facts),
        segments_finished=sum(job.state.terminal for job in current),
        jobs=len(jobs),
        jobs_finished=sum(job.state.terminal for job in jobs),
        jobs_by_state=_states(job.state.value for job in jobs),
        cost_usd=round(sum(job.spent_usd for job in jobs), 4),
        billed_usd=round(sum(job.spent_usd for job in jobs if job.billed), 4),
        double_charges=sum(job.double_charges for job in jobs),
        double_charge_usd=round(sum(job.double_charge_usd for job in jobs), 4),
        stored_bytes=sum(job.stored_bytes for job in jobs)
        + sum(clip.output_bytes for clip in facts),
    )
