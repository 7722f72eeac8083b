"""Content-addressed S3 keys for cut segments, and staging one for a provider to read.

The key is a digest of the source's sha256 and everything that shapes the cut (frames, rate,
size, bitrate), so a cut redone after a crash lands on the same object, and two clips that
share a source and a plan share their segments.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

from media.cutting import CutSegment
from storage.object_keys import join_key, safe_segment
from storage.presign import presign_get
from storage.upload import upload_file

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from media.normalise import EncodeTarget
    from media.plan import Segment

KEY_DIGEST_CHARS = 32
Param = str | int | float | bool


def segment_key(prefix: str, sha256: str, params: Mapping[str, Param]) -> str:
    """``{prefix}/{digest}/segment.mp4``, ``digest`` from ``sha256`` and ``params`` (order-free)."""
    if not sha256:
        raise ValueError("a staging key needs the source's sha256")
    body = json.dumps({"sha256": sha256, **params}, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(body.encode()).hexdigest()[:KEY_DIGEST_CHARS]
    return join_key(prefix, safe_segment(digest), "segment.mp4")


def cut_params(segment: Segment, target: EncodeTarget) -> dict[str, Param]:
    """What shapes a cut segment's bytes, as ``segment_key`` params."""
    return {
        "start": segment.start,
        "end": segment.end,
        "fps": str(target.fps),
        "width": target.width,
        "height": target.height,
        "max_bitrate": target.max_bitrate,
        "frame": "x".join(str(side) for side in target.frame),
    }


def stage_segment(
    client: S3Client, bucket: str, key: str, cut: CutSegment, ttl_s: int
) -> tuple[str, str]:
    """Upload ``cut`` to ``s3://bucket/key``; its sha256 as stored and a presigned GET URL."""
    stored = upload_file(client, cut.path, bucket, key, metadata={"sha256": cut.sha256})
    return stored.sha256, presign_get(client, bucket, key, ttl_s)
