"""Output URLs that expire: signed tokens that carry their own expiry, and the MP4 response
(optionally padded with an MP4 ``free`` box, streamed, so huge outputs cost no memory)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass

from starlette.responses import Response, StreamingResponse

CHUNK = 64 * 1024
ZEROS = bytes(1024 * 1024)
MIN_FREE_BOX = 8


@dataclass(frozen=True)
class Ticket:
    """What a valid token names: a job and when its URL stops working."""

    job_id: str
    expires_at: float


class Signer:
    """Makes and checks output tokens with a per-process secret."""

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret or secrets.token_bytes(32)

    def _signature(self, provider: str, job_id: str, expires_ms: int) -> str:
        message = f"{provider}:{job_id}:{expires_ms}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:20]

    def token(self, provider: str, job_id: str, expires_at: float) -> str:
        """``<job id>.<expiry ms>.<signature>``."""
        expires_ms = int(expires_at * 1000)
        return f"{job_id}.{expires_ms}.{self._signature(provider, job_id, expires_ms)}"

    def check(self, provider: str, token: str, now: float) -> Ticket | None:
        """The ticket of a genuine, unexpired token; None otherwise."""
        job_id, _, rest = token.partition(".")
        expires, _, signature = rest.partition(".")
        if not expires.isdigit():
            return None
        expected = self._signature(provider, job_id, int(expires))
        if not hmac.compare_digest(expected, signature):
            return None
        ticket = Ticket(job_id, int(expires) / 1000)
        return ticket if ticket.expires_at > now else None


def free_box_header(total: int) -> bytes:
    """The header of an MP4 ``free`` box of ``total`` bytes (64-bit size beyond 4 GiB)."""
    if total < 2**32:
        return struct.pack(">I4s", total, b"free")
    return struct.pack(">I4sQ", 1, b"free", total)


def padding_size(requested: int) -> int:
    """The size of the ``free`` box actually appended for a requested padding."""
    return 0 if requested <= 0 else max(MIN_FREE_BOX, requested)


async def _stream(data: bytes, padding: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), CHUNK):
        yield data[start : start + CHUNK]
    if padding:
        header = free_box_header(padding)
        yield header
        left = padding - len(header)
        while left > 0:
            size = min(left, len(ZEROS))
            yield ZEROS if size == len(ZEROS) else ZEROS[:size]
            left -= size


def mp4_response(data: bytes, padding_requested: int, head: bool) -> Response:
    """``data`` plus its padding box as video/mp4 with an exact Content-Length."""
    padding = padding_size(padding_requested)
    headers = {"content-length": str(len(data) + padding), "accept-ranges": "none"}
    if head:
        return Response(b"", media_type="video/mp4", headers=headers)
    return StreamingResponse(_stream(data, padding), media_type="video/mp4", headers=headers)
