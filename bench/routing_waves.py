"""Where a pool run's time goes, from the emulator's clock and the ledger's (pure).

Each provider key runs its jobs in waves: a slot frees when the emulator finishes a remote job
(``finished_at``), restyle sees it at the poll that finds it ended (``remote_completed_at``),
and the next job's submit reaches the emulator on the freed slot (``created_at``). So per slot
turnover:

- ``detection``: the remote job's end to the poll that saw it;
- ``handoff``: that poll to the next remote job created on the key, in two parts: ``queue_hop``
  (the poll to the start of the waiting job's submit step) and ``submit`` (that step's routing,
  claim and POST, to the remote job's creation);
- ``slot_gap``: the remote job's end to the next one's start on the key (the two above).

Turnovers are paired per key in order: the i-th end (or detection) frees the slot that the
(i + concurrency)-th remote job of the key takes. Both clocks are the machine's wall clock.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from bench.rig import percentile
from jobs.models import Job
from jobs.states import JobState


def _spread(values: Sequence[float]) -> dict[str, float]:
    return {
        "p50": round(percentile(values, 0.5), 3),
        "p95": round(percentile(values, 0.95), 3),
        "max": round(max(values, default=0.0), 3),
    }


def event_at(job: Job, state: JobState) -> float | None:
    """When ``job`` last entered ``state`` (unix seconds), from its events."""
    times = [event.at.timestamp() for event in job.events if event.state is state]
    return max(times, default=None)


def waves(
    jobs: Sequence[Job], remote: Mapping[str, Mapping[str, Any]], concurrency: int, started: float
) -> dict[str, Any]:
    """Detection, hand-off and slot gaps of a run whose dispatch was at ``started`` (unix s).

    ``remote``: the emulator's jobs by idempotency key (`/_emulator/jobs`).
    """
    detections: list[float] = []
    per_key: dict[str, list[tuple[float, float, float, float]]] = defaultdict(list)
    stored: list[float] = []
    for job in jobs:
        twin = remote.get(job.client_request_id or "")
        if twin is None or twin.get("finished_at") is None or job.remote_completed_at is None:
            continue
        seen = job.remote_completed_at.timestamp()
        detections.append(seen - twin["finished_at"])
        claimed = event_at(job, JobState.SUBMITTING) or twin["created_at"]
        per_key[twin["key_id"]].append((twin["created_at"], twin["finished_at"], seen, claimed))
        stored.append(event_at(job, JobState.STORED) or seen)
    handoffs: list[float] = []
    gaps: list[float] = []
    hops: list[float] = []
    posts: list[float] = []
    first_wave: list[float] = []
    for runs in per_key.values():
        runs.sort()
        created = [run[0] for run in runs]
        claimed = [run[3] for run in runs]
        ended = sorted(run[1] for run in runs)
        noticed = sorted(run[2] for run in runs)
        first_wave += [at - started for at in created[:concurrency]]
        for n in range(concurrency, len(created)):
            handoffs.append(created[n] - noticed[n - concurrency])
            gaps.append(created[n] - ended[n - concurrency])
            hops.append(claimed[n] - noticed[n - concurrency])
            posts.append(created[n] - claimed[n])
    last_end = max((run[1] for runs in per_key.values() for run in runs), default=started)
    return {
        "detection_lag_s": _spread(detections),
        "handoff_s": _spread(handoffs),
        "queue_hop_s": _spread(hops),
        "submit_s": _spread(posts),
        "slot_gap_s": _spread(gaps),
        "first_wave_submitted_s": round(max(first_wave, default=0.0), 3),
        "tail_s": round(max(stored, default=last_end) - last_end, 3),
    }
