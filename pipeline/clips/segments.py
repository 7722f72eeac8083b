"""The segment jobs of a cut clip (pure): one ordinary `Job` per segment, sharing the clip's
prompt and seed, its source a content-addressed staged object."""

from __future__ import annotations

from datetime import datetime

from config.catalogue import ProviderSpec
from jobs.clips.record import Clip, Continuity, SegmentRef, clip_seed
from jobs.models import Event, Job
from jobs.states import JobState
from producer.estimate import job_cost


def anchored(clip: Clip) -> bool:
    """True when segments after the first wait for segment 1's frame as their reference.

    A reference image the user gave wins: then every segment is sent at once with it.
    """
    return clip.continuity is Continuity.ANCHOR and clip.request.reference_image_url is None


def segment_job(
    clip: Clip, segment: SegmentRef, video_url: str, spec: ProviderSpec, now: datetime
) -> Job:
    """The QUEUED job of ``segment``: presigned ``video_url``, the clip's prompt and seed."""
    seconds = segment.seconds
    seed = clip.request.seed
    # A shared seed keeps segments alike; a clip of one segment has none to match, and its
    # route may hold providers that take no seed.
    if seed is None and spec.accepts_seed and len(clip.segments) > 1:
        seed = clip_seed(clip.id)
    request = clip.request.model_copy(update={"video_url": video_url, "seed": seed})
    waits = anchored(clip) and segment.index > 1
    detail = f"segment {segment.index}/{len(clip.segments)} of clip {clip.id}"
    return Job(
        id=segment.job_id,
        batch=clip.batch,
        item=clip.item,
        provider=clip.provider,
        route=clip.route,
        policy=clip.policy,
        request=request,
        source=segment.staged,
        priority=clip.priority,
        state=JobState.QUEUED,
        output_prefix=clip.output_prefix,
        qc=clip.qc,
        estimated_cost_usd=job_cost(spec, seconds),
        source_seconds=seconds,
        clip_id=clip.id,
        segment=segment.index,
        segment_seconds=seconds,
        awaits_anchor=waits,
        created_at=now,
        updated_at=now,
        events=(Event(at=now, state=JobState.QUEUED, detail=detail),),
    )
