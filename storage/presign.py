"""Presigned GET URLs, so that providers can read private sources without our credentials."""

from __future__ import annotations

from typing import TYPE_CHECKING

from storage.s3 import s3_errors

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MAX_TTL_S = 7 * 24 * 3600


def presign_get(client: S3Client, bucket: str, key: str, ttl_s: int) -> str:
    """A URL that GETs ``s3://bucket/key`` for ``ttl_s`` seconds (SigV4 allows at most 7 days)."""
    if not 1 <= ttl_s <= MAX_TTL_S:
        raise ValueError(f"ttl_s must be between 1 and {MAX_TTL_S}, not {ttl_s}")
    with s3_errors(f"presign s3://{bucket}/{key}"):
        url: str = client.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=ttl_s
        )
    return url
