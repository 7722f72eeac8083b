"""Which frames a stored job or a stitched clip keeps next to its output (`media.thumbnails`
takes and stores them): made once, at archive and stitch time."""

from __future__ import annotations

from jobs.clips.record import Clip
from jobs.models import Job
from jobs.states import JobState
from media.thumbnails import CLIP_POINTS, Shot, job_moment, s3_grab, store_thumbnails
from pipeline.context import Context


def take_job_frames(ctx: Context, job_id: str) -> str:
    """Store the frames of a STORED job next to its output (the media queue's frames step)."""
    job = ctx.ledger.get(job_id)
    if job is None or job.output is None or job.state is not JobState.STORED:
        return "no stored output"
    grab = s3_grab(ctx.s3, http=ctx.http)
    stored = store_thumbnails(ctx.s3, job.output.uri, job_shots(job), grab)
    return f"{stored} frame(s) stored"


def job_shots(job: Job) -> list[Shot]:
    """A job's ``before`` (its source) and ``after`` (its stored output)."""
    at_s = job_moment(job.source_seconds)
    shots = [Shot("before", job.source or job.request.video_url, at_s)]
    if job.output is not None:
        shots.append(Shot("after", job.output.uri, at_s))
    return shots


def clip_shots(clip: Clip, source: str, output: str) -> list[Shot]:
    """A stitched clip's start, middle and end, of its source and of its output."""
    length = max(0.0, clip.edit_seconds - 0.1)
    return [
        Shot(f"{side}-{where}", location, length * fraction)
        for where, fraction in CLIP_POINTS
        for side, location in (("before", source), ("after", output))
    ]
