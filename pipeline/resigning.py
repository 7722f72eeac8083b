"""The source URL a provider gets at submit time.

A batch presigns its ``s3://`` sources when it is planned, but a large batch can wait in the
queue for longer than any presigned URL lives; so the submit step signs the object again, for
``presign_ttl_s`` from now, right before the POST. Other sources (https URLs, and local files
staged and presigned at planning) go as planned.
"""

from __future__ import annotations

from jobs.request import EditRequest
from pipeline.context import Context
from storage.object_keys import parse_s3_uri
from storage.presign import presign_get, video_type


def request_to_send(ctx: Context, source: str, request: EditRequest) -> EditRequest:
    """``request`` with a freshly signed video URL when ``source`` is an ``s3://`` object."""
    if not source.startswith("s3://"):
        return request
    bucket, key = parse_s3_uri(source)
    url = presign_get(ctx.s3, bucket, key, ctx.settings.presign_ttl_s, video_type(key))
    return request.model_copy(update={"video_url": url})
