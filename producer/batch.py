"""A batch from SOURCE: plan it (expand, preflight, estimate), then enqueue it all or nothing.

`plan_batch` reads and probes but writes nothing except staged copies of local files (and not
even those on a dry run). `enqueue_batch` refuses a plan with problems (unless
``skip_invalid``) or over its budget before writing anything; otherwise it stores the batch
record (which also sets the budget limit), adds the jobs to the ledger (a job id is a hash of
batch and item, so the same row submitted again is found, not duplicated) and hands the new
jobs to ``dispatch``.

Jobs that already existed and are still QUEUED are dispatched again: that heals a crash between
the ledger write and the dispatch, and costs at most one no-op task per job (tasks move a job
by compare-and-set).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

import httpx

from config.catalogue import ProviderSpec, provider_spec
from config.settings import ProviderName, Settings
from jobs.batches import Batch, BatchStore
from jobs.budget import Budget
from jobs.clips.record import Clip, ClipState
from jobs.clips.store import ClipStore
from jobs.ledger import Ledger
from jobs.models import Job
from jobs.request import EditRequest
from jobs.states import JobState
from media.plan import PlanError
from media.probe import probe as probe_video
from producer.checks import Problem
from producer.clip_plan import segment_plan
from producer.estimate import PlanSummary, job_cost
from producer.images import probe_image
from producer.library import SourceLocator, expand_source
from producer.manifest import ManifestError, ManifestProblems, errors_only, warnings_only
from producer.options import (
    InvalidOption,
    SubmitError,
    SubmitOptions,
    batch_name,
    output_prefix,
)
from producer.plan_tally import PlanTally, ProblemList
from producer.planned import Assembly, PlannedRows
from producer.preflight import (
    DEFAULT_WORKERS,
    JobTemplate,
    PlannedJob,
    Preflight,
    Prober,
    Validator,
    renamed,
    windows,
)
from producer.safety import Resolver, cached, guarded_client, resolve_host
from producer.timelines.ranges import EditSavings
from producer.timelines.store import timeline_uri
from providers.registry import validate_request

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = [
    "BatchPlan",
    "BudgetExceeded",
    "EnqueueResult",
    "InvalidOption",
    "PreflightFailed",
    "SubmitError",
    "SubmitOptions",
    "check_plan",
    "enqueue_batch",
    "plan_batch",
]

Dispatch = Callable[[Sequence[Job]], object]
DispatchClips = Callable[[Sequence[Clip]], object]


class PreflightFailed(SubmitError):
    """Rows failed preflight and ``skip_invalid`` was not given (or no row passed)."""

    def __init__(self, problems: Sequence[Problem], total: int | None = None) -> None:
        self.problems = list(problems)
        self.total = max(total or 0, len(self.problems))
        lines = [f"{self.total} problem(s); nothing was queued"]
        lines.extend(str(problem) for problem in self.problems)
        if self.total > len(self.problems):
            lines.append(f"... and {self.total - len(self.problems)} more")
        super().__init__("\n".join(lines))


class BudgetExceeded(SubmitError):
    """The batch's estimated cost is over its budget."""

    def __init__(self, estimate_usd: float, budget_usd: float) -> None:
        self.estimate_usd = estimate_usd
        self.budget_usd = budget_usd
        super().__init__(
            f"estimated cost ${estimate_usd:.2f} exceeds the budget of ${budget_usd:.2f}; "
            "nothing was queued"
        )


