"""A whole long clip through real workers, the emulator and moto: cut, edit, stitch, sound kept.

The emulator's edit (like gen4_aleph) only covers the first 5 s of its input, at 12 fps and
320x180 with no audio, so a stitched result that lasts as long as the source, at its frame rate
and size and with its sound, can only come from the segments being planned, edited and
stitched back as they should.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import av
import httpx
import numpy as np
import pytest
import redis

from config.settings import ProviderName, Settings
from devstack import Stack
from jobs.batches import BatchStore
from jobs.clip_store import ClipStore
from jobs.clips import Clip, ClipState, Continuity
from jobs.ledger import Ledger
from jobs.states import JobState
from media.clips import make_av_clip
from producer.batch import SubmitOptions, enqueue_batch, plan_batch
from producer.report import build_rows
from producer.report_html import frame_grab, write_html
from storage.s3 import ensure_bucket
from tests.pipeline.conftest import unique_batch, wait_until
from workers.dispatch import dispatch_clips, dispatch_jobs

pytestmark = pytest.mark.slow

SECONDS, FPS, SIZE = 17.0, 24, (640, 360)


@pytest.fixture(scope="module")
def long_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("long")
    return make_av_clip(folder / "long.mp4", SECONDS, *SIZE, FPS)


Submit = Callable[..., Clip]


@pytest.fixture
def submit(
    pipeline_stack: Stack,
    worker_settings: Settings,
    s3,
    celery_app,  # type: ignore[no-untyped-def]
) -> Submit:
    """Plan and enqueue a local source as the CLI does; return its clip."""
    ensure_bucket(s3, worker_settings.s3_bucket)

    def run(source: Path, **options: object) -> Clip:
        now = datetime.now(UTC)
        chosen = SubmitOptions(
            prompt="make it winter", provider=ProviderName.SEGMIND,
            batch=unique_batch("long"), **options,  # type: ignore[arg-type]
        )  # fmt: skip
        plan = plan_batch(str(source), chosen, worker_settings, now, s3=s3)
        client = redis.Redis.from_url(worker_settings.redis_url)
        result = enqueue_batch(
            plan, Ledger(client), BatchStore(client),
            lambda jobs: dispatch_jobs(celery_app, jobs), now,
            dispatch_clips=lambda clips: dispatch_clips(celery_app, clips),
        )  # fmt: skip
        (clip,) = result.clips
        return clip

    return run


def wait_for_clip(store: ClipStore, clip_id: str, timeout_s: float) -> Clip:
    def ended() -> bool:
        clip = store.get(clip_id)
        return clip is not None and clip.state.terminal

    wait_until(ended, timeout_s, lambda: str(store.get(clip_id)))
    clip = store.get(clip_id)
    assert clip is not None
    return clip


def stream_seconds(data: bytes) -> tuple[float, float, float, tuple[int, int], int]:
    """Video seconds (frames / rate), audio seconds, frame rate, size and channels of an MP4."""
    with av.open(io.BytesIO(data)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        rate = float(video.average_rate)
        frames = sum(1 for _ in container.decode(video))
        size = (video.codec_context.width, video.codec_context.height)
        channels = audio.codec_context.channels
    with av.open(io.BytesIO(data)) as container:
        samples = sum(frame.samples for frame in container.decode(audio=0))
        sample_rate = container.streams.audio[0].codec_context.sample_rate
    return frames / rate, samples / sample_rate, rate, size, channels


def frames_every(data: bytes, step_s: float) -> list[np.ndarray]:
    """One small RGB frame every ``step_s`` seconds."""
    picked: list[np.ndarray] = []
    with av.open(io.BytesIO(data)) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time >= len(picked) * step_s:
                picked.append(frame.to_ndarray(width=64, height=36, format="rgb24").astype(float))
    return picked


def test_a_17_s_stereo_clip_comes_back_whole_with_its_sound_for_four_payments(
    submit: Submit,
    long_source: Path,
    worker_settings: Settings,
    ledger: Ledger,
    s3,  # type: ignore[no-untyped-def]
    emulator: httpx.Client,
    services: Stack,
    worker_env: dict[str, str],
    tmp_path: Path,
) -> None:
    clip = submit(long_source)
    assert clip.planned_segments == 4
    assert clip.continuity is Continuity.ANCHOR

    store = ClipStore(ledger.client)
    done = wait_for_clip(store, clip.id, 240)

    assert done.state is ClipState.STORED, done.events
    segments = ledger.get_many(done.segment_ids())
    assert [job.segment for job in segments] == [1, 2, 3, 4]
    assert {job.state for job in segments} == {JobState.STORED}
    assert [job.output.key for job in segments if job.output] == [
        f"{worker_settings.s3_prefix}/{clip.batch}/{clip.item}/segments/{n:03d}.mp4"
        for n in range(1, 5)
    ]
    anchored = {job.request.reference_image_url is not None for job in segments[1:]}
    assert anchored == {True} and segments[0].request.reference_image_url is None
    assert len({job.request.seed for job in segments}) == 1
    stats = emulator.get("/_emulator/stats").json()["submissions"]
    assert stats["paid_by_provider"] == {"segmind": 4}

    assert done.output is not None
    assert done.output.key == f"{worker_settings.s3_prefix}/{clip.batch}/{clip.item}.mp4"
    head = s3.head_object(Bucket=done.output.bucket, Key=done.output.key)
    assert head["Metadata"]["sha256"] == done.output.sha256
    body = s3.get_object(Bucket=done.output.bucket, Key=done.output.key)["Body"].read()
    video_s, audio_s, rate, size, channels = stream_seconds(body)
    assert abs(video_s - SECONDS) <= 1 / FPS
    assert abs(audio_s - SECONDS) <= 0.05
    assert (rate, size, channels) == (FPS, SIZE, 2)
    source = frames_every(long_source.read_bytes(), 2.0)
    edited = frames_every(body, 2.0)
    assert len(edited) == len(source) == 9
    # The emulator inverts colours: every sampled frame differs from the source's a lot.
    assert min(float(np.abs(a - b).mean()) for a, b in zip(source, edited, strict=True)) > 40

    report = write_html(
        build_rows(segments, [done]), tmp_path / "report.html", frame_grab(s3), "long"
    )
    page = report.read_text()
    assert page.count('data-kind="segment"') == 4 and page.count('data-kind="clip"') == 1
    for caption in ("start", "middle", "end"):
        assert f"stitched, {caption}" in page
        assert (tmp_path / "report-frames" / f"{done.id}-{caption}.png").stat().st_size > 0
    shown = restyle(services.env(**worker_env), "job", done.id)
    assert shown.returncode == 0, shown.stderr
    rows = [line.split() for line in shown.stdout.splitlines()]
    assert [row[0] for row in rows if row and row[0].startswith("00")] == [
        "001", "002", "003", "004"
    ]  # fmt: skip


def restyle(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The ``restyle`` command as a user runs it, against the workers' services."""
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        env={**os.environ, **env, "COLUMNS": "200"},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_a_segment_failing_moderation_fails_its_clip_and_a_retry_repays_only_that_segment(
    submit: Submit,
    long_source: Path,
    services: Stack,
    worker_env: dict[str, str],
    ledger: Ledger,
    emulator: httpx.Client,
) -> None:
    clip = submit(long_source)
    store = ClipStore(ledger.client)
    wait_until(lambda: bool((store.get(clip.id) or clip).segments), 120, lambda: "not cut")
    third = ledger.require((store.get(clip.id) or clip).segment_ids()[2])
    clean = third.request
    # Segment 3 waits for the anchor frame: give it content the provider's moderation refuses.
    flagged = clean.model_copy(update={"prompt": "a forbidden edit"})
    assert third.awaits_anchor
    assert ledger.update(third, expect=JobState.QUEUED, now=datetime.now(UTC), request=flagged)

    failed = wait_for_clip(store, clip.id, 240)
    assert failed.state is ClipState.FAILED
    assert failed.failure_message is not None and "segment 3 (segmind)" in failed.failure_message
    wait_until(lambda: all(j.state.terminal for j in ledger.get_many(failed.segment_ids())),
               120, lambda: "segments still running")  # fmt: skip
    states = [job.state for job in ledger.get_many(failed.segment_ids())]
    assert states == [JobState.STORED, JobState.STORED, JobState.FAILED, JobState.STORED]
    assert emulator.get("/_emulator/stats").json()["submissions"]["paid_total"] == 4

    now = datetime.now(UTC)
    ledger.update(third.id, expect=JobState.FAILED, now=now, request=clean)
    retried = restyle(services.env(**worker_env), "retry", clip.batch)
    assert retried.returncode == 0, retried.stderr

    done = wait_for_clip(store, clip.id, 240)
    assert done.state is ClipState.STORED, done.events
    submissions = emulator.get("/_emulator/stats").json()["submissions"]
    assert submissions["paid_total"] == 5
    paid = submissions["by_idempotency_key"]
    assert paid == {job.client_request_id: 1 for job in ledger.get_many(done.segment_ids())} | {
        f"{third.id}.1": 1
    }
