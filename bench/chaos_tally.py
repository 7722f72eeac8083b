"""The chaos run's figures: how jobs ended, what was lost, what each job paid, and the table.

Paid submissions come from the emulator: ``by_idempotency_key`` counts the remote jobs created
(and charged) per idempotency key, and restyle's keys are ``<job id>.<try>``, so a job's
payments are the sum over its keys. ``by_key_and_body`` counts remote jobs per (API key,
request body); every job of the run has its own source URL, so a body paid twice is a job
paid twice whatever its idempotency keys said.

With idempotency keys ignored (the emulator's default, as every provider documents), a re-sent
POST is paid again. Each such extra payment must be flagged on its job
(``Job.possible_double_charges``): ``paid_twice_unflagged`` counts jobs with more extra
payments than flags, and must be 0. A new try after a remote job failed has a new key and is a
known, not a possible, second charge.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.disruptions import Tally
from jobs.models import Job
from jobs.states import JobState


@dataclass
class ChaosFigures:
    """Everything the table and the JSON line report."""

    jobs: int
    stored: int
    failed_by_kind: dict[str, int]
    expired: int
    cancelled: int
    unfinished: int
    missing: int
    reached_provider: int
    payments: int
    paid_once: int
    paid_more_than_once: int
    paid_but_not_stored: int
    stored_without_payment: int
    bodies_paid_twice: int
    paid_twice_flagged: int
    paid_twice_unflagged: int
    possible_double_charges: int
    rate_limited_429s: int
    submit_requests: int
    replayed_submits: int
    stored_objects_in_s3: int
    seconds: float
    disruptions: dict[str, int] = field(default_factory=dict)
    faults: dict[str, int] = field(default_factory=dict)
    timeline: list[tuple[float, str]] = field(default_factory=list)

    @property
    def lost(self) -> int:
        """Jobs not in a terminal state at the end, plus jobs missing from the ledger."""
        return self.unfinished + self.missing

    @property
    def paid_exactly_once(self) -> bool:
        """Every job that reached a provider paid exactly one submission."""
        return (
            self.paid_more_than_once == 0
            and self.stored_without_payment == 0
            and self.bodies_paid_twice == 0
        )

    @property
    def ok(self) -> bool:
        """Nothing lost, nothing stored unpaid, and every extra payment flagged on its job."""
        return (
            self.lost == 0 and self.stored_without_payment == 0 and self.paid_twice_unflagged == 0
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "bench": "chaos",
            **asdict(self),
            "lost": self.lost,
            "paid_exactly_once": self.paid_exactly_once,
            "ok": self.ok,
        }


def payments_by_job(stats: dict[str, Any]) -> Counter[str]:
    """Paid remote jobs per restyle job id (idempotency keys are ``<job id>.<try>``)."""
    paid: Counter[str] = Counter()
    for key, count in stats["submissions"]["by_idempotency_key"].items():
        paid[key.rpartition(".")[0] or key] += int(count)
    return paid


def unexplained_by_job(stats: dict[str, Any]) -> Counter[str]:
    """Per job id, payments beyond one per idempotency key: re-sends of the same try."""
    extra: Counter[str] = Counter()
    for key, count in stats["submissions"]["by_idempotency_key"].items():
        extra[key.rpartition(".")[0] or key] += int(count) - 1
    return extra


def flags_of(job: Job) -> int:
    """A job's flagged extra payments: those still possible and those the provider named."""
    return job.possible_double_charges + len(job.extra_remote_ids)


def flagged_counts(found: Sequence[Job], stats: dict[str, Any]) -> tuple[int, int]:
    """Jobs paid twice for one try whose every extra payment is flagged (as possible, or as
    confirmed by the provider's own callback), and those with not."""
    extra = unexplained_by_job(stats)
    doubled = [job for job in found if extra[job.id] > 0]
    flagged = sum(1 for job in doubled if flags_of(job) >= extra[job.id])
    return flagged, len(doubled) - flagged