@dataclass(frozen=True)
class BatchPlan:
    """What submitting SOURCE would do: the jobs, the problems, cost and time.

    ``jobs`` streams from disk past a few hundred rows (`producer.planned`), so a plan of a
    million rows is held in a few bytes per row; ``problems`` holds the first
    `MAX_KEPT_PROBLEMS`, ``problem_count`` counts them all.
    """

    batch: str
    source: str
    options: SubmitOptions
    output_prefix: str
    jobs: PlannedRows
    problems: list[Problem]
    summary: PlanSummary
    warnings: list[str] = field(default_factory=list)
    timeline: str | None = None
    """A timeline SOURCE, marked with its items (OTIO JSON), kept with the batch."""
    savings: EditSavings | None = None
    """For a timeline: its ranges' billed seconds and cost against its sources whole."""
    problem_count: int = 0
    prompt_summary: str = ""
    """The batch's one prompt, or how many distinct prompts it has."""

    @property
    def over_budget(self) -> bool:
        """True when the estimate passes ``--budget``."""
        budget = self.options.budget_usd
        return budget is not None and self.summary.cost_usd > budget


@dataclass(frozen=True)
class EnqueueResult:
    """What `enqueue_batch` wrote: how many jobs were new, found from an earlier submit (and
    re-sent), rows skipped, clips sent to be cut. Counts, not jobs: a batch may be huge; read
    the jobs from the ledger."""

    batch: str
    created: int
    existing: int
    redispatched: int
    skipped: list[Problem]
    clips: int = 0
    skipped_count: int = 0


def plan_batch(
    source: str,
    options: SubmitOptions,
    settings: Settings,
    now: datetime,
    *,
    s3: S3Client | None,
    probe: Prober | None = None,
    validate: Validator | None = None,
    resolve: Resolver = resolve_host,
    workers: int = DEFAULT_WORKERS,
) -> BatchPlan:
    """Expand SOURCE and preflight every row; writes nothing but staged local files.

    Rows stream from the manifest through preflight to the plan's spool: memory does not grow
    with the manifest. Raises `SourceError`, `ManifestProblems` (a manifest without a single
    good row) or `InvalidOption` when there is nothing to plan. ``probe`` defaults to
    `media.probe.probe` through a `guarded_client`; ``validate`` to the adapters' own checks.
    """
    name = batch_name(options.batch, source)
    prefix = output_prefix(options.output, settings)
    expanded = expand_source(
        source, s3, options.strict_columns, options.timeline, settings.manifest_max_bytes
    )
    resolve = cached(resolve)
    template = JobTemplate(
        batch=name,
        priority=options.priority,
        output_prefix=prefix,
        clip=options.clip_choices(settings.seams),
        qc=options.qc,
    )
    specs, keys = _provider_facts(settings)
    assembly, tally, problems = Assembly(), PlanTally(specs), ProblemList()
    read = 0
    with ExitStack() as stack:
        http = stack.enter_context(_probe_client(settings, resolve))
        probe = probe or partial(probe_video, http=http)
        # One batch-wide reference image is probed once, not once per row.
        images = functools.lru_cache(maxsize=256)(partial(probe_image, http=http))
        locator = SourceLocator(settings, s3, resolve)
        check = validate or _registry_validator(settings)
        preflight = Preflight(settings, locator, probe, check, workers, images)
        outcomes = preflight.stream(
            expanded.rows, options.defaults(), template, now, not options.dry_run
        )
        for outcome in outcomes:
            read += 1
            if isinstance(outcome, list):
                problems.add(outcome)
            elif (repeat := assembly.add(outcome)) is not None:
                problems.add([repeat])
            else:
                tally.add(outcome)
    refusals = errors_only(expanded.errors)
    if refusals and not read:
        raise ManifestProblems(refusals)
    problems.add(map(_problem_of, refusals))
    problems.total += expanded.found.error_count - len(refusals)
    planned = assembly.rows()
    summary = tally.summary(keys)
    return BatchPlan(
        batch=name,
        source=source,
        options=options,
        output_prefix=prefix,
        jobs=planned,
        problems=problems.sorted(),
        summary=summary,
        warnings=[
            *map(str, warnings_only(expanded.errors)),
            *_warnings(summary, settings),
            *tally.retyped_warnings(),
        ],
        timeline=expanded.timeline,
        savings=edit_savings(planned, settings) if expanded.timeline else None,
        problem_count=problems.total,
        prompt_summary=tally.prompt_summary,
    )


