"""Actions through the pages: re-run a stored job with an edited prompt (a new paid try, its
cost in the confirmation), cancel a queued job, retry a batch's failures; and /metrics."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
import redis

from jobs.failures import FailureKind
from jobs.ledger import Ledger
from jobs.states import JobState
from pipeline import detection
from storage.objects import StoredObject

from .conftest import Served, make_jobs

JSON = {"Accept": "application/json"}


def _csrf(client: httpx.Client, path: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', client.get(path).text)
    assert found is not None
    return found.group(1)


def test_rerun_makes_a_new_job_with_the_edited_prompt_and_shows_its_cost(served: Served) -> None:
    ledger = Ledger(redis.Redis.from_url(served.settings.redis_url))
    output = StoredObject(bucket="b", key="k.mp4", size=10, sha256="0" * 64,
                            content_type="video/mp4")  # fmt: skip
    (stored,) = make_jobs("rr", 1, "https://example.com/a.mp4", state=JobState.STORED,
                          output=output, remote_id="r1")  # fmt: skip
    ledger.add([stored])
    with served.client() as client:
        page = client.get(f"/jobs/{stored.id}").text
        assert "new paid try: about $0.50" in page
        token = _csrf(client, f"/jobs/{stored.id}")
        answer = client.post(f"/jobs/{stored.id}/rerun", headers=JSON,
                             data={"csrf": token, "prompt": "make it autumn"})  # fmt: skip
        again = client.post(f"/jobs/{stored.id}/rerun", headers=JSON,
                            data={"csrf": token, "prompt": "make it spring"})  # fmt: skip
    assert answer.status_code == 200 and "clip-00000.rerun1" in answer.json()["message"]
    assert "clip-00000.rerun2" in again.json()["message"]
    jobs = {job.item: job for job in ledger.get_many(ledger.batch_ids("rr"))}
    assert jobs["clip-00000.rerun1"].request.prompt == "make it autumn"
    assert jobs["clip-00000.rerun1"].state is JobState.QUEUED
    assert jobs["clip-00000"].state is JobState.STORED
    assert served.published.dispatched == [jobs["clip-00000.rerun1"].id,
                                           jobs["clip-00000.rerun2"].id]  # fmt: skip


def test_cancel_a_queued_job_and_retry_a_batch(served: Served) -> None:
    ledger = Ledger(redis.Redis.from_url(served.settings.redis_url))
    jobs = make_jobs("cx", 4, "https://example.com/a.mp4")
    ledger.add(jobs)
    now = datetime.now(UTC)
    for job in jobs[2:]:
        ledger.transition(job.id, JobState.FAILED, expect={JobState.QUEUED}, now=now,
                          failure_kind=FailureKind.GENERATION)  # fmt: skip
    with served.client() as client:
        token = _csrf(client, "/batches/cx")
        cancel = client.post(f"/jobs/{jobs[0].id}/cancel", data={"csrf": token}, headers=JSON)
        retry = client.post("/batches/cx/retry", data={"csrf": token}, headers=JSON)
        metrics = client.get("/metrics").text
    assert "cancelled before submission" in cancel.json()["message"]
    assert retry.json()["message"] == "requeued 2 of 2 job(s) in cx"
    states = [job.state for job in ledger.get_many([job.id for job in jobs])]
    assert states == [JobState.CANCELLED, JobState.QUEUED, JobState.QUEUED, JobState.QUEUED]
    assert sorted(served.published.dispatched) == sorted(job.id for job in jobs[2:])
    assert re.search(r'restyle_jobs\{provider="runway",state="CANCELLED"\} 1\.0', metrics)


def test_the_detection_histogram_reaches_metrics(served: Served) -> None:
    client = redis.Redis.from_url(served.settings.redis_url)
    for seconds in (0.2, 0.8, 0.8, 7.0, 400.0):
        detection.record(client, "segmind", seconds)
    assert detection.bucket_of(1.0) == "1.0" and detection.bucket_of(301) == "+Inf"
    with served.client() as http:
        text = http.get("/metrics").text
    name = "restyle_poll_detection_delay_seconds"
    assert f'{name}_bucket{{le="1.0",provider="segmind"}} 3.0' in text
    assert f'{name}_bucket{{le="+Inf",provider="segmind"}} 5.0' in text
    assert f'{name}_count{{provider="segmind"}} 5.0' in text
