"""Cut a clip: read its source once, plan the segments at scene cuts, encode them, stage them
content-addressed in S3 and create their jobs.

Idempotent, so a cut killed at any point is simply done again: the plan and the encodes are
deterministic, a staged object is named by its own sha256 and written in one PUT (an object
is never seen half-written), and a segment job's id is a hash of batch, item and index, so
the jobs of a second run are found, not duplicated. The order is jobs, then their submits,
then the clip's move to EDITING: a crash before that move leaves the clip CUTTING and on the
watch list, and the reconciler sends the cut again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory

from jobs.clips.record import Clip, ClipState, SegmentRef
from jobs.liveness.store import clip_subject
from jobs.models import Job, segment_job_id
from jobs.states import JobState
from media.cutting import CutSegment, cut_segments, file_sha256
from media.normalise import EncodeTarget, plan_rate
from media.plan import SegmentPlan, plan_segments
from media.probe import VideoInfo, probe
from media.scenes import find_cuts, frame_skip_for
from media.staging import cut_params, segment_key, stage_segment
from pipeline.clips.media_files import download, source_url
from pipeline.clips.segments import segment_job
from pipeline.context import Context
from pipeline.liveness import held_live
from producer.clip_plan import segment_target
from storage.presign import presign_get


@dataclass(frozen=True)
class CutOutcome:
    """What the cut did, and the segment jobs whose submits go out now."""

    reason: str
    submit: tuple[Job, ...] = ()


def cut_clip(ctx: Context, clip_id: str, now: datetime) -> CutOutcome:
    """Run the cut of ``clip_id``; a clip not CUTTING is left alone (a duplicate message).

    Raises `ProbeError`, `PlanError` or `StorageError` for the task to retry or fail the clip.
    """
    clip = ctx.clips.get(clip_id)
    if clip is None or clip.state is not ClipState.CUTTING:
        return CutOutcome("clip is not waiting to be cut")
    if held_live(ctx, clip_subject(clip_id)):
        # A re-driven or redelivered message while a live worker cuts: never race it.
        return CutOutcome("a live worker is cutting the clip")
    with ctx.heartbeat.hold(clip_subject(clip_id), ctx.settings.media_stall_s):
        return _cut(ctx, clip, now)


def _cut(ctx: Context, clip: Clip, now: datetime) -> CutOutcome:
    clip_id = clip.id
    ctx.clips.watch(clip_id, now + timedelta(seconds=ctx.settings.media_stall_s))
    with TemporaryDirectory(prefix="restyle-cut-") as folder:
        local = download(ctx, source_url(ctx, clip), Path(folder) / "source")
        info = probe(local)
        plan = _plan(ctx, clip, local, info)
        ratio = clip.request.aspect_ratio
        target = segment_target(info, ctx.spec(clip.provider), plan, ratio)
        cut = cut_segments(local, plan, target, Path(folder) / "segments")
        digest = file_sha256(local)
        refs = [_stage(ctx, clip, (digest, target), segment, plan) for segment in cut]
    jobs = _jobs(ctx, clip, refs, plan, now)
    if not jobs:
        return CutOutcome("clip moved while it was being cut (cancelled?)")
    ctx.ledger.add(jobs)
    queued = [job for job in ctx.ledger.get_many([job.id for job in jobs])
              if job.state is JobState.QUEUED and not job.awaits_anchor]  # fmt: skip
    return CutOutcome(f"cut into {len(refs)} segments", tuple(queued))


def finish_cut(ctx: Context, clip_id: str, now: datetime) -> Clip | None:
    """Move the clip to EDITING once its segments' submits are sent (see the module doc)."""
    clip = ctx.clips.get(clip_id)
    if clip is None or clip.state is not ClipState.CUTTING or not clip.segments:
        return None
    moved = ctx.clips.move(
        clip,
        ClipState.EDITING,
        expect={ClipState.CUTTING},
        now=now,
        detail=f"{len(clip.segments)} segments queued",
    )
    if moved is not None:
        ctx.clips.unwatch(clip_id)
    return moved


def _plan(ctx: Context, clip: Clip, local: Path, info: VideoInfo) -> SegmentPlan:
    window = ctx.spec(clip.provider).window
    fps = float(plan_rate(info))
    partial = clip.edit_start_s > 0 or clip.edit_seconds < clip.source_seconds
    max_seconds = clip.edit_seconds if partial else None
    end = clip.edit_start_s + (max_seconds or info.duration_s)
    until = min(info.duration_s, end + 2)
    cuts = find_cuts(local, until_s=until, frame_skip=frame_skip_for(fps, until))
    overlap = clip.seam_handling.overlap_frames
    return plan_segments(
        info.duration_s, fps, window, cuts, max_seconds, overlap=overlap, start_s=clip.edit_start_s
    )


def _stage(
    ctx: Context,
    clip: Clip,
    source: tuple[str, EncodeTarget],
    segment: CutSegment,
    plan: SegmentPlan,
) -> SegmentRef:
    """Upload one segment under a key named by the source's digest and the cut's parameters.

    A segment is far below S3's single-PUT size, so `stage_segment` writes it in one PUT
    (larger files go multipart, aborted on failure): an object is never seen half-written.
    """
    bucket = ctx.settings.s3_bucket
    digest, target = source
    params = cut_params(plan.segments[segment.index], target)
    key = segment_key(ctx.settings.s3_staging_prefix, digest, params)
    ctx.ready_bucket(bucket)
    stage_segment(ctx.s3, bucket, key, segment, ctx.settings.presign_ttl_s)
    index = segment.index + 1
    job_id = segment_job_id(clip.batch, clip.item, index)
    seconds = plan.duration_s(plan.segments[segment.index])
    return SegmentRef(index=index, job_id=job_id, staged=f"s3://{bucket}/{key}", seconds=seconds)


def _jobs(
    ctx: Context, clip: Clip, refs: list[SegmentRef], plan: SegmentPlan, now: datetime
) -> list[Job]:
    """The segment jobs, after recording the segments on the clip (which the fan-in counts);
    none when the clip is no longer CUTTING (cancelled meanwhile: nothing is queued)."""
    recorded = ctx.clips.get(clip.id)
    if recorded is not None and recorded.segments != tuple(refs):
        recorded = ctx.clips.move(
            recorded,
            ClipState.CUTTING,
            expect={ClipState.CUTTING},
            now=now,
            detail=f"cut into {len(refs)} segments",
            segments=tuple(refs),
            plan=plan,
        )
    if recorded is None or recorded.state is not ClipState.CUTTING:
        return []
    spec = ctx.spec(clip.provider)
    return [
        segment_job(recorded, ref, _presigned(ctx, ref.staged), spec, now)
        for ref in recorded.segments
    ]


def _presigned(ctx: Context, uri: str) -> str:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return presign_get(ctx.s3, bucket, key, ctx.settings.presign_ttl_s)
