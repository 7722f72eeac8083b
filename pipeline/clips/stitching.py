"""Stitch a clip: its stored segments, in order, back into one file with the source's sound.

Only runs once the ledger has handed out the clip's stitch (the write that stored its last
segment). Idempotent: everything is rebuilt from S3 in a temporary folder, and the result is
uploaded to its deterministic key in one PUT, or a multipart upload that is aborted on any
failure and, if the worker is killed, never completed, so no partial object is ever visible.
A segment whose output length differs from its input by more than a frame is named, with its
provider, in the clip's history. Each seam's score is stored on the clip, and the seams over the
clip's thresholds are named in its history.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Literal

from jobs.clips.record import Clip, ClipState, OutputSize
from jobs.liveness.store import clip_subject
from jobs.models import Job
from media.conform import Placement
from media.probe import probe
from media.seams import SeamScore
from media.stitching import Mismatch, StitchResult, stitch_segments
from media.thumbnails import s3_grab, store_thumbnails
from pipeline.clips.media_files import download, fetch_output, source_url
from pipeline.context import Context, utcnow
from pipeline.liveness import held_live
from pipeline.thumbnails import clip_shots
from producer.clip_plan import segment_target
from storage.content import VIDEO_MARK
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
    if held_live(ctx, clip_subject(clip_id)):
        # A re-driven or redelivered message while a live worker stitches: never race it.
        return "a live worker is stitching the clip"
    with ctx.heartbeat.hold(clip_subject(clip_id), ctx.settings.media_stall_s):
        return _stitch(ctx, clip, jobs, now)


def _stitch(ctx: Context, clip: Clip, jobs: list[Job], now: datetime) -> str:
    clip_id = clip.id
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
        seams=result.seams,
    )
    ctx.clips.unwatch(clip_id)
    return "stored" if done else "clip moved while stitching"


def clip_location(ctx: Context, clip: Clip) -> tuple[str, str]:
    """Where the stitched clip lands: ``{prefix}/{batch}/{name}.mp4`` (the source's name)."""
    bucket, prefix = ctx.settings.s3_bucket, ctx.settings.s3_prefix
    if clip.output_prefix:
        bucket, prefix = parse_s3_uri(clip.output_prefix)
    return bucket, output_key(prefix, clip.batch, clip.output_name or clip.item)


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
        placement = sent_placement(ctx, clip, source)
        result = stitch_segments(
            outputs,
            clip.plan,
            source,
            folder / "clip.mp4",
            size=size,
            placement=placement,
            handling=clip.seam_handling,
            timecode=clip.timecode,
        )
        stored = _upload(ctx, clip, result, jobs)
        if ctx.settings.thumbnails:
            # From the files at hand: no video is read again over the network for its frames.
            shots = clip_shots(clip, str(source), str(result.path))
            store_thumbnails(ctx.s3, stored.uri, shots, s3_grab(ctx.s3, http=ctx.http))
        return stored, result


def sent_placement(ctx: Context, clip: Clip, source: Path) -> Placement | None:
    """The padded frame the clip's segments were cut to (the cut's own `segment_target`)."""
    assert clip.plan is not None
    target = segment_target(
        probe(source), ctx.spec(clip.provider), clip.plan, clip.request.aspect_ratio
    )
    return target.placement


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
        # Encoded here from checked segments: a video by construction, marked as one.
        target = Target(bucket, key, "video/mp4", {**metadata, **VIDEO_MARK})
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
    parts.extend(
        f"segment {job.segment}: stored flagged by QC ({', '.join(job.qc_flags)})"
        for job in jobs
        if job.qc_flags
    )
    parts.extend(
        f"segment {job.segment}: {job.qc_reruns} paid QC re-run(s)" for job in jobs if job.qc_reruns
    )
    parts.extend(seam_note(seam) for seam in result.seams if seam.flagged)
    return "; ".join(parts)


def seam_note(seam: SeamScore) -> str:
    """The history line of a seam over its clip's thresholds."""
    return (
        f"seam {seam.index} at {seam.at_s:.2f} s is visible: it jumps {seam.ratio:.2f}x the"
        f" ordinary frame change, colour histogram distance {seam.histogram:.3f}"
    )


def mismatch_note(jobs: list[Job], mismatch: Mismatch) -> str:
    """The history line of a segment whose output length is not its input's, with its provider."""
    job = jobs[mismatch.index]
    return (
        f"segment {job.segment}: {job.provider} returned {mismatch.actual_s:.3f} s for a "
        f"{mismatch.expected_s:.3f} s input"
    )
