"""Submitting a long clip as the CLI does, waiting for it, and measuring what came back."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt
import redis

from config.settings import ProviderName, Settings
from jobs.batches import BatchStore
from jobs.clips.record import Clip
from jobs.clips.store import ClipStore
from jobs.ledger import Ledger
from producer.batch import SubmitOptions, enqueue_batch, plan_batch
from storage.s3 import ensure_bucket
from tasks.messages import dispatch_clips, dispatch_jobs
from tests.pipeline.conftest import unique_batch, wait_until

Submit = Callable[..., Clip]


def clip_submitter(settings: Settings, s3: Any, celery_app: Any) -> Submit:
    """Plan and enqueue a local source as the CLI does; return its clip."""
    ensure_bucket(s3, settings.s3_bucket)

    def run(source: Path, **options: object) -> Clip:
        now = datetime.now(UTC)
        given = {"provider": ProviderName.SEGMIND, **options}
        chosen = SubmitOptions(
            prompt="make it winter", batch=unique_batch("long"), **given,  # type: ignore[arg-type]
        )  # fmt: skip
        plan = plan_batch(str(source), chosen, settings, now, s3=s3)
        client = redis.Redis.from_url(settings.redis_url)
        result = enqueue_batch(
            plan, Ledger(client), BatchStore(client),
            lambda jobs: dispatch_jobs(celery_app, jobs), now,
            dispatch_clips=lambda clips: dispatch_clips(celery_app, clips),
        )  # fmt: skip
        assert result.clips == 1
        (clip,) = ClipStore(client).batch_clips(plan.batch)
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
    with av.open(io.BytesIO(data), mode="r") as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        rate = float(video.average_rate or 0)
        frames = len(list(container.decode(video)))
        size = (video.codec_context.width, video.codec_context.height)
        channels = audio.codec_context.channels
    with av.open(io.BytesIO(data), mode="r") as container:
        samples = sum(int(frame.samples) for frame in container.decode(audio=0))
        sample_rate = container.streams.audio[0].codec_context.sample_rate
    return frames / rate, samples / sample_rate, rate, size, channels


def frames_every(data: bytes, step_s: float) -> list[npt.NDArray[np.float64]]:
    """One small RGB frame every ``step_s`` seconds."""
    picked: list[npt.NDArray[np.float64]] = []
    with av.open(io.BytesIO(data), mode="r") as container:
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time >= len(picked) * step_s:
                picked.append(frame.to_ndarray(width=64, height=36, format="rgb24").astype(float))
    return picked


def restyle(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The ``restyle`` command as a user runs it, against the workers' services."""
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        env={**os.environ, **env, "COLUMNS": "200"},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
