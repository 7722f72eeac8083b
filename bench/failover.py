"""Redis failover and outage: a batch ends with nothing lost and nothing paid twice.

Three runs, each on its own stack of real processes (two workers, ``celery beat`` with RedBeat,
moto S3, the emulator honouring idempotency keys):

- ``sentinel``: a primary, a replica and three sentinels; the primary is SIGKILLed mid-batch,
  the sentinels promote the replica, the old primary is started again and rejoins as a replica.
- ``outage``: one Redis (AOF on) stopped mid-batch for ``--outage`` seconds, then started.
- ``bench``: the same batch undisturbed on a Sentinel set and on one Redis, for jobs/s and Redis
  commands per job (what WAIT and the Sentinel clients cost).

No process is restarted by hand in any run; the figures say whether workers and beat were alive
at the end. Prints one JSON line per run.

- ``wait``: the three costly ledger writes of each job with and without WAIT on a Sentinel
  set, for what WAIT costs per job.

    python -m bench.failover [--mode sentinel|outage|bench|wait] [--jobs 100] [--outage 90]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import redis

from bench.chaos_tally import ChaosFigures, tally
from bench.disruptions import Tally
from bench.rig import (
    Producer,
    bench_stack,
    configure_emulator,
    emulator_stats,
    make_jobs,
    provider_env,
    source_urls,
    terminal_count,
)
from config.redis import redis_client
from config.settings import Settings
from devstack import Stack
from devstack.stack import ALL_QUEUES
from jobs.ledger import Ledger
from jobs.models import Job
from jobs.replicas import Replicas
from jobs.states import JobState
from tasks.messages import dispatch_jobs

PATH = [
    (JobState.SUBMITTING, True),
    (JobState.SUBMITTED, True),
    (JobState.SUCCEEDED, False),
    (JobState.ARCHIVING, False),
    (JobState.STORED, True),
]
"""A job's moves from QUEUED to STORED, and whether each is one of the costly writes."""
IGNORED_COMMANDS = frozenset({"ping", "info", "replconf", "publish", "subscribe", "psync"})
"""Commands of replication and of the sentinels' monitoring, not of restyle's work."""


@dataclass(frozen=True)
class FailoverPlan:
    """Sizes and timings of one run (seconds)."""

    jobs: int = 100
    workers: int = 2
    concurrency: int = 4
    processing_s: tuple[float, float] = (2.0, 5.0)
    disrupt_at: float = 0.25
    """The share of the batch finished when the disruption starts (mid-batch)."""
    outage_s: float = 90.0
    rejoin_after_s: float = 5.0
    """How long after the promotion the killed primary is started again."""
    give_up_s: float = 600.0


@dataclass
class FailoverFigures:
    """One run: the chaos tally, plus the processes' survival and what Redis was asked."""

    mode: str
    figures: ChaosFigures
    workers_alive: int
    workers: int
    beat_alive: bool
    disruption_s: float = 0.0
    redis_commands: int = 0
    waits: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def jobs_per_s(self) -> float:
        return round(self.figures.jobs / self.figures.seconds, 2) if self.figures.seconds else 0.0

    @property
    def ok(self) -> bool:
        alive = self.workers_alive == self.workers and self.beat_alive
        return alive and self.figures.ok and self.figures.stored == self.figures.jobs

    def as_json(self) -> dict[str, Any]:
        jobs = self.figures.jobs
        return {
            "bench": f"failover.{self.mode}",
            "jobs": jobs,
            "stored": self.figures.stored,
            "lost": self.figures.lost,
            "paid_more_than_once": self.figures.paid_more_than_once,
            "bodies_paid_twice": self.figures.bodies_paid_twice,
            "payments": self.figures.payments,
            "replayed_submits": self.figures.replayed_submits,
            "workers_alive": f"{self.workers_alive}/{self.workers}",
            "beat_alive": self.beat_alive,
            "disruption_s": round(self.disruption_s, 1),
            "seconds": self.figures.seconds,
            "jobs_per_s": self.jobs_per_s,
            "redis_commands_per_job": round(self.redis_commands / jobs, 1) if jobs else 0,
            "waits_per_job": round(self.waits / jobs, 2) if jobs else 0,
            "notes": self.notes,
            "ok": self.ok,
        }


