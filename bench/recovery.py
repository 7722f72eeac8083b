"""Crash recovery: SIGKILL the worker holding a job in SUBMITTING or ARCHIVING, or a clip in a cut
or a stitch, and time how long until the work moves again.

``python -m bench.recovery`` runs a fresh stack (Redis, moto, the emulator, beat, two step
workers and two media workers) and, for each state, waits until a worker holds the job's or
clip's liveness lease, SIGKILLs that whole worker (its main process and children, as a lost
host or an OOM kill of the pod would), and measures:

- ``redriven_s``: from the kill to the reconciler's re-drive (the lease marked lapsed);
- ``recovery_s``: from the kill to the work moving again (another worker holds it, or its state
  moved on).

The baseline is what the stall timers alone would give in the same run: the state's timer
(the submit grace, ``archive_stall_s``, ``media_stall_s``) counted from when the work was
claimed, less the time it had been held when it was killed, plus half a reconcile interval
(the reconciler's expected phase). It is computed from the run's own settings and timings: at
125-1800 s per state it is not worth waiting out. One JSON line; the goal is recovery within
15 s in every state.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psutil

from bench.rig import bench_stack, configure_emulator, provider_env
from config.redis import redis_client
from config.settings import ProviderName, Settings, load_settings
from devstack import Service, Stack
from jobs import redis_keys
from jobs.batches import BatchStore
from jobs.clips.record import ClipState, Continuity
from jobs.clips.store import ClipStore
from jobs.ledger import Ledger
from jobs.liveness.lease import LAPSED_FIELD, Holder
from jobs.liveness.store import Leases, clip_subject, job_subject
from jobs.states import JobState
from media.samples import make_av_clip
from producer.batch import SubmitOptions, enqueue_batch, plan_batch
from storage.s3 import ensure_bucket, s3_client

GOAL_S = 15.0
STEP_QUEUES = ("submit", "submit.interactive", "poll", "archive", "batch")
TICK_S = 0.02


class Run:
    """The stack, the producer side and the helpers every scenario uses."""

    def __init__(self, stack: Stack, settings: Settings) -> None:
        from workers.factory import create_app

        self.stack = stack
        self.settings = settings
        self.app = create_app(settings)
        self.client = redis_client(settings)
        self.ledger = Ledger(self.client)
        self.clips = ClipStore(self.client)
        self.leases = Leases(self.client)
        self.s3 = s3_client(settings)
        ensure_bucket(self.s3, settings.s3_bucket)
        self.short = make_av_clip(stack.workdir / "short.mp4", 4.0)
        self.long = make_av_clip(stack.workdir / "long.mp4", 14.0)
        self.count = 0

    def submit(self, provider: ProviderName, long: bool) -> tuple[str, str | None]:
        """Enqueue a 4 s (one job) or a 14 s source (a clip of 3 segments on segmind) on
        ``provider``: (the batch, the clip id when it is a clip)."""
        from tasks.messages import dispatch_clips, dispatch_jobs

        self.count += 1
        batch = f"recovery-{self.count}"
        options = SubmitOptions(prompt="make it winter", provider=provider, batch=batch,
                                continuity=Continuity.NONE)  # fmt: skip
        now = datetime.now(UTC)
        plan = plan_batch(
            str(self.long if long else self.short), options, self.settings, now, s3=self.s3
        )
        result = enqueue_batch(
            plan,
            self.ledger,
            BatchStore(self.client),
            lambda jobs: dispatch_jobs(self.app, jobs),
            now,
            dispatch_clips=lambda clips: dispatch_clips(self.app, clips),
        )
        clips = ClipStore(self.client).batch_ids(batch) if result.clips else []
        return batch, (clips[0] if clips else None)

    def wait_holder(self, subject: Callable[[], str | None], timeout_s: float) -> tuple[str, str]:
        """(subject, token) once a live worker holds the lease of ``subject()``."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            name = subject()
            if name is not None:
                view = self.leases.view(name)
                live = [t for t, end in view.fields.items()
                        if t != LAPSED_FIELD and end > view.now_ms]  # fmt: skip
                if live:
                    return name, live[0]
            time.sleep(TICK_S)
        raise TimeoutError("no worker took the lease")

    def kill_holder(self, token: str) -> Service:
        """SIGKILL the whole worker whose process holds ``token``; return it."""
        pid = int(token.split(":")[-2])
        for worker in self.stack.workers:
            if worker.process is None or not worker.alive:
                continue  # one killed earlier
            family = psutil.Process(worker.process.pid).children(recursive=True)
            if pid == worker.process.pid or pid in {child.pid for child in family}:
                worker.kill()
                return worker
        raise RuntimeError(f"no worker holds {token}")

    def time_recovery(self, subject: str, dead: str, timeout_s: float) -> tuple[float, float]:
        """(redriven_s, recovery_s) measured from now, the kill."""
        killed = time.monotonic()
        redriven: float | None = None
        while time.monotonic() - killed < timeout_s:
            view = self.leases.view(subject)
            if redriven is None and dead not in view.fields:
                redriven = time.monotonic() - killed
            others_live = view.holder is Holder.LIVE and dead not in view.fields
            if others_live or not view.fields:
                moved = time.monotonic() - killed
                return redriven if redriven is not None else moved, moved
            time.sleep(TICK_S)
        raise TimeoutError(f"{subject} did not move within {timeout_s:.0f} s of the kill")

    def replace(self, worker: Service) -> None:
        """Start a worker like the killed one, in the background (the other one carries on)."""
        media = "media" in worker.name
        queues = ("media",) if media else STEP_QUEUES
        name = f"{worker.name.removeprefix('worker-')}r{self.count}"
        threading.Thread(
            target=self.stack.start_worker, args=(queues, 1 if media else 2, name), daemon=True
        ).start()


