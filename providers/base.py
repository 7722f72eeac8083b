"""The interface every provider adapter implements, and the values it returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from jobs.failures import FailureKind
from jobs.limits.tiers import KeyTier


class RemoteState(StrEnum):
    """Where a remote job stands, in restyle's words."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in (RemoteState.SUCCEEDED, RemoteState.FAILED, RemoteState.CANCELLED)


@dataclass(frozen=True)
class RemoteJob:
    """What a successful submit returns."""

    remote_id: str
    typical_duration_s: float
    submitted_at: datetime
    estimated_cost_usd: float | None = None
    """What the provider says the job may charge at most (Runway's ``estimatedCost``); None
    where it says nothing."""
    replayed: bool = False
    """The provider answered a re-send with the job the same idempotency key created before
    (Comfy's ``Idempotent-Replayed: true``): proof that it was paid once."""


@dataclass(frozen=True)
class RemoteStatus:
    """One poll's answer. ``failure_kind`` and ``message`` are set when state is FAILED."""

    state: RemoteState
    progress: float | None = None
    output_urls: tuple[str, ...] = ()
    expires_at: datetime | None = None
    failure_kind: FailureKind | None = None
    message: str | None = None
    billed_cost_usd: float | None = None
    """What the provider billed for the finished job (Runway's ``cost``; 0 for a refund); None
    where it reports no bill."""
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@runtime_checkable
class TierReader(Protocol):
    """Adapters whose provider reports the key's limits."""

    def tier(self) -> KeyTier:
        """The key's limits, usage and balance as the provider reports them now."""
        ...


@runtime_checkable
class Cancellable(Protocol):
    """Adapters whose provider can cancel a remote job."""

    def cancel(self, remote_id: str) -> None:
        """Cancel (or delete) the remote job."""
        ...


@runtime_checkable
class CallbackReceiver(Protocol):
    """Adapters whose provider POSTs the job's final state to a callback URL."""

    def parse_callback(self, body: dict[str, Any]) -> tuple[str, RemoteStatus]:
        """The remote id and status carried by a callback body."""
        ...