def worker_env() -> dict[str, str]:
    """Short polls and reconciling, for the emulator's few-second jobs."""
    return {
        "RESTYLE_POLL_MAX_INTERVAL_S": "2",
        "RESTYLE_RECONCILE_INTERVAL_S": "5",
        "RESTYLE_HTTP_READ_TIMEOUT_S": "5",
        "RESTYLE_JOB_DEADLINE_S": "900",
        # An archive whose retry could not be sent while Redis was down is re-driven after
        # this stall (900 s by default, longer than these runs), as in bench.chaos.
        "RESTYLE_ARCHIVE_STALL_S": "20",
        **provider_env(TYPICAL_DURATION_S="3", CONCURRENCY="1000", RATE_PER_S="10000"),
    }


def command_calls(client: redis.Redis[bytes]) -> tuple[int, int]:
    """Commands the server has run so far (restyle's, see `IGNORED_COMMANDS`), and WAITs."""
    stats: dict[str, Any] = dict(client.info("commandstats"))
    calls = {name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()}
    work = sum(n for name, n in calls.items() if name.split("|")[0] not in IGNORED_COMMANDS)
    return work, calls.get("wait", 0)


def _finished(producer: Producer, batch: str) -> int | None:
    try:
        return terminal_count(producer.ledger.batch_counts(batch))
    except redis.RedisError:
        return None  # Redis is down, or failing over


def wait_until(producer: Producer, batch: str, count: int, deadline: float) -> int:
    """Until ``count`` jobs of ``batch`` are finished or ``deadline`` (monotonic) passes."""
    done = 0
    while time.monotonic() < deadline:
        found = _finished(producer, batch)
        done = done if found is None else found
        if done >= count:
            break
        time.sleep(0.3)
    return done


def kill_the_primary(stack: Stack, plan: FailoverPlan, log: Callable[[str], None]) -> float:
    """SIGKILL the primary, wait for the promotion, start the old one again; the gap (s)."""
    cluster = stack.sentinels
    assert cluster is not None
    killed_at = time.monotonic()
    old = cluster.kill_primary()
    log(f"SIGKILLed the primary on port {old.port}")
    new_port = cluster.wait_failover(old.port)
    promoted = time.monotonic() - killed_at
    log(f"sentinels promoted port {new_port} after {promoted:.1f}s")
    time.sleep(plan.rejoin_after_s)
    cluster.restart(old)
    cluster.wait_replicated()
    log(f"old primary back as a {cluster.role(old)}")
    return promoted


def stop_redis(stack: Stack, plan: FailoverPlan, log: Callable[[str], None]) -> float:
    """Stop the one Redis for ``outage_s``, then start it on its port (AOF keeps the data)."""
    assert stack.redis is not None
    port = stack.redis.port
    stack.redis.stop()
    log(f"stopped Redis for {plan.outage_s:.0f}s")
    time.sleep(plan.outage_s)
    stack.start_redis(appendonly=True, port=port)
    log("Redis started again")
    return plan.outage_s


DISRUPTIONS: dict[str, Callable[[Stack, FailoverPlan, Callable[[str], None]], float]] = {
    "sentinel": kill_the_primary,
    "outage": stop_redis,
}


def start(stack: Stack, plan: FailoverPlan, sentinel: bool) -> None:
    """Redis (a Sentinel set or one with AOF), S3, the emulator, the workers and beat."""
    if sentinel:
        stack.start_sentinels()
    else:
        stack.start_redis(appendonly=True)
    stack.start_s3()
    stack.start_emulator("--preset", "calm")
    low, high = plan.processing_s
    configure_emulator(stack, {"processing": {"min_s": low, "max_s": high}})
    for n in range(plan.workers):
        stack.start_worker(ALL_QUEUES, plan.concurrency, f"fo{n}", env=worker_env())
    stack.start_beat(**worker_env())


def run_in(stack: Stack, plan: FailoverPlan, mode: str, sentinel: bool) -> FailoverFigures:
    """One run on a fresh ``stack``: dispatch, disrupt (unless ``mode`` is a bench), finish."""
    start(stack, plan, sentinel)
    producer = Producer.of(stack)
    counter = redis_client(producer.settings)
    batch = f"{mode}-{uuid.uuid4().hex[:8]}"
    jobs = make_jobs(batch, source_urls(stack, plan.jobs))
    before = command_calls(counter)
    started = time.monotonic()
    notes: list[str] = []

    def log(message: str) -> None:
        notes.append(f"t={time.monotonic() - started:.1f}s {message}")

    producer.ledger.add(jobs)
    dispatch_jobs(producer.app, jobs)
    deadline = started + plan.give_up_s
    gap = 0.0
    if mode in DISRUPTIONS:
        wait_until(producer, batch, max(1, int(plan.disrupt_at * plan.jobs)), deadline)
        gap = DISRUPTIONS[mode](stack, plan, log)
    wait_until(producer, batch, plan.jobs, deadline)
    seconds = time.monotonic() - started
    after = command_calls(counter)
    found = producer.ledger.get_many([job.id for job in jobs])
    figures = tally(jobs, found, emulator_stats(stack), 0, Tally(), seconds)
    return FailoverFigures(
        mode=mode,
        figures=figures,
        workers_alive=sum(1 for worker in stack.workers if worker.alive),
        workers=plan.workers,
        beat_alive=stack.beat is not None and stack.beat.alive,
        disruption_s=gap,
        redis_commands=after[0] - before[0],
        waits=after[1] - before[1],
        notes=notes,
    )


