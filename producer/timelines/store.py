"""Where a batch's timeline is kept: beside its outputs in S3, as OTIO JSON."""

from __future__ import annotations

from typing import TYPE_CHECKING

from storage.object_keys import join_key, parse_s3_uri, safe_segment

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

TIMELINE_NAME = "timeline.otio"


def timeline_uri(output_prefix: str, batch: str) -> str:
    """Where a batch's timeline is kept: ``{output prefix}/{batch}/timeline.otio``."""
    bucket, prefix = parse_s3_uri(output_prefix)
    return f"s3://{bucket}/{join_key(prefix, safe_segment(batch), TIMELINE_NAME)}"


def store_timeline(s3: S3Client, uri: str, marked: str) -> None:
    """Keep the marked timeline at ``uri`` (one PUT: never seen half-written)."""
    bucket, key = parse_s3_uri(uri)
    s3.put_object(Bucket=bucket, Key=key, Body=marked.encode(), ContentType="application/json")
