"""Cut segments staged content-addressed in S3 (moto) and handed over presigned."""

from __future__ import annotations

from pathlib import Path

import boto3
import httpx

from config.catalogue import GEN4_ALEPH
from devstack import Service
from media.cutting import cut_segments
from media.normalise import encode_target
from media.plan import Segment, plan_segments
from media.probe import probe
from media.staging import cut_params, segment_key, stage_segment


def test_the_key_depends_on_the_source_and_every_parameter_but_not_their_order() -> None:
    key = segment_key("staging", "ab" * 32, {"start": 0, "end": 120, "fps": "24"})
    assert key == segment_key("staging/", "ab" * 32, {"fps": "24", "end": 120, "start": 0})
    assert key.startswith("staging/") and key.endswith("/segment.mp4")
    assert key != segment_key("staging", "cd" * 32, {"start": 0, "end": 120, "fps": "24"})
    assert key != segment_key("staging", "ab" * 32, {"start": 0, "end": 121, "fps": "24"})


def test_a_staged_segment_is_read_back_through_its_presigned_url(
    clips: Path, tmp_path: Path, s3_server: Service, s3_bucket: str
) -> None:
    source = clips / "clip.mp4"
    info = probe(source)
    target = encode_target(info, GEN4_ALEPH)
    plan = plan_segments(info.duration_s, 12.0, GEN4_ALEPH)
    (cut,) = cut_segments(source, plan, target, tmp_path)
    client = boto3.client("s3", endpoint_url=s3_server.url, region_name="us-east-1")
    key = segment_key("staging", "f" * 64, cut_params(plan.segments[0], target))
    sha256, url = stage_segment(client, s3_bucket, key, cut, ttl_s=600)
    assert sha256 == cut.sha256
    assert httpx.get(url).content == cut.path.read_bytes()
    other = cut_params(Segment(index=0, start=0, end=12), target)
    assert segment_key("staging", "f" * 64, other) != key
