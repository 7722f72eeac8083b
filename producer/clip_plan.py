"""Whether a planned row is one job or a clip of segments, and what the clip will cost (pure).

A source longer than its provider's edit window becomes a clip: the whole source by default,
or its first ``--max-seconds`` (the rest dropped, and the plan says so). The number of segments
here comes from the same planner the cut uses, without scene cuts (moving a seam to a cut
never changes how many segments there are by more than the planner's one-second snap allows).
Every segment is billed as its own job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from config.catalogue import ProviderSpec
from config.settings import DEFAULT_SEAMS, ProviderName, SeamSettings
from jobs.clips.record import Clip, Continuity, OutputSize, clip_id_for
from jobs.models import Job
from media.conform import RATIO_FRAMES, display_aspect, nearest_ratio
from media.normalise import EncodeTarget, as_rate, encode_target, plan_rate
from media.plan import SegmentPlan, plan_segments
from media.probe import VideoInfo
from producer.estimate import job_cost

FRAME_SLACK_S = 0.05
"""A source this much past the window still fits it (container durations round)."""


@dataclass(frozen=True)
class ClipChoices:
    """The clip options of ``restyle submit``."""

    max_seconds: float | None = None
    continuity: Continuity | None = None
    output_size: OutputSize = OutputSize.SOURCE
    mix_providers: bool = False
    seams: SeamSettings = DEFAULT_SEAMS


def segment_plan(
    video: VideoInfo,
    spec: ProviderSpec,
    max_seconds: float | None,
    overlap: int = 0,
    start_s: float = 0.0,
) -> SegmentPlan:
    """The segments of ``video`` (from ``start_s``) on ``spec``'s model, ``overlap`` frames
    crossfaded at each seam; raises `PlanError` (too short, bad max)."""
    fps = float(plan_rate(video))
    return plan_segments(
        video.duration_s, fps, spec.window, (), max_seconds, overlap=overlap, start_s=start_s
    )


def segment_target(
    video: VideoInfo, spec: ProviderSpec, plan: SegmentPlan, ratio: str | None = None
) -> EncodeTarget:
    """How every segment of ``plan`` is encoded for ``spec``: within its window and its byte
    limit, at a constant rate, padded to ``ratio``'s shape where the model renders at the
    ratio's frame (the same for the dry run's notes, the cut and the stitch)."""
    longest = max(plan.duration_s(segment) for segment in plan.segments)
    return encode_target(
        video, spec.window, max_bytes=spec.limits.max_bytes, segment_seconds=longest, ratio=ratio
    )


def ratio_to_send(video: VideoInfo, spec: ProviderSpec, asked: str | None) -> str | None:
    """The ratio a clip's segments are sent as: the one asked for, or, for a model that
    renders at the ratio's own frame, the accepted one nearest the source's display shape
    (`media.conform`). None for a model that keeps the input's shape (Runway's aleph2 would
    letterbox to outpaint a ratio it is sent)."""
    if asked is not None or spec.window.output_size != "ratio":
        return asked
    aspect = display_aspect(video.width, video.height, Fraction(video.pixel_aspect))
    return nearest_ratio(aspect, spec.ratios)


def needs_conform(video: VideoInfo, spec: ProviderSpec, asked: str | None = None) -> bool:
    """True when ``spec``'s model hands back another frame size or rate than ``video``'s (sent
    as ``asked``, or the ratio chosen for it): the output must be conformed to the source (as
    a clip, even of one segment)."""
    window = spec.window
    if window.output_fps is not None and as_rate(window.output_fps) != plan_rate(video):
        return True
    if window.output_size == "input":
        return False
    ratio = ratio_to_send(video, spec, asked)
    return ratio is None or RATIO_FRAMES.get(ratio) != (video.width, video.height)


def is_clip(video: VideoInfo, spec: ProviderSpec, plan: SegmentPlan) -> bool:
    """True when the source needs more than one segment, or only part of it is edited."""
    return len(plan.segments) > 1 or plan.dropped_seconds > FRAME_SLACK_S


def continuity_for(spec: ProviderSpec, asked: Continuity | None) -> Continuity:
    """``asked``, or anchor where the provider takes a reference image (none elsewhere)."""
    if asked is not None:
        return asked
    return Continuity.ANCHOR if spec.accepts_reference_image else Continuity.NONE


def clip_route(
    video: VideoInfo,
    plan: SegmentPlan,
    specs: Sequence[ProviderSpec],
    continuity: Continuity,
    ratio: str | None = None,
) -> tuple[ProviderName, ...]:
    """The providers of ``specs`` (the first is the clip's) its segments may fail over to.

    Only those that take the very segments cut for the first: the same model's edit window
    (so the style and the seams stay one), the same encode target and seed handling, and a
    reference image when segments are anchored (for one segment, only the window, the ratio
    and the target). () when no other qualifies: pinned.
    """
    first = specs[0]
    target = segment_target(video, first, plan, ratio)
    # One segment has no other to match: only the cut itself must suit the provider (a short
    # source is a clip of one segment when it only needs conforming).
    several = len(plan.segments) > 1
    route = tuple(
        spec.name
        for spec in specs
        if spec.window == first.window
        and (not several or spec.accepts_seed == first.accepts_seed)
        and (not several or continuity is not Continuity.ANCHOR or spec.accepts_reference_image)
        and (ratio is None or ratio in spec.ratios)
        and segment_target(video, spec, plan, ratio) == target
    )
    return route if len(route) > 1 else ()


def clip_of(
    job: Job,
    video: VideoInfo,
    specs: Sequence[ProviderSpec],
    plan: SegmentPlan,
    choices: ClipChoices,
) -> Clip:
    """The CUTTING clip for planned ``job`` (its request is the template of every segment);
    ``specs``: its eligible providers' in order of preference, its own first."""
    spec = specs[0]
    continuity = continuity_for(spec, choices.continuity)
    cost = sum(job_cost(spec, plan.duration_s(segment)) for segment in plan.segments)
    ratio = ratio_to_send(video, spec, job.request.aspect_ratio)
    request = job.request.model_copy(update={"aspect_ratio": ratio})
    return Clip(
        id=clip_id_for(job.batch, job.item),
        batch=job.batch,
        item=job.item,
        provider=job.provider,
        request=request,
        source=job.source,
        priority=job.priority,
        output_prefix=job.output_prefix,
        output_name=job.output_name,
        qc=job.qc,
        continuity=continuity,
        route=clip_route(video, plan, specs, continuity, ratio),
        policy=job.policy,
        mix_providers=choices.mix_providers,
        output_size=choices.output_size,
        seam_handling=choices.seams,
        source_seconds=video.duration_s,
        edit_seconds=plan.seconds,
        planned_segments=len(plan.segments),
        estimated_cost_usd=round(cost, 4),
        created_at=job.created_at,
        updated_at=job.created_at,
    )


def estimated_segments(job: Job, spec: ProviderSpec, plan: SegmentPlan) -> list[Job]:
    """Stand-ins for a clip's segment jobs, for counting cost and time (never stored)."""
    return [
        job.model_copy(
            update={
                "estimated_cost_usd": job_cost(spec, plan.duration_s(segment)),
                "source_seconds": plan.duration_s(segment),
                "segment": segment.index + 1,
            }
        )
        for segment in plan.segments
    ]
