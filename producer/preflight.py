"""Preflight: every row checked before anything is queued or spent, every problem reported.

For each row, in a bounded thread pool (probing is network-bound): the URL safety rules, the
source located (presigned, or staged from disk), probed with PyAV, held against the provider's
input limits, the options turned into an `EditRequest` and put through the adapter's own
``validate``. A row either becomes a `PlannedJob` (a QUEUED `Job` with its cost estimate) or
yields one `Problem` per thing wrong with it; one row's problems never hide another's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from config.catalogue import provider_spec
from config.settings import ProviderName, Settings
from jobs.models import Event, Job, Priority, job_id_for
from jobs.routing import Policy, price_per_second
from jobs.states import JobState
from media.probe import ProbeError, VideoInfo
from producer.checks import (
    BatchDefaults,
    FieldProblem,
    Problem,
    RowOptions,
    build_request,
    column_of,
    item_key,
    limit_problems,
    merge_options,
)
from producer.estimate import job_cost
from producer.manifest import ManifestRow
from producer.safety import UnreachableSource, UnsafeSource
from producer.sources import Located, SourceLocator
from providers.errors import InvalidRequest
from providers.request import EditRequest

Prober = Callable[[str], VideoInfo]
Validator = Callable[[ProviderName, EditRequest], None]

DEFAULT_WORKERS = 8


@dataclass(frozen=True)
class JobTemplate:
    """What every job of the batch shares."""

    batch: str
    priority: Priority = Priority.BULK
    output_prefix: str | None = None


@dataclass(frozen=True)
class PlannedJob:
    """A row that passed preflight: its QUEUED job and what the probe saw."""

    row: int
    job: Job
    video: VideoInfo


@dataclass(frozen=True)
class PreflightReport:
    """The rows that can run and the problems of those that cannot."""

    valid: list[PlannedJob]
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        """True when every row passed."""
        return not self.problems


@dataclass(frozen=True)
class _Inspected:
    located: Located | None
    video: VideoInfo | None
    problems: list[FieldProblem]


class Preflight:
    """Checks rows against the sources, the catalogue and the adapters.

    It writes nothing but staged copies of local sources (and those only when ``stage``).
    """

    def __init__(
        self,
        settings: Settings,
        locator: SourceLocator,
        probe: Prober,
        validate: Validator,
        workers: int = DEFAULT_WORKERS,
    ) -> None:
        self.settings = settings
        self.locator = locator
        self.probe = probe
        self.validate = validate
        self.workers = workers

    def run(
        self,
        rows: Sequence[ManifestRow],
        defaults: BatchDefaults,
        template: JobTemplate,
        now: datetime,
        stage: bool = True,
    ) -> PreflightReport:
        """Check every row; ``stage=False`` (a dry run) uploads no local file."""

        def check(row: ManifestRow) -> PlannedJob | list[Problem]:
            return self._check(row, defaults, template, now, stage)

        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            outcomes = list(pool.map(check, rows))
        return assemble(outcomes)

    def _check(
        self,
        row: ManifestRow,
        defaults: BatchDefaults,
        template: JobTemplate,
        now: datetime,
        stage: bool,
    ) -> PlannedJob | list[Problem]:
        configured = [name for name in ProviderName if self.settings.provider(name).configured]
        options = merge_options(row, defaults, configured)
        inspected = self._inspect(row.source, stage)
        if isinstance(options, list):
            return _problems(row, [*inspected.problems, *options])
        problems = [*inspected.problems, *self._reference_problems(options)]
        video_url = inspected.located.provider_url if inspected.located else row.source
        request = build_request(video_url, options)
        valid = None if isinstance(request, list) else request
        refused, route = self._route(options, inspected, valid, defaults.max_price_per_second)
        problems.extend(_unreported(refused, problems))
        problems.extend(_unreported(request if isinstance(request, list) else [], problems))
        if problems or inspected.video is None or valid is None:
            return _problems(row, problems)
        return PlannedJob(
            row.line,
            self._job(row, options, route, defaults.policy, valid, inspected.video, template, now),
            inspected.video,
        )

    def _route(
        self,
        options: RowOptions,
        inspected: _Inspected,
        request: EditRequest | None,
        max_price: float | None,
    ) -> tuple[list[FieldProblem], tuple[ProviderName, ...]]:
        """The row's eligible providers (in its order), or why none of them takes it."""
        candidates = options.candidates
        found = {name: self._refusals(name, inspected, request, max_price) for name in candidates}
        eligible = tuple(name for name in candidates if not found[name])
        if eligible:
            return [], eligible
        if len(candidates) == 1:
            return found[candidates[0]], ()
        route = ",".join(name.value for name in candidates)
        return [
            (field, f"no provider of {route} accepts the row; {message}")
            for name in candidates
            for field, message in found[name]
        ], ()

    def _inspect(self, source: str, stage: bool) -> _Inspected:
        located = None
        try:
            located = self.locator.locate(source, stage)
            return _Inspected(located, self.probe(located.probe_target), [])
        except (UnsafeSource, UnreachableSource) as exc:
            return _Inspected(located, None, [("source", str(exc))])
        except ProbeError as exc:
            return _Inspected(located, None, [("source", f"cannot read a video: {exc.reason}")])

    def _reference_problems(self, options: RowOptions) -> list[FieldProblem]:
        if options.reference_image is None:
            return []
        try:
            self.locator.check_reference(options.reference_image)
        except (UnsafeSource, UnreachableSource) as exc:
            return [("reference_image", str(exc))]
        return []

    def _refusals(
        self,
        provider: ProviderName,
        inspected: _Inspected,
        request: EditRequest | None,
        max_price: float | None,
    ) -> list[FieldProblem]:
        """Why ``provider`` cannot take the row: no key, its input limits, its own validation,
        or its price over ``--max-price-per-second``."""
        spec = provider_spec(provider, self.settings)
        problems: list[FieldProblem] = []
        if not self.settings.provider(provider).configured:
            variable = f"RESTYLE_{provider.value.upper()}__API_KEYS"
            problems.append(("provider", f"{provider} has no API key: set {variable}"))
        if inspected.video is not None and inspected.located is not None:
            video = inspected.video
            size = video.size_bytes or inspected.located.size_bytes
            problems.extend(limit_problems(spec, video.container, video.duration_s, size))
        if request is not None:
            problems.extend(_unreported(self._validation(provider, request), problems))
        duration = inspected.video.duration_s if inspected.video is not None else None
        if max_price is not None and (price := price_per_second(spec, duration)) > max_price:
            message = f"{provider} costs ${price:.3f}/s, over --max-price-per-second ${max_price:g}"
            problems.append(("provider", message))
        return problems

    def _validation(self, provider: ProviderName, request: EditRequest) -> list[FieldProblem]:
        try:
            self.validate(provider, request)
        except InvalidRequest as exc:
            return [(column_of(exc.field), f"{provider}: {exc.message}")]
        return []

    def _job(
        self,
        row: ManifestRow,
        options: RowOptions,
        route: tuple[ProviderName, ...],
        policy: Policy,
        request: EditRequest,
        video: VideoInfo,
        template: JobTemplate,
        now: datetime,
    ) -> Job:
        item = item_key(row, options)
        specs = [provider_spec(name, self.settings) for name in route]
        # The estimate (and the first budget reservation) is at the price the policy is likely
        # to pay; the submit step re-prices a job that lands elsewhere.
        spec = (
            min(specs, key=lambda s: job_cost(s, video.duration_s))
            if (policy is Policy.CHEAPEST)
            else specs[0]
        )
        return Job(
            id=job_id_for(template.batch, item),
            batch=template.batch,
            item=item,
            provider=spec.name,
            route=route if len(route) > 1 else (),
            policy=policy.value,
            request=request,
            source=row.source,
            priority=template.priority,
            state=JobState.QUEUED,
            output_prefix=template.output_prefix,
            estimated_cost_usd=job_cost(spec, video.duration_s),
            source_seconds=video.duration_s,
            created_at=now,
            updated_at=now,
            events=(Event(at=now, state=JobState.QUEUED, detail=f"row {row.line}"),),
        )


def _problems(row: ManifestRow, found: list[FieldProblem]) -> list[Problem]:
    return [Problem(row.line, row.source, field, message) for field, message in found]


def _unreported(found: list[FieldProblem], known: list[FieldProblem]) -> list[FieldProblem]:
    """Drop complaints about fields already reported (a failed source, a refused URL)."""
    fields = {field for field, _ in known}
    return [(field, message) for field, message in found if field not in fields]


def assemble(outcomes: Sequence[PlannedJob | list[Problem]]) -> PreflightReport:
    """Split outcomes into valid jobs and problems; a repeated item is a problem too."""
    valid: list[PlannedJob] = []
    problems: list[Problem] = []
    first_row: dict[str, int] = {}
    for outcome in outcomes:
        if isinstance(outcome, list):
            problems.extend(outcome)
            continue
        item = outcome.job.item
        if item in first_row:
            message = f"same source and options as row {first_row[item]} (item {item})"
            problems.append(Problem(outcome.row, outcome.job.source, "source", message))
            continue
        first_row[item] = outcome.row
        valid.append(outcome)
    problems.sort(key=lambda problem: problem.row or 0)
    return PreflightReport(valid, problems)
