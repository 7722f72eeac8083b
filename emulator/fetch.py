"""Fetch a job's input video: an http(s) URL (loopback allowed, e.g. a presigned moto URL) or a
``data:`` URI. Failures become `FetchError`, which the job reports the provider's way."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote_to_bytes

import httpx


class FetchError(Exception):
    """The input could not be fetched; the message says why in a provider's words."""


def decode_data_uri(uri: str, max_bytes: int) -> bytes:
    """The bytes of a ``data:[<type>][;base64],<data>`` URI."""
    header, comma, payload = uri.partition(",")
    if not comma:
        raise FetchError("Invalid data URI.")
    try:
        if header.endswith(";base64"):
            data = base64.b64decode(payload, validate=False)
        else:
            data = unquote_to_bytes(payload)
    except (binascii.Error, ValueError):
        raise FetchError("Invalid data URI.") from None
    if len(data) > max_bytes:
        raise FetchError(f"The input is larger than {max_bytes} bytes.")
    return data


async def fetch_video(
    url: str, client: httpx.AsyncClient, max_bytes: int, timeout_s: float = 20.0
) -> bytes:
    """The bytes at ``url``; `FetchError` for anything unfetchable or over ``max_bytes``."""
    if url.startswith("data:"):
        return decode_data_uri(url, max_bytes)
    if not url.startswith(("http://", "https://")):
        raise FetchError("Only HTTPS URLs or data URIs are allowed.")
    try:
        return await _download(url, client, max_bytes, timeout_s)
    except httpx.TimeoutException:
        raise FetchError("Timeout while fetching asset.") from None
    except httpx.HTTPError as exc:
        raise FetchError(f"Failed to fetch asset: {type(exc).__name__}.") from None


async def _download(url: str, client: httpx.AsyncClient, max_bytes: int, timeout_s: float) -> bytes:
    async with client.stream("GET", url, timeout=timeout_s) as response:
        if response.status_code != 200:
            raise FetchError(
                f"Failed to fetch asset. Received HTTP response code {response.status_code}."
            )
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise FetchError(f"The input is larger than {max_bytes} bytes.")
            chunks.append(chunk)
    return b"".join(chunks)
