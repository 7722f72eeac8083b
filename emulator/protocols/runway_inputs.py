"""Runway's rules for an input URL, checked at submit the way docs.dev.runwayml.com/assets/inputs
describes: it must answer HEAD, without redirecting, with a video Content-Type and a
Content-Length, over HTTPS. Plain http is allowed to loopback hosts only, for local development
(the emulator's one kindness, since tests serve clips from 127.0.0.1)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

import httpx

HEAD_TIMEOUT_S = 10.0
LOOPBACK_NAMES = ("localhost",)


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP addresses."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def scheme_problem(url: str) -> str | None:
    """Runway's words for a URL it will not fetch at all; None when it may be fetched."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "http" and is_loopback(host):
        return None
    if parts.scheme != "https":
        return "Only HTTPS URLs are allowed."
    if not host:
        return "Invalid URL."
    return None


def head_problem(response: httpx.Response, max_bytes: int) -> str | None:
    """What is wrong with the answer to HEAD; None when the asset is acceptable."""
    if response.status_code != 200:
        # A redirect is not followed, so it fails like any other non-200 answer.
        return f"Failed to fetch asset. Received HTTP response code {response.status_code}."
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if not kind.startswith("video/"):
        return f"Invalid asset Content-Type {kind or '(none)'}: a video type is required."
    length = response.headers.get("content-length")
    if length is None or not length.isdigit():
        return "The asset's response has no Content-Length."
    if int(length) > max_bytes:
        return f"The asset is larger than {max_bytes} bytes."
    return None


async def check_input_url(url: str, client: httpx.AsyncClient, max_bytes: int) -> str | None:
    """Runway's reason to refuse the input ``url`` (data URIs pass); None when acceptable."""
    if url.startswith(("data:", "runway://")):
        return None
    problem = scheme_problem(url)
    if problem is not None:
        return problem
    try:
        response = await client.head(url, follow_redirects=False, timeout=HEAD_TIMEOUT_S)
    except httpx.TimeoutException:
        return "Timeout while fetching asset."
    except httpx.HTTPError as exc:
        return f"Failed to fetch asset: {type(exc).__name__}."
    return head_problem(response, max_bytes)
