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
from collections.abc import Callable, Sequence
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
from producer.estimate import PlanSummary, job_cost, summarize
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
from producer.preflight import (
    DEFAULT_WORKERS,
    JobTemplate,
    PlannedJob,
    Preflight,
    Prober,
    Validator,
    renamed,
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

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        lines = [f"{len(self.problems)} problem(s); nothing was queued"]
        lines.extend(str(problem) for problem in self.problems)
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
    """What submitting SOURCE would do: the jobs, the problems, cost and time."""

    batch: str
    source: str
    options: SubmitOptions
    output_prefix: str
    jobs: list[PlannedJob]
    problems: list[Problem]
    summary: PlanSummary
    warnings: list[str] = field(default_factory=list)
    timeline: str | None = None
    """A timeline SOURCE, marked with its items (OTIO JSON), kept with the batch."""
    savings: EditSavings | None = None
    """For a timeline: its ranges' billed seconds and cost against its sources whole."""

    @property
    def over_budget(self) -> bool:
        """True when the estimate passes ``--budget``."""
        budget = self.options.budget_usd
        return budget is not None and self.summary.cost_usd > budget


@dataclass(frozen=True)
class EnqueueResult:
    """What `enqueue_batch` wrote: new jobs, jobs found from an earlier submit, rows skipped."""

    batch: str
    created: list[Job]
    existing: list[Job]
    redispatched: list[Job]
    skipped: list[Problem]
    clips: list[Clip] = field(default_factory=list)


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

    Raises `SourceError`, `ManifestProblems` (a manifest without a single good row) or
    `InvalidOption` when there is nothing to plan. ``probe`` defaults to `media.probe.probe`
    through a `guarded_client`; ``validate`` to the adapters' own checks.
    """
    name = batch_name(options.batch, source)
    prefix = output_prefix(options.output, settings)
    expanded = expand_source(
        source, s3, options.strict_columns, options.timeline, settings.manifest_max_bytes
    )
    refusals = errors_only(expanded.errors)
    if refusals and not expanded.rows:
        raise ManifestProblems(refusals)
    resolve = cached(resolve)
    template = JobTemplate(
        batch=name,
        priority=options.priority,
        output_prefix=prefix,
        clip=options.clip_choices(settings.seams),
        qc=options.qc,
    )
    with ExitStack() as stack:
        http = stack.enter_context(_probe_client(settings, resolve))
        probe = probe or partial(probe_video, http=http)
        # One batch-wide reference image is probed once, not once per row.
        images = functools.lru_cache(maxsize=256)(partial(probe_image, http=http))
        locator = SourceLocator(settings, s3, resolve)
        check = validate or _registry_validator(settings)
        preflight = Preflight(settings, locator, probe, check, workers, images)
        report = preflight.run(
            expanded.rows, options.defaults(), template, now, not options.dry_run
        )
    problems = [*map(_problem_of, refusals), *report.problems]
    billed = [job for planned in report.valid for job in planned.billed]
    summary = summarize(billed, *_provider_facts(settings))
    return BatchPlan(
        batch=name,
        source=source,
        options=options,
        output_prefix=prefix,
        jobs=report.valid,
        problems=sorted(problems, key=lambda problem: problem.row or 0),
        summary=summary,
        warnings=[
            *map(str, warnings_only(expanded.errors)),
            *_warnings(summary, settings),
            *retyped_warnings(report.valid),
        ],
        timeline=expanded.timeline,
        savings=edit_savings(report.valid, settings) if expanded.timeline else None,
    )


def edit_savings(planned: Sequence[PlannedJob], settings: Settings) -> EditSavings:
    """Billed seconds and cost of ``planned`` against each distinct source edited whole (on
    the provider each row is priced on, without ``--max-seconds``)."""
    whole: dict[str, tuple[float, float]] = {}
    for row in planned:
        spec = provider_spec(row.job.provider, settings)
        if row.job.source in whole:
            continue
        try:
            plan = segment_plan(row.video, spec, None)
        except PlanError:
            continue
        cost = sum(job_cost(spec, plan.duration_s(segment)) for segment in plan.segments)
        whole[row.job.source] = (plan.billed_seconds, cost)
    billed = [job for row in planned for job in row.billed]
    return EditSavings(
        ranges=len(planned),
        sources=len(whole),
        billed_s=sum(job.source_seconds or 0.0 for job in billed),
        cost_usd=sum(job.estimated_cost_usd for job in billed),
        whole_billed_s=sum(seconds for seconds, _ in whole.values()),
        whole_cost_usd=sum(cost for _, cost in whole.values()),
    )


def retyped_warnings(planned: list[PlannedJob]) -> list[str]:
    """One warning for S3 sources stored without a video type (pure)."""
    found = sorted({job.retyped_from for job in planned if job.retyped_from})
    if not found:
        return []
    count = sum(1 for job in planned if job.retyped_from)
    return [
        f"{count} S3 source(s) are stored as {', '.join(found)}, not a video type (boto3's "
        "upload_file default): their URLs carry a video Content-Type instead, which Runway's "
        "input check needs; upload with ExtraArgs={'ContentType': 'video/mp4'} to fix them"
    ]


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
    if plan.problems and not plan.options.skip_invalid:
        raise PreflightFailed(plan.problems)
    if not plan.jobs:
        raise PreflightFailed(plan.problems or [Problem(None, None, None, "no rows to run")])
    budget = plan.options.budget_usd
    if budget is not None and plan.summary.cost_usd > budget:
        raise BudgetExceeded(plan.summary.cost_usd, budget)


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
    `check_plan`. Clips still CUTTING from an earlier submit are sent to the cutter again."""
    check_plan(plan)
    created_batch = batch_store.create(batch_record(plan, now))
    if not created_batch and budget is not None and plan.options.budget_usd is not None:
        budget.set_limit(plan.batch, plan.options.budget_usd)
    planned = (
        plan.jobs if created_batch else unclaimed_names(plan.jobs, names_in(ledger, plan.batch))
    )
    clips = [row.clip for row in planned if row.clip is not None]
    if clips:
        if dispatch_clips is None:
            raise InvalidOption("this batch has long clips but no way to send them to the cutter")
        _enqueue_clips(ClipStore(ledger.client), clips, dispatch_clips)
    jobs = [row.job for row in planned if row.clip is None]
    flags = ledger.add(jobs)
    created = [job for job, new in zip(jobs, flags, strict=True) if new]
    existing = ledger.get_many([job.id for job, new in zip(jobs, flags, strict=True) if not new])
    stalled = [job for job in existing if job.state is JobState.QUEUED]
    dispatch([*created, *stalled])
    skipped = plan.problems if plan.options.skip_invalid else []
    return EnqueueResult(plan.batch, created, existing, stalled, skipped, clips)


def names_in(ledger: Ledger, batch: str) -> dict[str, str]:
    """The output names already used in ``batch`` (from an earlier submit), with their items."""
    store = ClipStore(ledger.client)
    jobs = ledger.get_many(ledger.batch_ids(batch))
    names = {job.output_name: job.item for job in jobs if job.output_name and job.segment is None}
    for clip in store.get_many(store.batch_ids(batch)):
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
    prompts = {planned.job.request.prompt for planned in plan.jobs}
    summary = next(iter(prompts)) if len(prompts) == 1 else f"{len(prompts)} prompts"
    return Batch(
        name=plan.batch,
        created_at=now,
        priority=options.priority,
        prompt_summary=summary[:200],
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
