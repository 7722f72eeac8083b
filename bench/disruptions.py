"""The chaos run's disruptions, on a timeline measured from the batch's dispatch.

A `Disruptor` thread SIGKILLs a random worker every ``kill_every_s`` and starts a new one with
the same name, restarts Redis once (same port and data directory, AOF on), takes S3 down for
``s3_down_s`` by switching off the `TcpProxy` the workers reach it through, and opens one
provider maintenance window at the emulator. It also restarts celery beat or a worker that
died on its own, as a process supervisor would, and counts it.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from devstack import Stack
from devstack.proxy import TcpProxy


@dataclass(frozen=True)
class ChaosPlan:
    """Sizes and timings of one chaos run (seconds from dispatch)."""

    jobs: int = 500
    workers: int = 3
    concurrency: int = 3
    kill_every_s: float = 15.0
    maintenance_at_s: float = 10.0
    maintenance_s: float = 30.0
    s3_down_at_s: float = 30.0
    s3_down_s: float = 60.0
    redis_restart_at_s: float = 50.0
    redis_down_s: float = 5.0
    processing_s: tuple[float, float] = (1.0, 4.0)
    read_timeout_s: float = 5.0
    reconcile_every_s: float = 5.0
    give_up_s: float = 1500.0
    seed: int = 8
    honour_idempotency: bool = False  # the emulator's default, as every provider documents

    @classmethod
    def small(cls) -> ChaosPlan:
        """The version `make test` runs: 50 jobs, every disruption, shorter timings."""
        return cls(jobs=50, kill_every_s=10.0, maintenance_at_s=2.0, maintenance_s=5.0,
                   s3_down_at_s=4.0, s3_down_s=10.0, redis_restart_at_s=12.0, redis_down_s=2.0,
                   processing_s=(0.5, 2.0), reconcile_every_s=2.0, give_up_s=200.0)  # fmt: skip

    @property
    def last_event_s(self) -> float:
        """When the last one-off disruption is over."""
        return max(
            self.maintenance_at_s + self.maintenance_s,
            self.s3_down_at_s + self.s3_down_s,
            self.redis_restart_at_s + self.redis_down_s,
        )


@dataclass
class Tally:
    """What the disruptor did."""

    worker_kills: int = 0
    redis_restarts: int = 0
    s3_outages: int = 0
    maintenance_windows: int = 0
    beat_restarts: int = 0
    worker_deaths: int = 0
    log: list[tuple[float, str]] = field(default_factory=list)


class Disruptor:
    """Runs the plan's disruptions in a thread until `stop()`; `tally` says what happened."""

    def __init__(
        self,
        plan: ChaosPlan,
        stack: Stack,
        proxy: TcpProxy,
        start_worker: Callable[[str], None],
        start_beat: Callable[[], object],
    ) -> None:
        self.plan, self.stack, self.proxy = plan, stack, proxy
        self.start_worker, self.start_beat = start_worker, start_beat
        self.tally = Tally()
        self._rng = random.Random(plan.seed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="disruptor", daemon=True)
        self._error: BaseException | None = None
        self._started = 0.0
        self._events = self._one_offs()

    def start(self) -> None:
        self._started = time.monotonic()
        self._thread.start()

    def stop(self) -> None:
        """Stop disrupting, bring every service back, and raise what the thread raised."""
        self._stop.set()
        self._thread.join()
        if not self.proxy.is_up:
            self.proxy.up()
        if self._error is not None:
            raise self._error

    @property
    def finished_one_offs(self) -> bool:
        """True once every one-off disruption has happened and ended."""
        return not self._events and self.proxy.is_up

    def elapsed(self) -> float:
        return time.monotonic() - self._started

    def _note(self, what: str) -> None:
        self.tally.log.append((round(self.elapsed(), 1), what))

    def _one_offs(self) -> list[tuple[float, Callable[[], None]]]:
        plan = self.plan
        events = [
            (plan.maintenance_at_s, self._maintenance),
            (plan.s3_down_at_s, self._s3_down),
            (plan.s3_down_at_s + plan.s3_down_s, self._s3_up),
            (plan.redis_restart_at_s, self._restart_redis),
        ]
        return sorted(events, key=lambda event: event[0])

    def _run(self) -> None:
        next_kill = self.plan.kill_every_s
        try:
            while not self._stop.wait(0.2):
                while self._events and self._events[0][0] <= self.elapsed():
                    self._events.pop(0)[1]()
                if self.elapsed() >= next_kill:
                    self._kill_one()
                    next_kill += self.plan.kill_every_s
                self._supervise()
        except BaseException as exc:  # re-raised by stop() in the main thread
            self._error = exc

    def _kill_one(self) -> None:
        victim = self._rng.choice(self.stack.workers)
        victim.kill()
        self.stack.workers.remove(victim)
        self.tally.worker_kills += 1
        self._note(f"SIGKILL {victim.name}")
        self.start_worker(victim.name.removeprefix("worker-"))

    def _supervise(self) -> None:
        for worker in [w for w in self.stack.workers if not w.alive]:
            self.stack.workers.remove(worker)
            self.tally.worker_deaths += 1
            self._note(f"{worker.name} died on its own; restarted")
            self.start_worker(worker.name.removeprefix("worker-"))
        if self.stack.beat is not None and not self.stack.beat.alive:
            self.tally.beat_restarts += 1
            self._note("beat died; restarted")
            self.start_beat()

    def _maintenance(self) -> None:
        assert self.stack.emulator is not None
        window = {"duration_s": self.plan.maintenance_s}
        httpx.post(f"{self.stack.emulator.url}/_emulator/inject/maintenance", json=window)
        self.tally.maintenance_windows += 1
        self._note(f"maintenance window of {self.plan.maintenance_s:.0f}s at every provider")

    def _s3_down(self) -> None:
        self.proxy.down()
        self.tally.s3_outages += 1
        self._note("S3 down")

    def _s3_up(self) -> None:
        self.proxy.up()
        self._note("S3 up")

    def _restart_redis(self) -> None:
        assert self.stack.redis is not None
        port = self.stack.redis.port
        self.stack.redis.stop()
        self._note("Redis stopped")
        time.sleep(self.plan.redis_down_s)
        self.stack.start_redis(appendonly=True, port=port)
        self.tally.redis_restarts += 1
        self._note("Redis started (AOF)")
