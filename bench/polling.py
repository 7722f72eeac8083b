"""Polling: status requests per job and how late restyle notices a finished remote job.

Remote jobs last uniformly 30-180 s (the emulator's processing time); the pipeline's typical
duration is 100 s for every provider. For each job: the polls it took (the ledger's count, and
the emulator's status GETs per job as a cross-check) and its detection delay, from the remote
job's end (emulator: created + processing time) to the poll that saw it, as a fraction of the
job's time. Goals: <= 8 polls per job and p95 delay <= 10% of the job's time.

Jobs are spread over the five providers; only Runway reports progress, which lets the schedule
predict a job's end (jobs/timing.py). The figures are given for all jobs, for the jobs that
reported progress and for those that did not, and per provider. ``--progress-exponent`` curves
the progress the emulator reports (1: proportional to time) to try a less friendly provider.

Baseline, computed from the same run's job times: a fixed-interval poller at 10% of the
shortest job (the simplest schedule that meets the delay goal for every job); ``ratio`` is
restyle's polls per job over the baseline's.

``--compression K`` divides every duration (processing, typical time, poll cap) by K. It is
refused when a constant in absolute seconds (the poll floor, the first-poll cap, the minimum
countdown) would then shape the schedule differently, since the figures would lie.

    python -m bench.polling [--jobs 300] [--min-s 30] [--max-s 180] [--typical-s 100]
                            [--compression 1] [--progress-exponent 1]
                            [--workers 2] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench.rig import (
    UNLIMITED,
    Producer,
    bench_stack,
    configure_emulator,
    emulator_client,
    emulator_stats,
    make_jobs,
    percentile,
    provider_env,
    source_urls,
    wait_for_batch,
)
from devstack.stack import ALL_QUEUES
from jobs.models import Job
from jobs.states import JobState
from jobs.timing import POLICY
from tasks.messages import dispatch_jobs

GOAL_POLLS = 8
GOAL_P95_DELAY = 0.10
POLL_CAP_S = 60.0


@dataclass(frozen=True)
class Scenario:
    """Job times in real (uncompressed) seconds, and the compression factor."""

    jobs: int
    min_s: float
    max_s: float
    typical_s: float
    compression: float
    progress_exponent: float = 1.0

    def scaled(self, seconds: float) -> float:
        return seconds / self.compression


def compression_problems(scenario: Scenario) -> list[str]:
    """Why compressing by ``scenario.compression`` would distort the schedule (empty: it won't)."""
    if scenario.compression == 1:
        return []
    typical = scenario.scaled(scenario.typical_s)
    problems = []
    first = POLICY.first_poll_fraction * typical
    if POLICY.poll_growth * first < POLICY.poll_floor_s:
        problems.append(f"the poll floor of {POLICY.poll_floor_s:.0f} s would bind")
    if first < POLICY.min_countdown_s:
        problems.append(f"the minimum countdown of {POLICY.min_countdown_s} s would bind")
    return problems


def worker_env(scenario: Scenario) -> dict[str, str]:
    """Typical time and poll cap scaled like the job times; provider limits lifted."""
    return {
        "RESTYLE_POLL_MAX_INTERVAL_S": str(scenario.scaled(POLL_CAP_S)),
        **provider_env(TYPICAL_DURATION_S=str(scenario.scaled(scenario.typical_s)), **UNLIMITED),
    }


@dataclass(frozen=True)
class Observed:
    """One stored job: its remote time, its polls and its detection delay (real seconds)."""

    provider: str
    reported_progress: bool
    duration_s: float
    polls: int
    delay_s: float

    @property
    def fraction(self) -> float:
        return self.delay_s / self.duration_s


def observe(jobs: Sequence[Job], remote: dict[str, dict[str, Any]], k: float) -> list[Observed]:
    """Match ledger jobs with the emulator's remote jobs by idempotency key."""
    found = []
    for job in jobs:
        twin = remote.get(job.client_request_id or "")
        if job.state is not JobState.STORED or twin is None or job.remote_completed_at is None:
            continue
        ended_at = twin["created_at"] + twin["duration_s"]
        delay = job.remote_completed_at.timestamp() - ended_at
        found.append(
            Observed(
                job.provider.value,
                job.progress_at is not None,
                twin["duration_s"] * k,
                job.polls,
                delay * k,
            )
        )
    return found


def status_gets(stats: dict[str, Any]) -> int:
    """Status requests the emulator answered: GETs of provider API paths, not output downloads.

    Segmind's final poll is two GETs (status, then the result), so this runs a little above
    the ledger's count of poll steps.
    """
    return sum(
        sum(statuses.values())
        for endpoints in stats["requests"].values()
        for endpoint, statuses in endpoints.items()
        if endpoint.startswith("GET ") and "/_files" not in endpoint
    )


def run(scenario: Scenario, workers: int, concurrency: int) -> dict[str, Any]:
    """Run the scenario; returns the JSON line's fields."""
    with bench_stack("polling") as stack:
        stack.start_redis()
        stack.start_s3()
        stack.start_emulator("--preset", "calm")
        low, high = scenario.scaled(scenario.min_s), scenario.scaled(scenario.max_s)
        configure_emulator(
            stack,
            {
                "processing": {"min_s": low, "max_s": high},
                "progress_exponent": scenario.progress_exponent,
            },
        )
        for n in range(workers):
            stack.start_worker(ALL_QUEUES, concurrency, f"poll{n}", env=worker_env(scenario))
        producer = Producer.of(stack)
        batch = f"polling-{uuid.uuid4().hex[:8]}"
        jobs = make_jobs(batch, source_urls(stack, 1) * scenario.jobs)
        producer.ledger.add(jobs)
        dispatch_jobs(producer.app, jobs)
        wait_for_batch(producer.ledger, batch, scenario.jobs, timeout_s=2 * high + 300)
        finished = producer.ledger.get_many([job.id for job in jobs])
        with emulator_client(stack) as client:
            listing = client.get("/_emulator/jobs").json()["jobs"]
        gets = status_gets(emulator_stats(stack))
    remote = {item["idempotency_key"]: item for item in listing}
    return summary(scenario, observe(finished, remote, scenario.compression), gets)


def figures(seen: Sequence[Observed]) -> dict[str, Any]:
    """Polls and detection delay of ``seen`` jobs."""
    polls = [item.polls for item in seen]
    fractions = [item.fraction for item in seen]
    mean_polls = statistics.fmean(polls) if polls else 0.0
    p95 = percentile(fractions, 0.95)
    return {
        "jobs": len(seen),
        "polls_per_job": round(mean_polls, 2),
        "polls_p95": percentile(polls, 0.95),
        "polls_max": max(polls, default=0),
        "delay_fraction_mean": round(statistics.fmean(fractions) if fractions else 0.0, 4),
        "delay_fraction_p50": round(percentile(fractions, 0.5), 4),
        "delay_fraction_p95": round(p95, 4),
        "delay_fraction_max": round(max(fractions, default=0.0), 4),
        "delay_s_p95": round(percentile([item.delay_s for item in seen], 0.95), 2),
        "meets_polls_goal": bool(seen) and mean_polls <= GOAL_POLLS,
        "meets_delay_goal": bool(seen) and p95 <= GOAL_P95_DELAY,
    }


def summary(scenario: Scenario, seen: list[Observed], gets: int) -> dict[str, Any]:
    """The benchmark's JSON fields."""
    interval = 0.1 * min((item.duration_s for item in seen), default=1.0)
    baseline = statistics.fmean(math.ceil(item.duration_s / interval) for item in seen)
    overall = figures(seen)
    providers = sorted({item.provider for item in seen})
    return {
        "bench": "polling",
        "jobs": scenario.jobs,
        "stored": len(seen),
        "job_s": [scenario.min_s, scenario.max_s],
        "typical_s": scenario.typical_s,
        "compression": scenario.compression,
        "progress_exponent": scenario.progress_exponent,
        **{key: value for key, value in overall.items() if key != "jobs"},
        "emulator_status_gets_per_job": round(gets / max(len(seen), 1), 2),
        "with_progress": figures([item for item in seen if item.reported_progress]),
        "without_progress": figures([item for item in seen if not item.reported_progress]),
        "by_provider": {
            name: figures([item for item in seen if item.provider == name]) for name in providers
        },
        "baseline_fixed_interval_s": round(interval, 2),
        "baseline_polls_per_job": round(baseline, 2),
        "ratio": round(overall["polls_per_job"] / baseline, 3),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.polling")
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--min-s", type=float, default=30.0)
    parser.add_argument("--max-s", type=float, default=180.0)
    parser.add_argument("--typical-s", type=float, default=100.0)
    parser.add_argument("--compression", type=float, default=1.0)
    parser.add_argument("--progress-exponent", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args(argv)
    scenario = Scenario(
        args.jobs, args.min_s, args.max_s, args.typical_s, args.compression, args.progress_exponent
    )
    problems = compression_problems(scenario)
    if problems:
        parser.error(f"--compression {args.compression} would distort the figures: "
                     + "; ".join(problems))  # fmt: skip
    print(json.dumps(run(scenario, args.workers, args.concurrency)))


if __name__ == "__main__":
    main()
