"""Probing a reference image like a source: its headers and first bytes, over an HTTP range.

A ``reference_image`` that is not an image would be queued, paid for, and failed by the
provider, so preflight fetches bytes 0-63 (through the same URL-safety client as the video
probe, redirects included), tells the type from the bytes' signature rather than from
Content-Type (servers get it wrong), reads the size from Content-Range or Content-Length, and
holds both against the provider's `ImageLimits` in the catalogue.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx

from config.catalogue import ProviderSpec
from wire.answers import redact_url

HEAD_BYTES = 64
CONTENT_RANGE = re.compile(r"bytes \d+-\d+/(\d+)$")
SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
)
FieldProblem = tuple[str | None, str]


class ImageProbeError(Exception):
    """The reference image could not be read; the message says why (never with a query)."""


@dataclass(frozen=True)
class ImageInfo:
    """What the first bytes and the headers say: the type (None: not an image) and size."""

    kind: str | None
    content_type: str
    size_bytes: int | None


def sniff(head: bytes) -> str | None:
    """The image type of a file starting with ``head``: jpeg, png, gif, webp, or None."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    for signature, kind in SIGNATURES:
        if head.startswith(signature):
            return kind
    return None


def probe_image(url: str, http: httpx.Client) -> ImageInfo:
    """GET the first bytes of ``url`` with a Range header; `ImageProbeError` if unreadable.

    `producer.safety.UnsafeSource` raised by a guarded ``http`` passes through.
    """
    headers = {"Range": f"bytes=0-{HEAD_BYTES - 1}", "Accept": "image/*"}
    try:
        with http.stream("GET", url, headers=headers) as response:
            if response.status_code >= 400:
                raise ImageProbeError(f"HTTP {response.status_code} from {redact_url(url)}")
            head = _first_bytes(response)
            return ImageInfo(sniff(head), _content_type(response), _size(response))
    except httpx.HTTPError as exc:
        raise ImageProbeError(f"cannot fetch {redact_url(url)}: {type(exc).__name__}") from None


def _first_bytes(response: httpx.Response) -> bytes:
    head = b""
    for chunk in response.iter_bytes():
        head += chunk
        if len(head) >= HEAD_BYTES:
            break
    return head[:HEAD_BYTES]


def _content_type(response: httpx.Response) -> str:
    value: str = response.headers.get("content-type", "")
    return value.split(";")[0].strip().lower()


def _size(response: httpx.Response) -> int | None:
    found = CONTENT_RANGE.match(response.headers.get("content-range", ""))
    if found:
        return int(found.group(1))
    length = response.headers.get("content-length")
    if response.status_code == 200 and length and length.isdigit():
        return int(length)
    return None


def image_problems(spec: ProviderSpec, info: ImageInfo) -> list[FieldProblem]:
    """How a probed reference image breaks ``spec``'s `ImageLimits` (type and size)."""
    limits = spec.reference_image
    provider = spec.name.value
    accepted = ", ".join(limits.types)
    if info.kind is None:
        served = info.content_type or "no Content-Type"
        message = f"not an image ({served}, and its first bytes are no {accepted} signature)"
        return [("reference_image", message)]
    problems: list[FieldProblem] = []
    if info.kind not in limits.types:
        message = f"{info.kind} is not accepted by {provider}; use {accepted}"
        problems.append(("reference_image", message))
    if info.size_bytes is not None and info.size_bytes > limits.max_bytes:
        size = f"{info.size_bytes / 2**20:.1f} MiB"
        limit = f"{limits.max_bytes >> 20} MiB"
        problems.append(("reference_image", f"{size} exceeds {provider}'s {limit}"))
    return problems
