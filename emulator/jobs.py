"""A remote job as the emulator keeps it, and the pure rules of where it stands at a given time.

::

    THROTTLED --slot frees--> QUEUED --20% of duration--> RUNNING --duration, output ready-->
        SUCCEEDED | FAILED            (any live phase --cancel--> CANCELLED)

Terminal phases are set by `emulator.lifecycle`; the live ones are computed from timestamps.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from config.settings import ProviderName

QUEUE_FRACTION = 0.2


class Phase(StrEnum):
    """Where a remote job stands, in the emulator's neutral words."""

    THROTTLED = "throttled"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in (Phase.SUCCEEDED, Phase.FAILED, Phase.CANCELLED)


class Cause(StrEnum):
    """Why a remote job failed."""

    MODERATION = "moderation"
    GENERATION = "generation"
    ASSET = "asset"


@dataclass(frozen=True)
class EditSpec:
    """What a submit asked for, whatever the provider called the fields."""

    prompt: str
    video_url: str
    ratio: tuple[int, int] | None = None
    seed: int | None = None
    reference_url: str | None = None
    callback_url: str | None = None
    model: str | None = None
    """The model asked for, where the body names one (Runway: aleph2)."""
    keyframes: int = 0
    """How many keyframes guide the edit (Runway's aleph2 takes up to 5)."""

    @property
    def anchors(self) -> int:
        """How many images anchor the edit's look: the keyframes, or the one reference image."""
        return self.keyframes or (1 if self.reference_url else 0)


@dataclass(eq=False)
class RemoteJob:
    """One remote job. Mutated only by `emulator.lifecycle` on the event loop."""

    id: str
    provider: ProviderName
    key_id: str
    spec: EditSpec
    body: dict[str, Any]
    created_at: float
    duration_s: float
    fate: Cause | None = None
    defect: str | None = None
    """What is wrong with its output, though it succeeds (`emulator.defects`)."""
    idempotency_key: str | None = None
    base_url: str = ""
    progress_exponent: float = 1.0
    started_at: float | None = None
    finished_at: float | None = None
    final: Phase | None = None
    cause: Cause | None = None
    message: str | None = None
    output: bytes | None = None
    output_seconds: float = 0.0
    source_seconds: float = 0.0
    """How long the fetched input is (what a per-second price of the whole input bills)."""
    """How long the rendered output is (what a per-second price bills)."""
    charged_usd: float = 0.0
    """What the emulator's ledger charged for this job (its bill)."""
    cancelled_in: Phase | None = None
    """The phase a cancel found the job in (Runway refunds a cancel before it runs only)."""
    prepared: bool = False
    due: bool = False
    timer: asyncio.TimerHandle | None = field(default=None, repr=False)
    task: asyncio.Task[None] | None = field(default=None, repr=False)
    done: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    @property
    def slot(self) -> tuple[ProviderName, str]:
        """The (provider, key id) pair whose concurrency this job counts against."""
        return (self.provider, self.key_id)


def phase_at(job: RemoteJob, now: float) -> Phase:
    """The job's phase at ``now``."""
    if job.final is not None:
        return job.final
    if job.started_at is None:
        return Phase.THROTTLED
    if now - job.started_at < QUEUE_FRACTION * job.duration_s:
        return Phase.QUEUED
    return Phase.RUNNING


def progress_at(job: RemoteJob, now: float) -> float:
    """Fraction done, 0 to 1 (0.99 at most until the job has really finished).

    The fraction of the job's time gone, raised to ``job.progress_exponent``.
    """
    if job.final is Phase.SUCCEEDED:
        return 1.0
    if job.started_at is None or job.duration_s <= 0:
        return 0.0
    gone = min(1.0, max(0.0, (now - job.started_at) / job.duration_s))
    curved: float = gone**job.progress_exponent
    return round(min(0.99, curved), 3)