def edit_savings(planned: Iterable[PlannedJob], settings: Settings) -> EditSavings:
    """Billed seconds and cost of ``planned`` against each distinct source edited whole (on
    the provider each row is priced on, without ``--max-seconds``)."""
    whole: dict[str, tuple[float, float]] = {}
    billed: list[Job] = []
    ranges = 0
    for row in planned:
        ranges += 1
        billed.extend(row.billed)
        spec = provider_spec(row.job.provider, settings)
        if row.job.source in whole:
            continue
        try:
            plan = segment_plan(row.video, spec, None)
        except PlanError:
            continue
        cost = sum(job_cost(spec, plan.duration_s(segment)) for segment in plan.segments)
        whole[row.job.source] = (plan.billed_seconds, cost)
    return EditSavings(
        ranges=ranges,
        sources=len(whole),
        billed_s=sum(job.source_seconds or 0.0 for job in billed),
        cost_usd=sum(job.estimated_cost_usd for job in billed),
        whole_billed_s=sum(seconds for seconds, _ in whole.values()),
        whole_cost_usd=sum(cost for _, cost in whole.values()),
    )


def _probe_client(settings: Settings, resolve: Resolver) -> httpx.Client:
    endpoint = settings.s3_endpoint_url
    return guarded_client(
        settings.allow_private_sources,
        trusted_origins=[endpoint] if endpoint else [],
        timeout_s=settings.http_read_timeout_s,
        resolve=resolve,
    )


def _registry_validator(settings: Settings) -> Validator:
    def validate(provider: ProviderName, request: EditRequest) -> None:
        validate_request(provider, settings, request)

    return validate


def _problem_of(error: ManifestError) -> Problem:
    return Problem(error.line, None, error.field, error.message, error.file)


def _provider_facts(
    settings: Settings,
) -> tuple[dict[ProviderName, ProviderSpec], dict[ProviderName, int]]:
    specs = {name: provider_spec(name, settings) for name in ProviderName}
    keys = {name: len(settings.provider(name).api_keys) for name in ProviderName}
    return specs, keys


def _warnings(summary: PlanSummary, settings: Settings) -> list[str]:
    if summary.wall_s <= settings.presign_ttl_s:
        return []
    return [
        f"the batch may take {summary.wall_s / 3600:.1f} h but presigned source URLs last "
        f"{settings.presign_ttl_s / 3600:.1f} h (RESTYLE_PRESIGN_TTL_S): late jobs may find "
        "their source expired; split the batch or raise the TTL (7 days at most)"
    ]


def check_plan(plan: BatchPlan) -> None:
    """Raise the `SubmitError` that stops ``plan`` from being enqueued, if any."""
    if plan.options.dry_run:
        raise InvalidOption("a dry-run plan staged nothing and cannot be enqueued")
    if plan.problem_count and not plan.options.skip_invalid:
        raise PreflightFailed(plan.problems, plan.problem_count)
    if not plan.jobs:
        raise PreflightFailed(plan.problems or [Problem(None, None, None, "no rows to run")])
    budget = plan.options.budget_usd
    if budget is not None and plan.summary.cost_usd > budget:
        raise BudgetExceeded(plan.summary.cost_usd, budget)


ENQUEUE_CHUNK = 1000
"""Jobs written to the ledger and dispatched at once."""