def tally(
    asked: Sequence[Job],
    found: Sequence[Job],
    stats: dict[str, Any],
    stored_objects: int,
    disruptions: Tally,
    seconds: float,
) -> ChaosFigures:
    """The figures of a run that asked for ``asked`` and ended with ``found`` in the ledger."""
    states = Counter(job.state for job in found)
    paid = payments_by_job(stats)
    reached = [job for job in found if paid[job.id] > 0 or job.state is JobState.STORED]
    bodies = stats["submissions"]["by_key_and_body"].values()
    flagged, unflagged = flagged_counts(found, stats)
    return ChaosFigures(
        jobs=len(asked),
        stored=states[JobState.STORED],
        failed_by_kind=dict(
            Counter(str(j.failure_kind) for j in found if j.state is JobState.FAILED)
        ),
        expired=states[JobState.EXPIRED],
        cancelled=states[JobState.CANCELLED],
        unfinished=sum(1 for job in found if not job.state.terminal),
        missing=len({job.id for job in asked} - {job.id for job in found}),
        reached_provider=len(reached),
        payments=sum(paid[job.id] for job in reached),
        paid_once=sum(1 for job in reached if paid[job.id] == 1),
        paid_more_than_once=sum(1 for job in reached if paid[job.id] > 1),
        paid_but_not_stored=sum(1 for job in reached if job.state is not JobState.STORED),
        stored_without_payment=sum(1 for job in reached if paid[job.id] == 0),
        bodies_paid_twice=sum(1 for count in bodies if int(count) > 1),
        paid_twice_flagged=flagged,
        paid_twice_unflagged=unflagged,
        possible_double_charges=sum(job.possible_double_charges for job in found),
        rate_limited_429s=int(stats["rate_limited_total"]),
        submit_requests=int(stats["submissions"]["requests"]),
        replayed_submits=int(stats["submissions"]["replayed"]),
        stored_objects_in_s3=stored_objects,
        seconds=round(seconds, 1),
        disruptions=_disruptions(disruptions),
        faults={name: int(n) for name, n in sorted(stats["faults"].items())},
        timeline=list(disruptions.log),
    )


def _disruptions(done: Tally) -> dict[str, int]:
    counts = asdict(done)
    counts.pop("log")
    return counts


def render(figures: ChaosFigures, console: Console) -> None:
    """Print the table of ``figures``."""
    table = Table(title=f"chaos: {figures.jobs} jobs in {figures.seconds:.0f}s")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("promise")
    for name, value, promise in _rows(figures):
        table.add_row(name, str(value), promise)
    console.print(table)
    console.print("disruptions: " + "; ".join(f"{at:.0f}s {what}" for at, what in figures.timeline))


def _verdict(good: bool) -> str:
    return "[green]kept[/]" if good else "[red]BROKEN[/]"


def _rows(figures: ChaosFigures) -> list[tuple[str, object, str]]:
    rows: list[tuple[str, object, str]] = [("STORED", figures.stored, "")]
    for kind, count in sorted(figures.failed_by_kind.items()):
        rows.append((f"FAILED ({kind})", count, ""))
    lost, flagged = figures.lost == 0, figures.paid_twice_unflagged == 0
    in_s3 = figures.stored_objects_in_s3 == figures.stored
    submits = f"{figures.submit_requests} / {figures.replayed_submits}"
    rows += [
        ("EXPIRED", figures.expired, ""),
        ("lost (unfinished + missing)", figures.lost, f"0: {_verdict(lost)}"),
        ("reached a provider", figures.reached_provider, ""),
        ("paid exactly once", figures.paid_once, ""),
        ("paid more than once", figures.paid_more_than_once, ""),
        ("request bodies paid twice", figures.bodies_paid_twice, ""),
        ("  of which flagged on the job", figures.paid_twice_flagged, ""),
        ("  paid twice, not flagged", figures.paid_twice_unflagged, f"0: {_verdict(flagged)}"),
        ("re-sends flagged possibly paid twice", figures.possible_double_charges, ""),
        ("stored without a payment", figures.stored_without_payment, "0"),
        ("paid submissions per job", _per_job(figures), ""),
        ("paid, not stored", figures.paid_but_not_stored, ""),
        ("429s received", figures.rate_limited_429s, ""),
        ("submit requests / replayed", submits, ""),
        ("objects in S3", figures.stored_objects_in_s3, f"= STORED: {_verdict(in_s3)}"),
    ]
    rows += [(name.replace("_", " "), count, "") for name, count in figures.disruptions.items()]
    rows += [(f"emulator fault: {name}", count, "") for name, count in figures.faults.items()]
    return rows


def _per_job(figures: ChaosFigures) -> str:
    if not figures.reached_provider:
        return "-"
    return f"{figures.payments / figures.reached_provider:.3f}"
