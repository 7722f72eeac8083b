"""What a plan keeps of its rows as they stream by: counts, sums and the first problems (pure).

A million-row plan keeps its good rows on disk (`producer.planned`); everything a dry run, a
budget check or a batch record needs of them is summed here as each row passes: the cost and
wall-time summary, the distinct prompts, the S3 sources stored without a video type, and the
first `MAX_KEPT_PROBLEMS` problems with a count of them all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from config.catalogue import ProviderSpec
from config.settings import ProviderName
from producer.checks import Problem
from producer.estimate import PlanSummary, SummaryTally
from producer.preflight import PlannedJob
from producer.seen import SeenLines

MAX_KEPT_PROBLEMS = 1000
"""Problems a plan keeps to show; past these it counts them (a bad million-row manifest would
otherwise print a million lines and hold them all)."""


@dataclass
class ProblemList:
    """The first ``kept`` problems, and how many there were in all."""

    kept: int = MAX_KEPT_PROBLEMS
    shown: list[Problem] = field(default_factory=list)
    total: int = 0

    def add(self, problems: Iterable[Problem]) -> None:
        """Count ``problems``, keeping them while there is room."""
        for problem in problems:
            self.total += 1
            if len(self.shown) < self.kept:
                self.shown.append(problem)

    def sorted(self) -> list[Problem]:
        """The kept problems by row (whole-batch ones first)."""
        return sorted(self.shown, key=lambda problem: problem.row or 0)


@dataclass
class PlanTally:
    """Sums over a plan's good rows, a row at a time."""

    specs: Mapping[ProviderName, ProviderSpec]
    summary_tally: SummaryTally = field(default_factory=SummaryTally)
    first_prompt: str | None = None
    prompts: SeenLines = field(default_factory=SeenLines)
    retyped: int = 0
    retyped_types: set[str] = field(default_factory=set)

    def add(self, planned: PlannedJob) -> None:
        """Count ``planned``: its paid runs, its prompt, its source's stored type."""
        for job in planned.billed:
            self.summary_tally.add(job, self.specs[job.provider])
        prompt = planned.job.request.prompt
        if self.first_prompt is None:
            self.first_prompt = prompt
        self.prompts.first(prompt, planned.row)
        if planned.retyped_from:
            self.retyped += 1
            self.retyped_types.add(planned.retyped_from)

    def summary(self, keys: Mapping[ProviderName, int]) -> PlanSummary:
        """Cost and wall time of the rows added so far."""
        return self.summary_tally.summary(self.specs, keys)

    @property
    def prompt_summary(self) -> str:
        """The batch's one prompt, or how many distinct prompts it has."""
        if len(self.prompts) == 1 and self.first_prompt is not None:
            return self.first_prompt
        return f"{len(self.prompts)} prompts"

    def retyped_warnings(self) -> list[str]:
        """One warning for S3 sources stored without a video type."""
        if not self.retyped:
            return []
        found = ", ".join(sorted(self.retyped_types))
        return [
            f"{self.retyped} S3 source(s) are stored as {found}, not a video type (boto3's "
            "upload_file default): their URLs carry a video Content-Type instead, which "
            "Runway's input check needs; upload with ExtraArgs={'ContentType': 'video/mp4'} "
            "to fix them"
        ]
