"""Which frames a stored job or a stitched clip keeps next to its output (`media.thumbnails`
takes and stores them): made once, at archive and stitch time."""

from __future__ import annotations

from jobs.clips.record import Clip
from jobs.models import Job
from media.thumbnails import CLIP_POINTS, Shot, job_moment


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
