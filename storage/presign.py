"""Presigned GET URLs, so that providers can read private sources without our credentials."""

from __future__ import annotations

import mimetypes
from typing import TYPE_CHECKING

from storage.s3 import s3_errors

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MAX_TTL_S = 7 * 24 * 3600


def presign_get(
    client: S3Client, bucket: str, key: str, ttl_s: int, content_type: str | None = None
) -> str:
    """A URL that GETs ``s3://bucket/key`` for ``ttl_s`` seconds (SigV4 allows at most 7 days).

    ``content_type`` is the type the URL's answers carry whatever the object was stored with
    (S3's ``response-content-type``).
    """
    if not 1 <= ttl_s <= MAX_TTL_S:
        raise ValueError(f"ttl_s must be between 1 and {MAX_TTL_S}, not {ttl_s}")
    params = {"Bucket": bucket, "Key": key}
    if content_type is not None:
        params["ResponseContentType"] = content_type
    with s3_errors(f"presign s3://{bucket}/{key}"):
        url: str = client.generate_presigned_url("get_object", Params=params, ExpiresIn=ttl_s)
    return url


def video_type(key: str) -> str:
    """The video Content-Type a source's name says (``video/mp4`` when it says none).

    boto3's ``upload_file`` stores ``binary/octet-stream`` unless told otherwise, and Runway
    refuses an input whose answer is not a video type; so a source's URL carries this one.
    """
    guessed = mimetypes.guess_type(key)[0]
    return guessed if guessed is not None and guessed.startswith("video/") else "video/mp4"
