"""The emulator really edits: inputs from data URIs, HTTP and presigned S3; outputs are MP4s."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import boto3
import httpx

from devstack import Service
from media.samples import describe_clip, frame_difference, make_clip_bytes
from tests.emulator.support import eventually, keys

SUBMIT = "/segmind/v2/runway-gen4-aleph"
AUTH = {"x-api-key": keys("segmind")}


def run(emulator: httpx.Client, video: str, **extra: Any) -> tuple[int, dict[str, Any]]:
    created = emulator.post(
        SUBMIT, json={"video": video, "prompt": "make it winter", **extra}, headers=AUTH
    )
    assert created.status_code == 200, created.text
    status_url = created.json()["status_url"]
    eventually(
        lambda: emulator.get(status_url, headers=AUTH).json()["status"] in ("COMPLETED", "FAILED")
    )
    result = emulator.get(created.json()["response_url"], headers=AUTH)
    body: dict[str, Any] = result.json()
    return result.status_code, body


def test_the_output_is_a_decodable_mp4_that_differs_from_the_input(
    emulator: httpx.Client, clip: bytes, clip_uri: str
) -> None:
    code, result = run(emulator, clip_uri, aspect_ratio="1:1")
    assert code == 200
    response = emulator.get(result["output"])
    assert response.headers["content-type"] == "video/mp4"
    assert int(response.headers["content-length"]) == len(response.content)
    info = describe_clip(response.content)
    assert (info.codec, info.width, info.height) == ("h264", 960, 960)
    assert info.frames >= 10
    assert frame_difference(clip, response.content) > 30


def test_the_output_is_at_most_five_seconds_long(emulator: httpx.Client) -> None:
    long_clip = make_clip_bytes(seconds=7, width=160, height=90, fps=6)
    code, result = run(emulator, "data:video/mp4;base64," + base64.b64encode(long_clip).decode())
    assert code == 200
    assert describe_clip(emulator.get(result["output"]).content).seconds <= 5.0


def test_head_gives_the_size_without_the_body_and_forged_tokens_are_404(
    emulator: httpx.Client, clip_uri: str
) -> None:
    _, result = run(emulator, clip_uri)
    head = emulator.head(result["output"])
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) == len(emulator.get(result["output"]).content)
    job_id, expiry, _ = result["output"].rsplit("/", 1)[1].removesuffix(".mp4").split(".")
    forged = result["output"].rsplit("/", 1)[0] + f"/{job_id}.{int(expiry) + 10**9}.0000.mp4"
    assert emulator.get(forged).status_code == 404


def test_an_http_url_input_is_fetched(
    emulator: httpx.Client, clip: bytes, http_source: Callable[[bytes, int], str]
) -> None:
    code, result = run(emulator, http_source(clip, 200))
    assert code == 200
    assert frame_difference(clip, emulator.get(result["output"]).content) > 30


def test_a_presigned_s3_url_input_is_fetched(
    emulator: httpx.Client, clip: bytes, s3_server: Service, s3_bucket: str
) -> None:
    s3 = boto3.client("s3", endpoint_url=s3_server.url, region_name="us-east-1")
    s3.put_object(Bucket=s3_bucket, Key="in/clip.mp4", Body=clip, ContentType="video/mp4")
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": s3_bucket, "Key": "in/clip.mp4"}
    )
    code, result = run(emulator, url)
    assert code == 200
    assert describe_clip(emulator.get(result["output"]).content).codec == "h264"


def test_a_garbage_input_fails_the_job_the_provider_way(emulator: httpx.Client) -> None:
    garbage = "data:video/mp4;base64," + base64.b64encode(b"not a video at all" * 50).decode()
    code, result = run(emulator, garbage)
    assert code == 422
    assert result["status"] == "FAILED"
    assert "could not be decoded" in result["error"]


def test_an_unfetchable_input_fails_the_job(
    emulator: httpx.Client, http_source: Callable[[bytes, int], str]
) -> None:
    code, result = run(emulator, http_source(b"", 403))
    assert code == 422
    assert "403" in result["error"]
    code, result = run(emulator, "ftp://example.com/in.mp4")
    assert code == 422