def held_s(updated_at: datetime) -> float:
    return max(time.time() - updated_at.timestamp(), 0.0)


def job_scenario(run: Run, state: JobState) -> dict[str, Any]:
    """Kill the worker holding a one-window Runway job in ``state``."""
    if state is JobState.SUBMITTING:
        slow = {"slow": 1.0, "slow_s": 30.0}
        configure_emulator(run.stack, {"providers": {"runway": {"faults": slow}}})
    else:
        configure_emulator(run.stack, {"output_padding_bytes": 150_000_000})
    batch, _ = run.submit(ProviderName.RUNWAY, long=False)
    found: list[str] = []

    def subject() -> str | None:
        # The job (or, had the source become a clip, a segment job) once one is in ``state``.
        held = [job for job in run.ledger.get_many(run.ledger.batch_ids(batch))
                if job.state is state]  # fmt: skip
        if not held:
            return None
        found[:] = [held[0].id]
        return job_subject(held[0].id)

    name, token = run.wait_holder(subject, 120)
    job = run.ledger.get(found[0])
    assert job is not None
    worker = run.kill_holder(token)
    held = held_s(job.updated_at)
    redriven, moved = run.time_recovery(name, token, 120)
    configure_emulator(run.stack, {"providers": {"runway": {"faults": None}},
                                   "output_padding_bytes": 0})  # fmt: skip
    run.replace(worker)
    stall = {JobState.SUBMITTING: run.settings.http_submit_read_timeout_s + 5,
             JobState.ARCHIVING: run.settings.archive_stall_s}[state]  # fmt: skip
    return _figures(redriven, moved, stall - held + run.settings.reconcile_interval_s / 2)


def clip_scenario(run: Run, state: ClipState) -> dict[str, Any]:
    """Kill the media worker holding a segmind clip in a cut (CUTTING) or a stitch."""
    _, clip_id = run.submit(ProviderName.SEGMIND, long=True)
    assert clip_id is not None
    subject_name = clip_subject(clip_id)

    def subject() -> str | None:
        clip = run.clips.get(clip_id)
        if clip is None or clip.state is not state:
            return None
        return subject_name

    name, token = run.wait_holder(subject, 240)
    # The cut or stitch watched the clip until (its start + media_stall_s): the stall timer.
    due = run.client.zscore(redis_keys.clip_watch(), clip_id)
    worker = run.kill_holder(token)
    left = (due or time.time()) - time.time()
    redriven, moved = run.time_recovery(name, token, 120)
    run.replace(worker)
    return _figures(redriven, moved, left + run.settings.reconcile_interval_s / 2)


def _figures(redriven: float, moved: float, baseline: float) -> dict[str, Any]:
    return {
        "redriven_s": round(redriven, 2),
        "recovery_s": round(moved, 2),
        "baseline_s": round(baseline, 1),
        "ratio": round(moved / baseline, 4),
    }


def run(lease_s: float, sweep_s: float) -> dict[str, Any]:
    with bench_stack("recovery") as stack:
        stack.start_redis()
        stack.start_s3()
        stack.start_emulator("--preset", "calm", "--processing-time", "1")
        env = stack.env(
            RESTYLE_POLL_MAX_INTERVAL_S="1",
            RESTYLE_LIVENESS_LEASE_S=str(lease_s),
            RESTYLE_LIVENESS_SWEEP_S=str(sweep_s),
            RESTYLE_LOG_LEVEL="INFO",
            **provider_env(TYPICAL_DURATION_S="1"),
        )
        os.environ.update(env)
        stack.start_beat()
        for name in ("steps1", "steps2"):
            stack.start_worker(STEP_QUEUES, concurrency=2, name=name)
        for name in ("media1", "media2"):
            stack.start_worker(("media",), concurrency=1, name=name)
        bench = Run(stack, load_settings())
        states: dict[str, Any] = {}
        for job_state in (JobState.SUBMITTING, JobState.ARCHIVING):
            states[job_state.value] = job_scenario(bench, job_state)
            print(job_state.value, states[job_state.value], file=sys.stderr)
        for clip_state in (ClipState.CUTTING, ClipState.STITCHING):
            states[clip_state.value] = clip_scenario(bench, clip_state)
            print(clip_state.value, states[clip_state.value], file=sys.stderr)
        worst = max(figures["recovery_s"] for figures in states.values())
        return {
            "bench": "recovery",
            "lease_s": lease_s,
            "sweep_s": sweep_s,
            "states": states,
            "max_recovery_s": worst,
            "goal_s": GOAL_S,
            "met": worst <= GOAL_S,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lease-s", type=float, default=8.0)
    parser.add_argument("--sweep-s", type=float, default=3.0)
    args = parser.parse_args()
    print(json.dumps(run(args.lease_s, args.sweep_s)))


if __name__ == "__main__":
    main()
