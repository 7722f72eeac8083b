"""What a batch will cost and how long it will take, from the catalogue alone (pure).

Cost: each provider bills per second of output or per run (`config.catalogue.Price`); Aleph
edits at most ``spec.output_seconds`` of the source, so a longer source costs no more.

Wall time: a provider runs ``concurrency`` jobs per API key at once, each taking about
``typical_duration_s``, so its jobs finish in ``ceil(jobs / (concurrency * keys))`` waves, or
later when its request rate is the tighter limit. Providers run side by side: the batch takes
as long as its slowest provider.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from config.catalogue import ProviderSpec
from config.settings import ProviderName
from jobs.models import Job


@dataclass(frozen=True)
class ProviderPlan:
    """One provider's share of a batch."""

    provider: ProviderName
    jobs: int
    cost_usd: float
    wall_s: float
    billed_seconds: float = 0.0
    """Seconds of source the provider is paid to edit (each job is one paid run)."""


@dataclass(frozen=True)
class PlanSummary:
    """A batch's jobs, cost and wall time, per provider and in total."""

    providers: tuple[ProviderPlan, ...]

    @property
    def jobs(self) -> int:
        """Jobs in the batch."""
        return sum(plan.jobs for plan in self.providers)

    @property
    def cost_usd(self) -> float:
        """Estimated USD for the whole batch."""
        return round(sum(plan.cost_usd for plan in self.providers), 4)

    @property
    def wall_s(self) -> float:
        """Estimated seconds until the slowest provider is done."""
        return max((plan.wall_s for plan in self.providers), default=0.0)


def job_cost(spec: ProviderSpec, source_seconds: float) -> float:
    """USD for one edit of a source ``source_seconds`` long."""
    return spec.effective_price.estimate(min(source_seconds, spec.output_seconds))


def provider_wall_s(jobs: int, spec: ProviderSpec, keys: int) -> float:
    """Seconds for ``jobs`` on one provider with ``keys`` API keys (at least one assumed)."""
    if jobs <= 0:
        return 0.0
    keys = max(keys, 1)
    waves = math.ceil(jobs / (spec.concurrency * keys))
    return max(waves * spec.typical_duration_s, jobs / (spec.rate_per_s * keys))


class SummaryTally:
    """`summarize` a job at a time, for a plan too large to hold its jobs."""

    def __init__(self) -> None:
        self._counts: dict[ProviderName, int] = {}
        self._costs: dict[ProviderName, float] = {}
        self._seconds: dict[ProviderName, float] = {}

    def add(self, job: Job, spec: ProviderSpec) -> None:
        """Count ``job`` (``spec`` is its provider's)."""
        name = job.provider
        self._counts[name] = self._counts.get(name, 0) + 1
        self._costs[name] = self._costs.get(name, 0.0) + job.estimated_cost_usd
        edited = min(job.source_seconds or 0.0, spec.output_seconds)
        self._seconds[name] = self._seconds.get(name, 0.0) + edited

    def summary(
        self, specs: Mapping[ProviderName, ProviderSpec], keys: Mapping[ProviderName, int]
    ) -> PlanSummary:
        """The plan of the jobs added so far."""
        return PlanSummary(
            tuple(
                ProviderPlan(
                    provider=name,
                    jobs=count,
                    cost_usd=round(self._costs[name], 4),
                    wall_s=provider_wall_s(count, specs[name], keys.get(name, 0)),
                    billed_seconds=round(self._seconds[name], 3),
                )
                for name, count in sorted(self._counts.items())
            )
        )