def enqueue_batch(
    plan: BatchPlan,
    ledger: Ledger,
    batch_store: BatchStore,
    dispatch: Dispatch,
    now: datetime,
    budget: Budget | None = None,
    dispatch_clips: DispatchClips | None = None,
) -> EnqueueResult:
    """Write the batch, its jobs and its clips, then dispatch the new ones; refuses via
    `check_plan`. Clips still CUTTING from an earlier submit are sent to the cutter again.

    Rows go in chunks of `ENQUEUE_CHUNK`, each written then dispatched, so a huge plan is never
    held whole. Every check comes first: a plan is refused before anything is written. A crash
    midway leaves the batch with the chunks written so far; the same submit again finds those
    (job ids are a hash of batch and item) and writes the rest.
    """
    check_plan(plan)
    created_batch = batch_store.create(batch_record(plan, now))
    if not created_batch and budget is not None and plan.options.budget_usd is not None:
        budget.set_limit(plan.batch, plan.options.budget_usd)
    taken = {} if created_batch else names_in(ledger, plan.batch)
    clip_store = ClipStore(ledger.client)
    created = existing = redispatched = clips = 0
    for window in windows(plan.jobs, ENQUEUE_CHUNK):
        planned = unclaimed_names(window, taken) if taken else window
        cut = [row.clip for row in planned if row.clip is not None]
        if cut:
            if dispatch_clips is None:
                raise InvalidOption(
                    "this batch has long clips but no way to send them to the cutter"
                )
            _enqueue_clips(clip_store, cut, dispatch_clips)
            clips += len(cut)
        jobs = [row.job for row in planned if row.clip is None]
        if not jobs:
            continue
        flags = ledger.add(jobs)
        fresh = [job for job, new in zip(jobs, flags, strict=True) if new]
        found = ledger.get_many([job.id for job, new in zip(jobs, flags, strict=True) if not new])
        stalled = [job for job in found if job.state is JobState.QUEUED]
        dispatch([*fresh, *stalled])
        created, existing = created + len(fresh), existing + len(found)
        redispatched += len(stalled)
    skipping = plan.options.skip_invalid
    return EnqueueResult(
        plan.batch,
        created,
        existing,
        redispatched,
        plan.problems if skipping else [],
        clips,
        plan.problem_count if skipping else 0,
    )


def names_in(ledger: Ledger, batch: str) -> dict[str, str]:
    """The output names already used in ``batch`` (from an earlier submit), with their items."""
    store = ClipStore(ledger.client)
    names: dict[str, str] = {}
    for ids in windows(ledger.batch_ids(batch), ENQUEUE_CHUNK):
        for job in ledger.get_many(ids):
            if job.output_name and job.segment is None:
                names[job.output_name] = job.item
    for ids in windows(store.batch_ids(batch), ENQUEUE_CHUNK):
        for clip in store.get_many(ids):
            if clip.output_name:
                names[clip.output_name] = clip.item
    return names


def unclaimed_names(planned: list[PlannedJob], taken: dict[str, str]) -> list[PlannedJob]:
    """``planned`` with each output whose name another item of the batch already uses renamed
    to its own item (the name and its hash): a later submit never overwrites an output."""
    return [
        renamed(row, row.job.item)
        if row.job.output_name in taken and taken[row.job.output_name] != row.job.item
        else row
        for row in planned
    ]


def _enqueue_clips(store: ClipStore, clips: list[Clip], dispatch_clips: DispatchClips) -> None:
    flags = store.add(clips)
    again = store.get_many([clip.id for clip, new in zip(clips, flags, strict=True) if not new])
    fresh = [clip for clip, new in zip(clips, flags, strict=True) if new]
    dispatch_clips([*fresh, *(clip for clip in again if clip.state is ClipState.CUTTING)])


def batch_record(plan: BatchPlan, now: datetime) -> Batch:
    """The `Batch` stored for ``plan``."""
    options = plan.options
    return Batch(
        name=plan.batch,
        created_at=now,
        priority=options.priority,
        prompt_summary=plan.prompt_summary[:200],
        providers=tuple(p.provider for p in plan.summary.providers),
        budget_usd=options.budget_usd,
        output_prefix=plan.output_prefix,
        total_jobs=plan.summary.jobs,
        options={
            "source": plan.source,
            "skip_invalid": options.skip_invalid,
            **({"timeline": timeline_uri(plan.output_prefix, plan.batch)} if plan.timeline else {}),
        },
    )
