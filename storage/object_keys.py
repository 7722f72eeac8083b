"""Deterministic S3 keys, so that a repeated copy overwrites its object instead of adding one."""

from __future__ import annotations

import hashlib
import re

SAFE_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")
UNSAFE_RUN = re.compile(r"[^A-Za-z0-9._-]+")
MAX_SEGMENT = 200
HASH_CHARS = 10


def safe_segment(value: str) -> str:
    """``value`` as one key segment of safe characters; stable, and distinct for distinct input.

    Safe values pass unchanged. Anything else is slugged and suffixed with a short hash of the
    original, so ``"a b"`` and ``"a_b"`` never share a key.
    """
    if not value:
        raise ValueError("an S3 key segment cannot be empty")
    if SAFE_SEGMENT.fullmatch(value) and value not in (".", "..") and len(value) <= MAX_SEGMENT:
        return value
    slug = UNSAFE_RUN.sub("_", value).strip("._") or "_"
    digest = hashlib.sha256(value.encode()).hexdigest()[:HASH_CHARS]
    return f"{slug[: MAX_SEGMENT - HASH_CHARS - 1]}-{digest}"


def join_key(prefix: str, *segments: str) -> str:
    """``prefix`` (slashes trimmed, may be empty) and ``segments`` joined with ``/``."""
    parts = [prefix.strip("/"), *segments]
    return "/".join(part for part in parts if part)


def output_key(prefix: str, batch: str, item: str) -> str:
    """Where an item's output lands: ``{prefix}/{batch}/{item}.mp4``."""
    return join_key(prefix, safe_segment(batch), f"{safe_segment(item)}.mp4")


def segment_output_key(prefix: str, batch: str, item: str, segment: int) -> str:
    """Where segment ``segment`` of a clip's edit lands: ``{prefix}/{batch}/{item}/segments/
    NNN.mp4`` (next to the clip's own ``{item}.mp4``)."""
    return join_key(
        prefix, safe_segment(batch), safe_segment(item), "segments", f"{segment:03d}.mp4"
    )


def staging_key(staging_prefix: str, digest: str, filename: str) -> str:
    """Where a local source is staged before presigning: ``{prefix}/{digest}/{filename}``.

    Keyed by the content's digest, so the same file staged twice is one object.
    """
    return join_key(staging_prefix, safe_segment(digest), safe_segment(filename))


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/some/key`` -> ``("bucket", "some/key")``; the key may be empty."""
    scheme, sep, rest = uri.partition("://")
    if scheme != "s3" or not sep:
        raise ValueError(f"not an s3:// URI: {uri!r}")
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise ValueError(f"no bucket in {uri!r}")
    return bucket, key


def thumbnail_key(output_key: str, name: str) -> str:
    """Where a frame of an output is kept: ``{output without .mp4}.thumbs/{name}.png``, next
    to the output (written at archive and stitch time)."""
    stem = output_key.removesuffix(".mp4")
    return f"{stem}.thumbs/{safe_segment(name)}.png"
