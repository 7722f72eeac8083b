"""An edit's round trip through real workers: only its used ranges are cut and paid for, every
output carries its range's timecode, and the timeline handed back lines up frame for frame.

The edit (tests/timeline/support.py) uses 5 shots of 3 sources (A twice, overlapping), with a
gap and a dissolve. The sources carry the start timecode 01:00:00:00 a camera would write, so
the EDL (which does not say where its media starts) is placed from the files themselves.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import av
import numpy as np
import numpy.typing as npt
import opentimelineio as otio
import pytest
import redis

from config.settings import ProviderName, Settings
from devstack import Stack
from jobs.batches import BatchStore
from jobs.clips.record import Clip, ClipState
from jobs.clips.store import ClipStore
from jobs.ledger import Ledger
from media.samples import make_av_clip
from producer.batch import SubmitOptions, plan_batch
from producer.run import enqueue_plan
from producer.timelines.export import (
    RESTYLED,
    load_timeline,
    restyle_timeline,
    s3_url,
    write_timeline,
)
from producer.timelines.ranges import parse_timecode
from storage.s3 import ensure_bucket
from tasks.messages import dispatch_clips, dispatch_jobs
from tests.pipeline.clip_support import wait_for_clip
from tests.pipeline.conftest import unique_batch
from tests.timeline.support import HOUR, LENGTHS, RATE, make_edit

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

pytestmark = pytest.mark.slow

Luma = npt.NDArray[np.float64]


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("media")
    for name, seconds in LENGTHS.items():
        make_av_clip(folder / name, seconds, 320, 180, RATE, timecode="01:00:00:00")
    return folder


def submit(path: Path, settings: Settings, s3: Any, celery_app: Any, dry_run: bool = False):
    ensure_bucket(s3, settings.s3_bucket)
    options = SubmitOptions(
        prompt="make it winter",
        provider=ProviderName.SEGMIND,
        batch=unique_batch("edit"),
        dry_run=dry_run,
    )
    now = datetime.now(UTC)
    plan = plan_batch(str(path), options, settings, now, s3=s3)
    if dry_run:
        return plan, None
    client = redis.Redis.from_url(settings.redis_url)
    result = enqueue_plan(
        plan,
        settings,
        client,
        lambda jobs: dispatch_jobs(celery_app, jobs),
        now,
        lambda clips: dispatch_clips(celery_app, clips),
    )
    return plan, result


def test_an_edit_round_trips_paying_only_for_its_ranges(
    pipeline_stack: Stack,
    worker_settings: Settings,
    s3: S3Client,
    celery_app: Any,
    media: Path,
    tmp_path: Path,
) -> None:
    path = tmp_path / "edit.otio"
    otio.adapters.write_to_file(make_edit(media), str(path))
    plan, result = submit(path, worker_settings, s3, celery_app)
    assert result is not None and plan.savings is not None
    # 4 merged ranges (A's overlapping shots are one) of 3 sources, against the sources whole.
    assert (plan.savings.ranges, plan.savings.sources) == (4, 3)
    assert plan.savings.whole_billed_s == pytest.approx(sum(LENGTHS.values()))
    # Edited: the merged ranges with their handles and the dissolve's media, nothing else.
    clips = [planned.clip for planned in plan.jobs if planned.clip is not None]
    assert sum(clip.edit_seconds for clip in clips) == pytest.approx((126 + 72 + 72 + 78) / RATE)
    # Billed: those, plus the frames each seam after a range's first segment is sent twice.
    seams = sum(len(planned.segments) - 1 for planned in plan.jobs)
    overlap = worker_settings.seams.overlap_frames
    assert plan.savings.billed_s == pytest.approx((126 + 72 + 72 + 78 + seams * overlap) / RATE)

    store = ClipStore(redis.Redis.from_url(worker_settings.redis_url))
    assert result.clips == 4
    clips = [wait_for_clip(store, clip.id, 240) for clip in store.batch_clips(plan.batch)]
    assert [clip.state for clip in clips] == [ClipState.STORED] * 4
    ledger = Ledger(redis.Redis.from_url(worker_settings.redis_url))
    segments = ledger.get_many([job_id for clip in clips for job_id in clip.segment_ids()])
    paid = sum(job.source_seconds or 0.0 for job in segments)
    assert paid == pytest.approx(plan.savings.billed_s, abs=len(segments) / RATE)
    for clip in clips:
        _assert_output_is_its_range(clip, s3)

    record = BatchStore(ledger.client).get(plan.batch)
    assert record is not None
    edit = load_timeline(s3, str(record.options["timeline"]))
    done = restyle_timeline(edit, {clip.item: clip for clip in clips}, s3_url)
    assert (done.restyled, done.kept) == (5, [])
    exported = tmp_path / "restyled.otio"
    write_timeline(edit, exported)
    back = otio.adapters.read_from_file(str(exported))
    outputs = {clip.output.uri: clip for clip in clips if clip.output}
    for shot in back.find_clips():
        assert shot.active_media_reference_key == RESTYLED
        assert "DEFAULT_MEDIA" in shot.media_references()
        clip = outputs[shot.media_reference.target_url]
        _assert_frames_line_up(shot, clip, s3, media)

    for suffix in (".edl", ".xml"):
        flat = tmp_path / f"restyled{suffix}"
        write_timeline(edit, flat)
        read = list(otio.adapters.read_from_file(str(flat)).find_clips())
        assert [c.source_range for c in read] == [c.source_range for c in edit.find_clips()]
        targets = {str(getattr(c.media_reference, "target_url", "")) for c in read}
        if suffix == ".xml":  # the EDL keeps a reel and a clip name, not a URL per event
            assert targets == set(outputs)

    # The same edit as an EDL, which does not say where the media starts: the files' own
    # timecode places every range exactly where the OTIO edit put it.
    edl = tmp_path / "edit.edl"
    otio.adapters.write_to_file(make_edit(media), str(edl))
    again, _ = submit(edl, worker_settings, s3, celery_app, dry_run=True)
    placed = sorted((p.clip.timecode, p.clip.edit_seconds) for p in again.jobs if p.clip)
    assert placed == sorted((c.timecode, c.edit_seconds) for c in clips)


def _assert_output_is_its_range(clip: Clip, s3: S3Client) -> None:
    assert clip.output is not None and clip.plan is not None and clip.timecode is not None
    data = s3.get_object(Bucket=clip.output.bucket, Key=clip.output.key)["Body"].read()
    with av.open(io.BytesIO(data), mode="r") as container:
        video = container.streams.video[0]
        assert video.metadata.get("timecode") == clip.timecode
        frames = sum(1 for _ in container.decode(video))
    with av.open(io.BytesIO(data), mode="r") as container:
        rate = container.streams.audio[0].codec_context.sample_rate
        samples = sum(frame.samples for frame in container.decode(audio=0))
    assert frames == clip.plan.frames
    # The range's own sound, cut to the range: not the source's first seconds, not more.
    assert samples / rate == pytest.approx(frames / RATE, abs=0.05)
    assert clip.output.key.endswith(f"/{clip.item}.mp4")
    head = s3.head_object(Bucket=clip.output.bucket, Key=clip.output.key)
    assert head["Metadata"]["timecode"] == clip.timecode


def _assert_frames_line_up(shot: Any, clip: Clip, s3: S3Client, media: Path) -> None:
    """The output frames at the shot's in and out are the source frames at its in and out."""
    assert clip.output is not None and clip.timecode is not None
    available = shot.media_reference.available_range
    first_tc = parse_timecode(clip.timecode, RATE)
    assert round(available.start_time.value) == first_tc
    used = shot.source_range
    in_frame = round(used.start_time.value)
    out_frame = in_frame + round(used.duration.value) - 1
    data = s3.get_object(Bucket=clip.output.bucket, Key=clip.output.key)["Body"].read()
    output = _lumas(io.BytesIO(data))
    source = _lumas(media / f"{shot.name}.mp4")
    assert first_tc is not None
    for tc in (in_frame, out_frame):
        mine = output[tc - first_tc]
        candidates = range(tc - HOUR - 2, tc - HOUR + 3)
        best = max(candidates, key=lambda index: _similarity(mine, source[index]))
        assert best == tc - HOUR, (shot.name, tc, best)


def _lumas(source: Any) -> list[Luma]:
    with av.open(source, mode="r") as container:
        return [
            frame.to_ndarray(format="gray").astype(float)[::2, ::2]
            for frame in container.decode(video=0)
        ]


def _similarity(first: Luma, second: Luma) -> float:
    """Correlation of edge strength: the emulator's edit inverts and rotates colours, which
    keeps where the edges are (the moving box and the bars) and not their sign."""
    edges = [np.hypot(*np.gradient(image)) for image in (first, second)]
    a, b = (edge - edge.mean() for edge in edges)
    return float((a * b).sum() / (np.sqrt((a * a).sum() * (b * b).sum()) + 1e-9))
