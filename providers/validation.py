"""Checks shared by every adapter's ``validate``: what the provider's catalogue entry allows.

Each refusal is an `InvalidRequest` naming the provider, the `EditRequest` field and the values
the provider takes, raised before any request is sent.
"""

from __future__ import annotations

from collections.abc import Iterable

from config.catalogue import ProviderSpec
from jobs.request import EditRequest
from providers.errors import InvalidRequest

URL_SCHEMES = ("https://", "http://", "data:")


def refuse(provider: str, field: str, value: object, allowed: Iterable[object]) -> InvalidRequest:
    """The error for ``field=value`` that ``provider`` does not take."""
    choices = tuple(str(item) for item in allowed)
    shown = ", ".join(choices) if choices else "none (leave it unset)"
    message = f"{field}={value!r} is not accepted; allowed values: {shown}"
    return InvalidRequest(provider, message, field=field, allowed=choices)


def check_against_spec(request: EditRequest, spec: ProviderSpec) -> None:
    """Refuse what the catalogue says ``spec.name`` cannot take."""
    provider = spec.name.value
    _check_url(provider, "video_url", request.video_url)
    _check_data_uri(spec, request.video_url)
    if request.aspect_ratio is not None and request.aspect_ratio not in spec.ratios:
        raise refuse(provider, "aspect_ratio", request.aspect_ratio, spec.ratios)
    if request.seed is not None and not spec.accepts_seed:
        raise refuse(provider, "seed", request.seed, ())
    if request.reference_image_url is not None:
        if not spec.accepts_reference_image:
            raise refuse(provider, "reference_image_url", request.reference_image_url, ())
        _check_url(provider, "reference_image_url", request.reference_image_url)
    if request.duration_s is not None and request.duration_s not in spec.durations:
        raise refuse(provider, "duration_s", request.duration_s, spec.durations)
    _check_keyframes(request, spec)


def _check_keyframes(request: EditRequest, spec: ProviderSpec) -> None:
    provider = spec.name.value
    if not request.keyframes:
        return
    # Where keyframes are the provider's way of taking images, the reference image is one.
    wanted = len(request.keyframes) + (request.reference_image_url is not None)
    if wanted > spec.max_keyframes:
        allowed = (f"at most {spec.max_keyframes} images, reference image included",)
        raise refuse(provider, "keyframes", f"{wanted} images", allowed)
    for keyframe in request.keyframes:
        _check_url(provider, "keyframes", keyframe.uri)


def data_uri_bytes(uri: str) -> int:
    """How many bytes a ``data:`` URI decodes to (base64: 3 bytes per 4 characters)."""
    header, _, payload = uri.partition(",")
    if header.endswith(";base64"):
        payload = payload.rstrip("=")
        return len(payload) * 3 // 4
    return len(payload)


def _check_data_uri(spec: ProviderSpec, url: str) -> None:
    """Runway takes a video inline only up to 5 MB; a larger one must be a URL."""
    limit = spec.max_data_uri_bytes
    if limit is None or not url.startswith("data:"):
        return
    size = data_uri_bytes(url)
    if size > limit:
        allowed = (f"a data: URI of at most {limit // 1_000_000} MB (this one is "
                   f"{size / 1_000_000:.1f} MB)", "an https:// URL")  # fmt: skip
        raise refuse(spec.name.value, "video_url", url[:40] + "...", allowed)


def _check_url(provider: str, field: str, url: str) -> None:
    if not url.startswith(URL_SCHEMES):
        raise refuse(provider, field, url[:80], ("an https:// or http:// URL", "a data: URI"))
