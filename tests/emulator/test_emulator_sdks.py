"""The official SDKs, unchanged, against the emulator: segmind 1.3.0 and runwayml 5.24.0."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
import runwayml.lib.polling
from runwayml import BadRequestError, RunwayML, TaskFailedError
from segmind import InferenceFailed, SegmindClient

from media.samples import describe_clip, frame_difference, make_clip_bytes
from tests.emulator.support import configure, keys, stats


@pytest.fixture
def segmind_client(base: str) -> SegmindClient:
    return SegmindClient(api_key=keys("segmind"), base_url=f"{base}/segmind/v1")


@pytest.fixture
def runway_client(base: str, monkeypatch: pytest.MonkeyPatch) -> RunwayML:
    monkeypatch.setenv("RUNWAYML_BASE_URL", f"{base}/runway")
    monkeypatch.setattr(runwayml.lib.polling, "POLL_TIME", 0.05)
    monkeypatch.setattr(runwayml.lib.polling, "POLL_JITTER", 0)
    return RunwayML(api_key=keys("runway"))


def test_segmind_sdk_submits_waits_and_gets_an_edited_video(
    segmind_client: SegmindClient, clip: bytes, clip_uri: str, base: str
) -> None:
    job = segmind_client.submit_async(
        "runway-gen4-aleph", seed=42, video=clip_uri, prompt="make it winter", aspect_ratio="9:16"
    )
    assert job.status_url == f"{base}/segmind/v2/requests/{job.request_id}/status"
    result = job.wait(timeout=30, interval=0.05)
    assert result["status"] == "COMPLETED"
    assert result["output"].startswith(f"{base}/segmind/_files/")
    video = httpx.get(result["output"]).content
    info = describe_clip(video)
    assert (info.codec, info.width, info.height) == ("h264", 720, 1280)
    assert frame_difference(clip, video) > 30


def test_segmind_sdk_raises_inference_failed_when_the_job_fails(
    segmind_client: SegmindClient, clip_uri: str
) -> None:
    job = segmind_client.submit_async(
        "runway-gen4-aleph", video=clip_uri, prompt="something forbidden"
    )
    with pytest.raises(InferenceFailed) as failure:
        job.wait(timeout=30, interval=0.05)
    assert failure.value.status_body["status"] == "FAILED"
    assert "moderation" in (failure.value.detail or "")


def test_runway_sdk_creates_and_waits_for_task_output(
    runway_client: RunwayML, clip: bytes, clip_uri: str, base: str
) -> None:
    task = runway_client.video_to_video.create(
        model="aleph2", video_uri=clip_uri, prompt_text="make it winter"
    ).wait_for_task_output(timeout=30)
    assert task.status == "SUCCEEDED"
    (url,) = task.output
    assert url.startswith(f"{base}/runway/_files/")
    assert frame_difference(clip, httpx.get(url).content) > 30


def test_runway_sdk_raises_task_failed_with_the_failure_code(
    runway_client: RunwayML, clip_uri: str
) -> None:
    created = runway_client.video_to_video.create(
        model="aleph2", video_uri=clip_uri, prompt_text="a forbidden scene"
    )
    with pytest.raises(TaskFailedError) as failure:
        created.wait_for_task_output(timeout=30)
    details = failure.value.task_details
    assert details.status == "FAILED"
    assert details.failure_code == "SAFETY.INPUT.TEXT"


def test_runway_sdk_deletes_a_throttled_task(
    runway_client: RunwayML, clip_uri: str, emulator: httpx.Client
) -> None:
    configure(emulator, {"providers": {"runway": {"concurrency": 1}}})
    configure(emulator, {"processing": {"min_s": 30, "max_s": 30}})
    first = runway_client.video_to_video.create(
        model="aleph2", video_uri=clip_uri, prompt_text="one"
    )
    second = runway_client.video_to_video.create(
        model="aleph2", video_uri=clip_uri, prompt_text="two"
    )
    assert runway_client.tasks.retrieve(second.id).status == "THROTTLED"
    runway_client.tasks.delete(second.id)
    assert runway_client.tasks.retrieve(second.id).status == "CANCELLED"
    assert runway_client.tasks.retrieve(first.id).status in ("PENDING", "RUNNING")
    assert stats(emulator)["jobs_by_state"]["runway"]["cancelled"] == 1


def test_runway_sdk_edits_a_12_s_input_with_aleph2(
    runway_client: RunwayML, http_source: Callable[[bytes, int], str]
) -> None:
    source = make_clip_bytes(seconds=12.0, width=256, height=144, fps=6)
    task = runway_client.video_to_video.create(
        model="aleph2",
        video_uri=http_source(source, 200),
        prompt_text="make it winter",
        keyframes=[{"seconds": 0, "uri": "https://example.com/style.jpg"}],
        output_format="mp4",
    ).wait_for_task_output(timeout=60)
    (url,) = getattr(task, "output", None) or []
    output = httpx.get(url).content
    assert describe_clip(output).codec == "h264"
    assert frame_difference(source, output) > 30
    # Size and length follow the input once emulator/render.py renders aleph2 so (lane h15m,
    # which gets the model through EditSpec.model); this test then checks both.


def test_runway_sdk_is_refused_gen4_aleph_and_a_redirecting_source(
    runway_client: RunwayML, clip: bytes, http_source: Callable[[bytes, int], str]
) -> None:
    with pytest.raises(BadRequestError) as gone:
        runway_client.video_to_video.create(  # type: ignore[call-overload]
            model="gen4_aleph", video_uri=http_source(clip, 200), prompt_text="winter"
        )
    assert "aleph2" in gone.value.body["error"]  # type: ignore[index]
    with pytest.raises(BadRequestError) as redirected:
        runway_client.video_to_video.create(
            model="aleph2", video_uri=http_source(clip, 302), prompt_text="winter"
        )
    assert "302" in redirected.value.body["error"]  # type: ignore[index]
