"""Outputs a producer can trust, through real workers, the emulator and moto S3.

One batch of short silent clips of odd shapes: the emulator (gen4_aleph: 5 s at 24 fps, at
its ratio's frame) renders each at another size and rate, and hands four of them back bad
once (black, frozen, truncated, the input unedited) and one bad every time (blurred). Each
bad render is caught before STORED and re-run once (paid twice, said in the history); the
one bad twice ends FAILED by the batch's QC policy. The four others come back at their
source's size, frame rate and frame count, undistorted, named after their source.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import av
import httpx
import numpy as np
import pytest
import redis

from config.settings import Settings
from devstack import Stack
from jobs.batches import BatchStore
from jobs.clips.record import ClipState
from jobs.clips.store import ClipStore
from jobs.failures import FailureKind
from jobs.ledger import Ledger
from jobs.quality import QcEnd, QcPolicy
from jobs.states import JobState
from media.qc import longest_run
from media.samples import make_clip
from producer.batch import SubmitOptions, enqueue_batch, plan_batch
from storage.s3 import ensure_bucket
from tasks.messages import dispatch_clips, dispatch_jobs
from tests.pipeline.clip_support import wait_for_clip
from tests.pipeline.conftest import unique_batch

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

pytestmark = pytest.mark.slow

NTSC = Fraction(30000, 1001)
# name, width, height, rate, seconds, provider, defect (bad once), frames expected
CLIPS = [
    ("qcif", 176, 144, NTSC, 4.0, "aimlapi", "black", 120),
    ("scope", 640, 272, Fraction(25), 2.0, "vibedream", "frozen", 50),
    ("portrait", 216, 384, NTSC, 2.0, "segmind", "truncated", 60),
    ("square", 240, 240, Fraction(25), 2.0, "aimlapi", "unedited", 50),
]


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("conform")
    lines = ["source,prompt,provider"]
    for name, width, height, rate, seconds, provider, defect, _ in CLIPS:
        path = make_clip(folder / f"{name}.mp4", seconds, width, height, rate)
        lines.append(f"{path},make it winter {defect},{provider}")
    soft = make_clip(folder / "soft.mp4", 2.0, 320, 240, 24)
    lines.append(f"{soft},make it winter blurred,aimlapi")
    (folder / "library.csv").write_text("\n".join(lines) + "\n")
    return folder / "library.csv"


def test_bad_renders_are_rerun_once_and_odd_shapes_come_back_as_their_sources(
    pipeline_stack: Stack,
    manifest: Path,
    worker_settings: Settings,
    ledger: Ledger,
    s3: S3Client,
    celery_app: object,
    emulator: httpx.Client,
) -> None:
    rules = [{"match": defect, "defect": defect, "times": 1} for *_, defect, _ in CLIPS]
    rules.append({"match": "blurred", "defect": "blurred", "times": None})
    emulator.post("/_emulator/config", json={"bad_outputs": rules}).raise_for_status()
    ensure_bucket(s3, worker_settings.s3_bucket)
    now = datetime.now(UTC)
    options = SubmitOptions(batch=unique_batch("qc"), qc=QcPolicy(retries=1, end=QcEnd.FAIL))
    plan = plan_batch(str(manifest), options, worker_settings, now, s3=s3)
    client = redis.Redis.from_url(worker_settings.redis_url)
    result = enqueue_batch(
        plan, ledger, BatchStore(client), lambda jobs: dispatch_jobs(celery_app, jobs), now,
        dispatch_clips=lambda clips: dispatch_clips(celery_app, clips),
    )  # fmt: skip
    # Short silent clips too take the conform path: a clip of one segment each.
    assert (result.clips, result.created) == (5, 0)
    store = ClipStore(client)
    clips = store.batch_clips(plan.batch)
    done = {clip.output_name: wait_for_clip(store, clip.id, 180) for clip in clips}

    paid = emulator.get("/_emulator/stats").json()["submissions"]["paid_total"]
    assert paid == 10  # every clip paid twice: its bad render and its re-run
    for name, width, height, rate, _, _, defect, frames in CLIPS:
        clip = done[name]
        assert clip.state is ClipState.STORED, clip.events
        (job,) = ledger.get_many(clip.segment_ids())
        assert job.qc_reruns == 1 and job.qc_flags == ()
        history = " | ".join(event.detail for event in job.events)
        assert f"QC failed: {qc_check(defect)}" in history
        assert "QC re-run 1 of 1: a new paid try" in history
        assert "QC passed" in history
        assert clip.output is not None
        assert clip.output.key.endswith(f"/{name}.mp4")  # the source's name, no hash
        body = s3.get_object(Bucket=clip.output.bucket, Key=clip.output.key)["Body"].read()
        assert shape_of(body) == (width, height, rate, frames)
        assert_box_in_place(body, width, height)

    soft = done["soft"]
    assert soft.state is ClipState.FAILED
    (job,) = ledger.get_many(soft.segment_ids())
    assert job.state is JobState.FAILED and job.failure_kind is FailureKind.QC
    assert job.qc_reruns == 1
    assert job.failure_message and "QC failed: blurred" in job.failure_message


def qc_check(defect: str) -> str:
    return {"truncated": "length"}.get(defect, defect)


def shape_of(data: bytes) -> tuple[int, int, Fraction, int]:
    with av.open(io.BytesIO(data), mode="r") as container:
        stream = container.streams.video[0]
        frames = len(list(container.decode(stream)))
        size = (stream.codec_context.width, stream.codec_context.height)
        return (*size, Fraction(stream.average_rate or 0), frames)


def assert_box_in_place(data: bytes, width: int, height: int) -> None:
    """The source's 16x16 white box (black once edited) is where the source has it, 16 pixels
    tall and about 16 wide: a stretched or shifted render would move or widen it."""
    with av.open(io.BytesIO(data), mode="r") as container:
        frame = next(f for i, f in enumerate(container.decode(video=0)) if i == 10)
        image = frame.to_ndarray(format="rgb24")
    dark = image[: height * 2 // 3].max(axis=2) < 60  # the banner is in the bottom third
    # Rows and columns with 8 dark pixels or more: the box, not a stray codec artefact.
    rows, cols = np.nonzero(dark.sum(axis=1) >= 8)[0], np.nonzero(dark.sum(axis=0) >= 8)[0]
    assert abs(rows.min() - height // 3) <= 2 and abs(rows.max() - (height // 3 + 15)) <= 2
    box = longest_run(np.isin(np.arange(width), cols).tolist())
    assert 12 <= box <= 20, (cols, width)


def test_with_no_reruns_and_the_flag_policy_a_bad_render_is_stored_flagged(
    pipeline_stack: Stack,
    tmp_path: Path,
    worker_settings: Settings,
    ledger: Ledger,
    s3: S3Client,
    celery_app: object,
    emulator: httpx.Client,
) -> None:
    source = make_clip(tmp_path / "still.mp4", 1.5, 160, 96, 24)
    manifest = tmp_path / "one.csv"
    manifest.write_text(f"source,prompt,provider\n{source},winter [bad:frozen],segmind\n")
    ensure_bucket(s3, worker_settings.s3_bucket)
    now = datetime.now(UTC)
    options = SubmitOptions(batch=unique_batch("flag"), qc=QcPolicy(retries=0, end=QcEnd.FLAG))
    plan = plan_batch(str(manifest), options, worker_settings, now, s3=s3)
    client = redis.Redis.from_url(worker_settings.redis_url)
    result = enqueue_batch(
        plan, ledger, BatchStore(client), lambda jobs: dispatch_jobs(celery_app, jobs), now,
        dispatch_clips=lambda clips: dispatch_clips(celery_app, clips),
    )  # fmt: skip
    assert result.clips == 1
    (clip,) = ClipStore(client).batch_clips(plan.batch)
    done = wait_for_clip(ClipStore(client), clip.id, 120)

    assert done.state is ClipState.STORED, done.events
    (job,) = ledger.get_many(done.segment_ids())
    assert job.qc_flags == ("frozen",) and job.qc_reruns == 0
    assert "flagged: QC failed: frozen" in job.events[-1].detail
    assert "segment 1: stored flagged by QC (frozen)" in done.events[-1].detail
    assert emulator.get("/_emulator/stats").json()["submissions"]["paid_total"] == 1
