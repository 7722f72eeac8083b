"""Media workers SIGKILLed mid-cut and mid-stitch: the clip still comes back whole, paid once
per segment, with no partial object left in S3."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from config.settings import Settings
from devstack import Stack
from devstack.stack import ALL_QUEUES
from jobs import redis_keys
from jobs.clips.record import ClipState
from jobs.clips.store import ClipStore
from jobs.ledger import Ledger
from media.samples import make_av_clip
from tests.pipeline.clip_support import Submit, stream_seconds, wait_for_clip
from tests.pipeline.conftest import FAST_ENV, wait_until

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

pytestmark = pytest.mark.slow

OTHER_QUEUES = tuple(queue for queue in ALL_QUEUES if queue != "media")


@pytest.fixture(scope="module")
def worker_env() -> dict[str, str]:
    # A lost media message is re-driven after 3 s (it would be 30 min in production).
    return {**FAST_ENV, "RESTYLE_MEDIA_STALL_S": "3"}


@pytest.fixture
def reconciler(celery_app) -> Iterator[None]:
    """What beat does in production: send `restyle.reconcile` every second."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(1.0):
            celery_app.send_task("restyle.reconcile")

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join()


def test_media_workers_killed_mid_cut_and_mid_stitch_leave_one_whole_clip_paid_four_times(
    services: Stack,
    worker_env: dict[str, str],
    worker_settings: Settings,
    submitter: Submit,
    ledger: Ledger,
    s3: S3Client,
    emulator: httpx.Client,
    reconciler: None,
    tmp_path: Path,
) -> None:
    services.start_worker(OTHER_QUEUES, concurrency=3, name="steps", env=worker_env)
    services.start_worker(("media",), concurrency=1, name="media1", env=worker_env)
    store = ClipStore(ledger.client)
    source = make_av_clip(tmp_path / "long.mp4", 17.0, 640, 360, 24)
    clip = submitter(source)

    def cutting() -> bool:
        # The cut puts the clip on the watch list as it starts; it records segments at its end.
        found = store.get(clip.id)
        watched = ledger.client.zscore(redis_keys.clip_watch(), clip.id) is not None
        return watched and found is not None and not found.segments

    wait_until(cutting, 60, lambda: str(store.get(clip.id)))
    services.workers[-1].kill()
    services.start_worker(("media",), concurrency=1, name="media2", env=worker_env)
    wait_until(lambda: (store.get(clip.id) or clip).state is ClipState.STITCHING, 180,
               lambda: str(store.get(clip.id)))  # fmt: skip
    services.workers[-1].kill()
    services.start_worker(("media",), concurrency=1, name="media3", env=worker_env)

    done = wait_for_clip(store, clip.id, 240)
    assert done.state is ClipState.STORED, done.events
    assert emulator.get("/_emulator/stats").json()["submissions"]["paid_by_provider"] == {
        "segmind": 4
    }
    assert done.output is not None
    listed = s3.list_objects_v2(Bucket=done.output.bucket, Prefix=f"outputs/{clip.batch}/")
    keys = [item["Key"] for item in listed["Contents"]]
    # Beside the outputs, only the frames made once at archive and stitch time.
    names = sorted(key for key in keys if ".thumbs/" not in key)
    assert {key.rsplit("/", 1)[0] for key in keys if ".thumbs/" in key} >= {
        done.output.key.removesuffix(".mp4") + ".thumbs"
    }
    assert names == sorted(
        [done.output.key, *(f"outputs/{clip.batch}/{clip.item}/segments/{n:03d}.mp4"
                            for n in range(1, 5))]
    )  # fmt: skip
    uploads = s3.list_multipart_uploads(Bucket=done.output.bucket)
    assert not uploads.get("Uploads")
    body = s3.get_object(Bucket=done.output.bucket, Key=done.output.key)["Body"].read()
    video_s, audio_s, rate, size, _ = stream_seconds(body)
    assert abs(video_s - 17.0) <= 1 / 24 and abs(audio_s - 17.0) <= 0.05
    assert (rate, size) == (24, (640, 360))
