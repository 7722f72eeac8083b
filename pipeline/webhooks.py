"""OpenRouter's signed webhooks: the verdict on one delivery (pure; no I/O, a given ``now``).

A delivery carries ``X-OpenRouter-Signature: t=<unix seconds>,v1=<hex>``, the HMAC-SHA256 of
``"<t>,<raw body>"`` under the workspace's signing secret, and ``X-OpenRouter-Idempotency-Key:
<job id>-<status>``. It is taken only when the signature matches the exact bytes received
(compared in constant time), its timestamp is within ``window_s`` of ``now`` either way (an old
delivery captured and sent again is refused), and its idempotency key was not seen before
(`pipeline.callbacks.first_delivery`). Like crun's, a delivery only wakes the job's poll.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

SIGNATURE_HEADER = "x-openrouter-signature"
IDEMPOTENCY_HEADER = "x-openrouter-idempotency-key"
WINDOW_S = 300.0
"""How far a delivery's timestamp may be from the receiver's clock."""


@dataclass(frozen=True)
class Verdict:
    """``ok``, or why the delivery is refused."""

    ok: bool
    reason: str = ""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header of ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp},".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def _parts(header: str) -> tuple[int, list[str]] | None:
    stamp: int | None = None
    macs: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            stamp = int(value)
        elif name == "v1" and value:
            macs.append(value)
    return None if stamp is None or not macs else (stamp, macs)


def verify(
    secret: str, header: str | None, body: bytes, now: float, window_s: float = WINDOW_S
) -> Verdict:
    """Whether a delivery of ``body`` with signature ``header`` is genuine and fresh."""
    parts = _parts(header or "")
    if parts is None:
        return Verdict(False, "missing or malformed signature")
    stamp, macs = parts
    expected = sign(secret, stamp, body).rpartition("v1=")[2]
    # Every candidate is compared in full, in constant time (a rotated secret may send two).
    matched = [hmac.compare_digest(expected.encode(), mac.encode()) for mac in macs]
    if not any(matched):
        return Verdict(False, "signature does not match the body")
    if abs(now - stamp) > window_s:
        return Verdict(False, f"timestamp {stamp} is outside the {window_s:g} s window")
    return Verdict(True)
