"""Preflight: every row checked before anything is queued or spent, every problem reported.

For each row, in a bounded thread pool (probing is network-bound): the URL safety rules, the
source located (presigned, or staged from disk), probed with PyAV, held against the provider's
input limits, the reference image probed likewise (`producer.images`: type and size), the
options turned into an `EditRequest` and put through the adapter's own ``validate``. A row
either becomes a `PlannedJob` (a QUEUED `Job` with its cost estimate) or yields one `Problem`
per thing wrong with it; one row's problems never hide another's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import islice
from typing import TypeVar

from config.catalogue import ProviderSpec, provider_spec
from config.settings import ProviderName, Settings
from jobs.clips.record import Clip
from jobs.models import Event, Job, Priority, job_id_for
from jobs.quality import QcPolicy
from jobs.request import EditRequest
from jobs.routes import Policy, one_run_route, price_per_second, quote
from jobs.states import JobState
from media.plan import PlanError, SegmentPlan
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
    output_stem,
)
from producer.clip_plan import (
    ClipChoices,
    clip_of,
    estimated_segments,
    is_clip,
    needs_conform,
    segment_plan,
    segment_target,
)
from producer.estimate import job_cost
from producer.images import ImageInfo, ImageProbeError, image_problems
from producer.library import Located, SourceLocator
from producer.manifest import ManifestRow
from producer.safety import UnreachableSource, UnsafeSource
from producer.single_flight import SingleFlight
from producer.timelines.ranges import ResolvedRange, parse_timecode, resolve_range
from providers.errors import InvalidRequest

T = TypeVar("T")
Prober = Callable[[str], VideoInfo]
ImageProber = Callable[[str], ImageInfo]
Validator = Callable[[ProviderName, EditRequest], None]

DEFAULT_WORKERS = 8
WINDOW_ROWS = 256
"""Rows handed to the probe pool at once: enough to keep it busy, few enough to stay small."""
INSPECTED_SOURCES = 4096
"""Distinct sources whose probe a preflight keeps (a repeat within them is not probed again)."""


@dataclass(frozen=True)
class JobTemplate:
    """What every job of the batch shares."""

    batch: str
    priority: Priority = Priority.BULK
    output_prefix: str | None = None
    clip: ClipChoices = field(default_factory=ClipChoices)
    qc: QcPolicy = field(default_factory=QcPolicy)


@dataclass(frozen=True)
class PlannedJob:
    """A row that passed preflight: its QUEUED job and what the probe saw.

    A source longer than its provider's window is a ``clip`` instead: ``job`` is then the
    template of its segments (never stored) and ``segments`` their stand-ins for the estimate.
    """

    row: int
    job: Job
    video: VideoInfo
    file: str | None = None
    clip: Clip | None = None
    segments: tuple[Job, ...] = ()
    normalised: tuple[str, ...] = ()
    retyped_from: str | None = None
    """An S3 source stored without a video Content-Type (its URL carries one instead)."""

    @property
    def billed(self) -> list[Job]:
        """The jobs this row pays for: itself, or each segment of its clip."""
        return list(self.segments) if self.clip is not None else [self.job]


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
        probe_image: ImageProber | None = None,
    ) -> None:
        self.settings = settings
        self.locator = locator
        self.probe = probe
        self.validate = validate
        self.workers = workers
        self.probe_image = probe_image
        # A library names the same source in many rows (one clip, many prompts or ranges):
        # each distinct source is located (hashed, staged, presigned) and probed once.
        self._inspected = SingleFlight(self._inspect_source, INSPECTED_SOURCES)
        # Each provider's catalogue entry with the user's overrides, built once per preflight.
        self._specs = {name: provider_spec(name, settings) for name in ProviderName}
        self._configured = [name for name in ProviderName if settings.provider(name).configured]

    def _spec(self, name: ProviderName) -> ProviderSpec:
        return self._specs[name]

    def stream(
        self,
        rows: Iterable[ManifestRow],
        defaults: BatchDefaults,
        template: JobTemplate,
        now: datetime,
        stage: bool = True,
    ) -> Iterator[PlannedJob | list[Problem]]:
        """Each row's outcome, in row order, checked a window at a time (a million-row
        manifest is never held whole); ``stage=False`` (a dry run) uploads no local file."""

        def check(row: ManifestRow) -> PlannedJob | list[Problem]:
            return self._check(row, defaults, template, now, stage)

        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            for window in windows(rows, WINDOW_ROWS):
                yield from pool.map(check, window)

    def _check(
        self,
        row: ManifestRow,
        defaults: BatchDefaults,
        template: JobTemplate,
        now: datetime,
        stage: bool,
    ) -> PlannedJob | list[Problem]:
        configured = self._configured
        options = merge_options(row, defaults, configured)
        inspected = self._inspect(row.source, stage)
        if isinstance(options, list):
            return _problems(row, [*inspected.problems, *options])
        reference, image = self._reference(options)
        problems: list[FieldProblem] = [*inspected.problems, *reference]
        video_url = inspected.located.provider_url if inspected.located else row.source
        request = build_request(video_url, options)
        valid = None if isinstance(request, list) else request
        refused, route = self._route(
            options, inspected, valid, defaults.max_price_per_second, image
        )
        problems.extend(_unreported(refused, problems))
        problems.extend(_unreported(request if isinstance(request, list) else [], problems))
        if problems or inspected.video is None or valid is None:
            return _problems(row, problems)
        job = self._job(row, options, route, defaults.policy, valid, inspected.video, template, now)
        # The plan follows the provider the job is priced on: its model's edit window.
        span = self._span(row, inspected.video, job.provider, problems)
        plan = self._segment_plan(job.provider, inspected, template, problems, span)
        mend = self._limit_problems(job.provider, inspected)
        if plan is None:
            return _problems(row, [*problems, *mend])
        where = (row.line, row.file)
        planned = self._planned(where, job, inspected.video, plan, template, bool(mend), span)
        retyped = inspected.located.retyped_from if inspected.located else None
        return replace(planned, retyped_from=retyped) if retyped else planned

    def _span(
        self,
        row: ManifestRow,
        video: VideoInfo,
        provider: ProviderName,
        problems: list[FieldProblem],
    ) -> ResolvedRange | None:
        """Where the row's range (a timeline's shot) lies in its source; None: all of it."""
        edit = row.edit_range
        if edit is None:
            return None
        media_start = edit.media_start
        if media_start is None:
            media_start = parse_timecode(video.timecode or "", edit.rate) or 0
        window = self._spec(provider).window
        found = resolve_range(
            edit.start, edit.end, edit.rate, media_start, video.duration_s, window.min_seconds
        )
        if isinstance(found, str):
            problems.append(("source", found))
            return None
        return replace(found, reel=edit.reel)

    def _planned(
        self,
        where: tuple[int, str | None],
        job: Job,
        video: VideoInfo,
        plan: SegmentPlan,
        template: JobTemplate,
        mend: bool,
        span: ResolvedRange | None = None,
    ) -> PlannedJob:
        """One job; or, for a source too long for one edit, outside the provider's limits
        (ProRes, 4K, too many bytes: the cutter re-encodes it), with sound (the edit comes
        back silent; the stitch puts the sound back) or edited in a range (a timeline's shot,
        whose output carries the range's timecode), a clip of segments."""
        line, file = where
        spec = self._spec(job.provider)
        simple = not (mend or video.variable_rate or video.has_audio or span is not None)
        whole = simple and not is_clip(video, spec, plan)
        if whole and not needs_conform(video, spec, job.request.aspect_ratio):
            # One job: only providers whose window takes the whole source in one run.
            known = {name: self._spec(name) for name in job.route}
            fits = one_run_route(job.route, known, video.duration_s, template.clip.max_seconds)
            job = job.model_copy(update={"route": fits if len(fits) > 1 else ()})
            return PlannedJob(line, job, video, file=file)
        # A clip's segments share one provider and model, so its style stays one: they fail
        # over together, and only to providers that take the same cut (`clip_route`).
        names = [job.provider, *(name for name in job.route if name != job.provider)]
        specs = [self._spec(name) for name in names]
        clip = clip_of(job, video, specs, plan, template.clip)
        if span is not None:
            clip = clip.model_copy(
                update={
                    "edit_start_s": plan.start / plan.fps,
                    "timecode": span.timecode,
                    "reel": span.reel,
                }
            )
        job = job.model_copy(update={"route": clip.route, "request": clip.request})
        segments = tuple(estimated_segments(job, spec, plan))
        changes = segment_target(video, spec, plan, clip.request.aspect_ratio).changes
        return PlannedJob(
            line, job, video, file=file, clip=clip, segments=segments, normalised=changes
        )

    def _segment_plan(
        self,
        provider: ProviderName,
        inspected: _Inspected,
        template: JobTemplate,
        problems: list[FieldProblem],
        span: ResolvedRange | None = None,
    ) -> SegmentPlan | None:
        """How the row's source (or its range) splits into segments; a problem when it cannot
        be edited."""
        if inspected.video is None:
            return None
        if span is None and problems:
            return None
        spec = self._spec(provider)
        try:
            overlap = template.clip.seams.overlap_frames
            if span is not None:
                return segment_plan(inspected.video, spec, span.seconds, overlap, span.start_s)
            return segment_plan(inspected.video, spec, template.clip.max_seconds, overlap)
        except PlanError as exc:
            bad_max = template.clip.max_seconds is not None and template.clip.max_seconds <= 0
            problems.append(("max_seconds" if bad_max else "source", str(exc)))
            return None

    def _route(
        self,
        options: RowOptions,
        inspected: _Inspected,
        request: EditRequest | None,
        max_price: float | None,
        image: ImageInfo | None,
    ) -> tuple[list[FieldProblem], tuple[ProviderName, ...]]:
        """The row's eligible providers (in its order), or why none of them takes it."""
        candidates = options.candidates
        found = {
            name: self._refusals(name, inspected, request, max_price, image) for name in candidates
        }
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
        return self._inspected((source, stage))

    def _inspect_source(self, key: tuple[str, bool]) -> _Inspected:
        source, stage = key
        located = None
        try:
            located = self.locator.locate(source, stage)
            return _Inspected(located, self.probe(located.probe_target), [])
        except (UnsafeSource, UnreachableSource) as exc:
            return _Inspected(located, None, [("source", str(exc))])
        except ProbeError as exc:
            return _Inspected(located, None, [("source", f"cannot read a video: {exc.reason}")])

    def _reference(self, options: RowOptions) -> tuple[list[FieldProblem], ImageInfo | None]:
        """The reference image's URL checked and its first bytes probed, once for the row
        (each provider's accepted types and sizes are then checked in `_refusals`)."""
        url = options.reference_image
        if url is None:
            return [], None
        try:
            self.locator.check_reference(url)
            return [], None if self.probe_image is None else self.probe_image(url)
        except (UnsafeSource, UnreachableSource, ImageProbeError) as exc:
            return [("reference_image", str(exc))], None

    def _refusals(
        self,
        provider: ProviderName,
        inspected: _Inspected,
        request: EditRequest | None,
        max_price: float | None,
        image: ImageInfo | None,
    ) -> list[FieldProblem]:
        """Why ``provider`` cannot take the row: no key, its own validation, the reference
        image, or its price over ``--max-price-per-second``. (A source outside its input limits
        is not a refusal: the cutter re-encodes it; see `_limit_problems`.)"""
        spec = self._spec(provider)
        problems: list[FieldProblem] = []
        if provider not in self._configured:
            variable = f"RESTYLE_{provider.value.upper()}__API_KEYS"
            problems.append(("provider", f"{provider} has no API key: set {variable}"))
        if request is not None:
            problems.extend(_unreported(self._validation(provider, request), problems))
        if image is not None:
            problems.extend(image_problems(spec, image))
        duration = inspected.video.duration_s if inspected.video is not None else None
        if max_price is not None and (price := price_per_second(spec, duration)) > max_price:
            message = f"{provider} costs ${price:.3f}/s, over --max-price-per-second ${max_price:g}"
            problems.append(("provider", message))
        return problems

    def _limit_problems(self, provider: ProviderName, inspected: _Inspected) -> list[FieldProblem]:
        """How the source breaks the provider's input limits (the cutter can mend them all)."""
        if inspected.video is None or inspected.located is None:
            return []
        spec = self._spec(provider)
        video = inspected.video
        size = video.size_bytes or inspected.located.size_bytes
        return limit_problems(spec, video.container, video.duration_s, size)

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
        name = output_stem(row)
        specs = [self._spec(name) for name in route]
        # The estimate (and the first budget reservation) is at the price the policy is likely
        # to pay, for the whole clip: the runs each provider's window needs, not one run
        # (`jobs.routes.quote`); the submit step re-prices a job that lands elsewhere.
        max_seconds = template.clip.max_seconds
        spec = (
            min(specs, key=lambda s: quote(s, video.duration_s, max_seconds).cost_usd)
            if (policy is Policy.CHEAPEST)
            else specs[0]
        )
        return Job(
            id=job_id_for(template.batch, item),
            batch=template.batch,
            item=item,
            output_name=name,
            qc=template.qc,
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
    return [
        Problem(row.line, row.source, field, message, row.file, row.place)
        for field, message in found
    ]


def _unreported(found: list[FieldProblem], known: list[FieldProblem]) -> list[FieldProblem]:
    """Drop complaints about fields already reported (a failed source, a refused URL)."""
    fields = {field for field, _ in known}
    return [(field, message) for field, message in found if field not in fields]


def windows(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (the last one shorter)."""
    source = iter(items)
    while window := list(islice(source, size)):
        yield window


def renamed(outcome: PlannedJob, name: str) -> PlannedJob:
    """``outcome`` with its output (and its clip's) named ``name``."""
    job = outcome.job.model_copy(update={"output_name": name})
    clip = outcome.clip.model_copy(update={"output_name": name}) if outcome.clip else None
    return replace(outcome, job=job, clip=clip)