def run(mode: str, plan: FailoverPlan, sentinel: bool, keep: bool = False) -> FailoverFigures:
    """``mode`` on its own stack (always stopped)."""
    with bench_stack(f"failover-{mode}", keep=keep) as stack:
        return run_in(stack, plan, mode, sentinel)


def bench(plan: FailoverPlan) -> dict[str, Any]:
    """The undisturbed batch on a Sentinel set and on one Redis: the JSON line's figures."""
    single = run("bench-single", plan, sentinel=False).as_json()
    sentinel = run("bench-sentinel", plan, sentinel=True).as_json()
    return {
        "bench": "failover.cost",
        "jobs": plan.jobs,
        "single_jobs_per_s": single["jobs_per_s"],
        "sentinel_jobs_per_s": sentinel["jobs_per_s"],
        "ratio_sentinel_to_single": round(sentinel["jobs_per_s"] / single["jobs_per_s"], 2),
        "single_redis_commands_per_job": single["redis_commands_per_job"],
        "sentinel_redis_commands_per_job": sentinel["redis_commands_per_job"],
        "sentinel_waits_per_job": sentinel["waits_per_job"],
        "ok": single["ok"] and sentinel["ok"],
    }


def _durable_writes(ledger: Ledger, jobs: Sequence[Job], durable: bool) -> float:
    """Seconds for each job's costly writes: claim, remote id, and STORED (via the states
    between, which are not durable)."""
    now = datetime.now(UTC)
    ledger.add(jobs)
    started = time.perf_counter()
    for job in jobs:
        current: Job | str | None = job
        for to, costly in PATH:
            current = ledger.transition(current or job.id, to, expect=set(JobState), now=now,
                                        durable=durable and costly)  # fmt: skip
    return time.perf_counter() - started


def wait_cost(jobs: int = 500) -> dict[str, Any]:
    """What WAIT adds per job on a Sentinel set (primary + one replica on loopback): the same
    three ledger writes per job with and without it, in the same run."""
    with bench_stack("failover-wait") as stack:
        cluster = stack.start_sentinels()
        settings = Settings(redis_url=cluster.url)
        ledger = Ledger(redis_client(settings), 3600, Replicas(1, 1000))
        plain = _durable_writes(ledger, make_jobs("plain", ["u"] * jobs), durable=False)
        waited = _durable_writes(ledger, make_jobs("waited", ["u"] * jobs), durable=True)
    return {
        "bench": "failover.wait",
        "jobs": jobs,
        "ms_per_job_without_wait": round(1000 * plain / jobs, 3),
        "ms_per_job_with_wait": round(1000 * waited / jobs, 3),
        "wait_ms_per_job": round(1000 * (waited - plain) / jobs, 3),
        "ratio": round(waited / plain, 2),
        "ok": True,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.failover")
    modes = ["sentinel", "outage", "bench", "wait"]
    parser.add_argument("--mode", choices=modes, default="sentinel")
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--outage", type=float, default=90.0, help="seconds Redis is down")
    parser.add_argument("--give-up", type=float, default=600.0, help="seconds before giving up")
    parser.add_argument("--keep", action="store_true", help="keep the service logs")
    args = parser.parse_args(argv)
    plan = FailoverPlan(jobs=args.jobs, outage_s=args.outage, give_up_s=args.give_up)
    if args.mode == "bench":
        line = bench(plan)
    elif args.mode == "wait":
        line = wait_cost(args.jobs)
    else:
        line = run(args.mode, plan, sentinel=args.mode == "sentinel", keep=args.keep).as_json()
    print(json.dumps(line))
    sys.exit(0 if line["ok"] else 1)


if __name__ == "__main__":
    main()
