"""Anchor continuity: one frame of segment 1's edit becomes every other segment's reference.

Every segment is anchored to the first, never each to the one before it (drift would add up).
Idempotent: a segment gets its reference once (compare-and-set while QUEUED), the frame is
staged under its own digest, and only segments still waiting are released.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from jobs.clips.record import ClipState
from jobs.models import Job
from jobs.request import Keyframe
from jobs.states import JobState
from media.frames import frame_png
from pipeline.context import Context
from storage.object_keys import staging_key
from storage.presign import presign_get
from storage.s3 import s3_errors

ANCHOR_AT = 0.5
"""Where in segment 1's output the anchor frame is taken, as a fraction of its length."""


def anchor_fractions(count: int) -> tuple[float, ...]:
    """Where ``count`` anchor frames are taken from segment 1's edit (and placed in the other
    segments), as fractions of the segments' lengths: evenly spread, each in the middle of its
    share; one frame is taken at `ANCHOR_AT`."""
    if count <= 1:
        return (ANCHOR_AT,)
    return tuple(round((number + 0.5) / count, 4) for number in range(count))


def anchor_count(asked: int, max_keyframes: int) -> int:
    """How many frames anchor a clip's segments: the ``asked`` keyframes (its seam setting),
    as many as the model takes, or one reference image where it takes no keyframes."""
    if max_keyframes <= 0:
        return 1
    return max(1, min(asked, max_keyframes))


@dataclass(frozen=True)
class AnchorOutcome:
    """What the anchor step did, and the segments whose submits go out now."""

    reason: str
    submit: tuple[Job, ...] = ()


def release_anchor(ctx: Context, clip_id: str, now: datetime) -> AnchorOutcome:
    """Give every waiting segment of ``clip_id`` the anchor frame and release it."""
    clip = ctx.clips.get(clip_id)
    if clip is None or clip.state is not ClipState.EDITING or not clip.segments:
        return AnchorOutcome("clip is not waiting for an anchor")
    jobs = ctx.ledger.get_many(clip.segment_ids())
    first, rest = jobs[0], jobs[1:]
    waiting = [job for job in rest if job.awaits_anchor and job.state is JobState.QUEUED]
    if not waiting:
        ctx.clips.unwatch(clip_id)
        return AnchorOutcome("no segment is waiting for the anchor")
    if first.state is not JobState.STORED or first.output is None:
        return AnchorOutcome("segment 1 is not stored yet")
    count = anchor_count(clip.seam_handling.keyframes, ctx.spec(clip.provider).max_keyframes)
    fractions = anchor_fractions(count)
    urls = [_anchor_url(ctx, first, fraction) for fraction in fractions]
    anchors = list(zip(fractions, urls, strict=True))
    released = [job for job in map(lambda job: _release(ctx, job, anchors, now), waiting) if job]
    what = "anchor frame" if count == 1 else f"{count} keyframes"
    ctx.clips.move(
        clip,
        ClipState.EDITING,
        expect={ClipState.EDITING},
        now=now,
        detail=f"{what} from segment 1 given to {len(released)} segments",
    )
    ctx.clips.unwatch(clip_id)
    return AnchorOutcome(f"released {len(released)} segments", tuple(released))


def _anchor_url(ctx: Context, first: Job, fraction: float) -> str:
    """Stage the frame ``fraction`` into segment 1's stored output and return a presigned URL
    of it."""
    assert first.output is not None
    output = first.output
    video = presign_get(ctx.s3, output.bucket, output.key, ctx.settings.presign_ttl_s)
    at_s = (first.segment_seconds or 0.0) * fraction
    png = frame_png(video, at_s=at_s, max_width=1920, http=ctx.http)
    digest = hashlib.sha256(png).hexdigest()
    bucket = ctx.settings.s3_bucket
    key = staging_key(ctx.settings.s3_staging_prefix, digest, "anchor.png")
    with s3_errors(f"staging the anchor frame at s3://{bucket}/{key}"):
        ctx.ready_bucket(bucket)
        ctx.s3.put_object(Bucket=bucket, Key=key, Body=png, ContentType="image/png")
    return presign_get(ctx.s3, bucket, key, ctx.settings.presign_ttl_s)


def _release(ctx: Context, job: Job, anchors: list[tuple[float, str]], now: datetime) -> Job | None:
    if len(anchors) == 1:
        request = job.request.model_copy(update={"reference_image_url": anchors[0][1]})
    else:
        seconds = job.segment_seconds or 0.0
        keyframes = tuple(
            Keyframe(seconds=round(fraction * seconds, 3), uri=url) for fraction, url in anchors
        )
        request = job.request.model_copy(update={"keyframes": keyframes})
    return ctx.ledger.update(
        job, expect=JobState.QUEUED, now=now, request=request, awaits_anchor=False
    )
