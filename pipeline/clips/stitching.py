"""Stitch a clip: its stored segments, in order, back into one file with the source's sound.

Only runs once the ledger has handed out the clip's stitch (the write that stored its last
segment). Idempotent: everything is rebuilt from S3 in a temporary folder, and the result is
uploaded to its deterministic key in one PUT, or a multipart upload that is aborted on any
failure and, if the worker is killed, never completed, so no partial object is ever visible.
A segment whose output length differs from its input by more than a frame is named, with its
provider, in the clip's history.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Literal

from jobs.clips.record import Clip, ClipState, OutputSize
from jobs.models import Job
from media.stitching import Mismatch, StitchResult, stitch_segments
from pipeline.clips.media_files import download, fetch_output, source_url
from pipeline.context import Context, utcnow
from storage.multipart import Target, put_stream
from storage.object_keys import output_key, parse_s3_uri
from storage.objects import StoredObject

CHUNK = 1024 * 1024
STITCHABLE = frozenset({ClipState.EDITING, ClipState.STITCHING})


def stitch_clip(ctx: Context, clip_id: str, now: datetime) -> str:
    """Run the stitch of ``clip_id``; say what happened."""
    clip = ctx.clips.get(clip_id)
    if clip is None or clip.state not in STITCHABLE or not ctx.clips.stitch_claimed(clip_id):
        return "clip is not waiting to be stitched"
    jobs = ctx.ledger.get_many(clip.segment_ids())
    if len(jobs) != len(clip.segments) or any(job.output is None for job in jobs):
        return "a segment is not stored"
    ctx.clips.watch(clip_id, now + timedelta(seconds=ctx.settings.media_stall_s))
    started = ctx.clips.move(
        clip, ClipState.STITCHING, expect=STITCHABLE, now=now,
        detail=f"stitching {len(jobs)} segments",
    )  # fmt: skip
    if started is None:
        return "clip moved"
    stored, result = _stitch_and_upload(ctx, started, jobs)
    done = ctx.clips.move(
        started,
        ClipState.STORED,
        expect={ClipState.STITCHING},
        now=utcnow(),
        detail=_summary(stored, result, jobs),
        output=stored,
    )
    ctx.clips.unwatch(clip_id)
    return "stored" if done else "clip moved while stitching"


def clip_location(ctx: Context, clip: Clip) -> tuple[str, str]:
    """Where the stitched clip lands: ``{prefix}/{batch}/{item}.mp4``."""
    bucket, prefix = ctx.settings.s3_bucket, ctx.settings.s3_prefix
    if clip.output_prefix:
        bucket, prefix = parse_s3_uri(clip.output_prefix)
    return bucket, output_key(prefix, clip.batch, clip.item)


def _stitch_and_upload(
    ctx: Context, clip: Clip, jobs: list[Job]
) -> tuple[StoredObject, StitchResult]:
    assert clip.plan is not None
    with TemporaryDirectory(prefix="restyle-stitch-") as name:
        folder = Path(name)
        outputs = [_fetch(ctx, job, folder) for job in jobs]
        source = download(ctx, source_url(ctx, clip), folder / "source")
        size: Literal["source", "model"] = (
            "model" if clip.output_size is OutputSize.MODEL else "source"
        )
        result = stitch_segments(
            outputs, clip.plan, source, folder / "clip.mp4", size=size, timecode=clip.timecode
        )
        return _upload(ctx, clip, result, jobs), result


def _fetch(ctx: Context, job: Job, folder: Path) -> Path:
    assert job.output is not None
    return fetch_output(ctx, job.output, folder / f"{job.segment:03d}.mp4")


def _upload(ctx: Context, clip: Clip, result: StitchResult, jobs: list[Job]) -> StoredObject:
    bucket, key = clip_location(ctx, clip)
    metadata = {
        "clip-id": clip.id,
        "batch": clip.batch,
        "item": clip.item,
        "provider": clip.provider.value,
        "segments": str(len(jobs)),
        "sha256": result.sha256,
        "duration-s": f"{result.duration_s:.3f}",
    }
    # What an editor's conform matches on, beside the timecode written into the file itself.
    identity = {"timecode": clip.timecode, "reel": clip.reel}
    metadata.update({name: value for name, value in identity.items() if value})
    ctx.ready_bucket(bucket)
    with result.path.open("rb") as handle:
        chunks = iter(lambda: handle.read(CHUNK), b"")
        target = Target(bucket, key, "video/mp4", metadata)
        written = put_stream(ctx.s3, target, chunks, part_bytes=ctx.settings.archive_part_bytes)
    return StoredObject(
        bucket=bucket, key=key, size=written.size, sha256=written.sha256,
        content_type="video/mp4",
    )  # fmt: skip


def _summary(stored: StoredObject, result: StitchResult, jobs: list[Job]) -> str:
    parts = [
        f"{stored.uri} ({stored.size} bytes, sha256 {stored.sha256[:12]}), "
        f"{result.duration_s:.3f} s at {float(result.fps):g} fps, {result.width}x{result.height}, "
        f"audio {result.audio or 'none'}"
    ]
    parts.extend(mismatch_note(jobs, mismatch) for mismatch in result.mismatches)
    return "; ".join(parts)


def mismatch_note(jobs: list[Job], mismatch: Mismatch) -> str:
    """The history line of a segment whose output length is not its input's, with its provider."""
    job = jobs[mismatch.index]
    return (
        f"segment {job.segment}: {job.provider} returned {mismatch.actual_s:.3f} s for a "
        f"{mismatch.expected_s:.3f} s input"
    )
