"""crun callbacks: a forged token is a 404 that changes nothing, a replay changes nothing, a
true one wakes the job's poll, and a job whose submit answer was lost gets its remote id, only
when crun confirms the task is the job's own (its key, its callback URL)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

import redis

from config.settings import ProviderName, Settings, key_id
from jobs import redis_keys
from jobs.ledger import Ledger
from jobs.models import Job
from jobs.states import JobState
from pipeline.callbacks import callback_url, has_callback, job_of_token, register, with_callback
from pipeline.context import Context
from providers.crun import CrunAdapter

from .conftest import Served, make_jobs


def _crun_key(settings: Settings) -> str:
    return key_id(settings.crun.api_keys[0])


def _submitted(ledger: Ledger, job: Job, remote_id: str | None, key: str = "k1") -> Job:
    now = datetime.now(UTC)
    moved = ledger.transition(job.id, JobState.SUBMITTING, expect={JobState.QUEUED}, now=now,
                              key_id=key, attempt=1)  # fmt: skip
    assert moved is not None
    if remote_id is None:
        return moved
    done = ledger.transition(moved, JobState.SUBMITTED, expect={JobState.SUBMITTING}, now=now,
                             remote_id=remote_id, submitted_at=now)  # fmt: skip
    assert done is not None
    return done


def _body(task_id: str) -> bytes:
    result = {"code": 200, "media_urls": ["https://x/o.mp4"]}
    return json.dumps({"task_id": task_id, "status": "success", "result": result}).encode()


def _setup(served: Served, remote_id: str | None, item: int = 1) -> tuple[Ledger, Job, str]:
    client = redis.Redis.from_url(served.settings.redis_url)
    ledger = Ledger(client)
    job = make_jobs("cb", 4, "https://example.com/a.mp4")[item]
    assert job.provider is ProviderName.CRUN
    assert ledger.add([job]) == [True]
    job = _submitted(ledger, job, remote_id, _crun_key(served.settings))
    return ledger, job, register(client, job.id, 3600)


def _created_task(served: Served, job: Job, token: str | None, key: str | None = None) -> str:
    """A real crun task in the emulator, created with ``key`` (the job's) and the callback URL
    of ``token`` (none: created without one), as a lost POST of that job would have."""
    ctx = Context.from_settings(served.settings)
    adapter = ctx.adapter(ProviderName.CRUN, key or _crun_key(served.settings))
    assert isinstance(adapter, CrunAdapter)
    bound = copy.copy(adapter)
    assert served.settings.public_url is not None
    bound.callback_url = callback_url(served.settings.public_url, token) if token else None
    return bound.submit(job.request, f"cid-{job.id}").remote_id


def test_the_token_is_stored_hashed_and_checked(served: Served) -> None:
    ledger, job, token = _setup(served, "task-1")
    stored = ledger.client.hgetall(redis_keys.callback(job.id))
    assert token.split(".")[1].encode() not in b"".join(stored.values())
    assert job_of_token(ledger.client, token) == job.id
    assert job_of_token(ledger.client, token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert job_of_token(ledger.client, "not-a-token") is None


def test_a_forged_token_gets_404_and_changes_nothing(served: Served) -> None:
    ledger, job, _ = _setup(served, "task-1")
    forged = f"{job.id}.{'x' * 32}"
    with served.client(auth=False) as client:
        answers = [client.post(f"/callbacks/crun/{t}", content=_body("task-1")).status_code
                   for t in (forged, "garbage", f"{'0' * 24}.{'y' * 32}")]  # fmt: skip
    assert answers == [404, 404, 404]
    assert ledger.require(job.id) == job
    assert served.published.polls == []


def test_a_callback_wakes_the_poll_once_and_a_replay_changes_nothing(served: Served) -> None:
    ledger, job, token = _setup(served, "task-1")
    with served.client(auth=False) as client:
        first = client.post(f"/callbacks/crun/{token}", content=_body("task-1"))
        after_first = ledger.require(job.id)
        replay = client.post(f"/callbacks/crun/{token}", content=_body("task-1"))
    assert first.json() == {"outcome": "woken"} and replay.json() == {"outcome": "duplicate"}
    # Woken, not finished: the body is never taken as the result, the poll decides.
    assert after_first.state is JobState.SUBMITTED and after_first.output_urls == ()
    assert ledger.require(job.id) == after_first
    assert served.published.polls == [job.id]


def test_a_callback_for_another_remote_job_wakes_nothing(served: Served) -> None:
    ledger, job, token = _setup(served, "task-1")
    with served.client(auth=False) as client:
        answer = client.post(f"/callbacks/crun/{token}", content=_body("task-OTHER"))
    assert answer.json() == {"outcome": "ignored"}
    assert ledger.require(job.id) == job and served.published.polls == []


def test_an_ambiguous_submit_adopts_the_announced_remote_job(served: Served) -> None:
    ledger, job, token = _setup(served, None)
    task = _created_task(served, job, token)
    with served.client(auth=False) as client:
        answer = client.post(f"/callbacks/crun/{token}", content=_body(task))
    assert answer.json() == {"outcome": "recorded"}
    found = ledger.require(job.id)
    # Submitted after all: polled from now on, never sent a second time.
    assert found.state is JobState.SUBMITTED and found.remote_id == task
    assert served.published.polls == [job.id]


def test_a_forged_callback_naming_another_jobs_task_is_refused(served: Served) -> None:
    ledger, job, token = _setup(served, None, item=1)
    _, other, other_token = _setup(served, "unused", item=3)
    # Another batch's task (same key, its own callback URL), and one with no callback at all.
    theirs = _created_task(served, other, other_token)
    bare = _created_task(served, other, None)
    with served.client(auth=False) as client:
        answers = [
            client.post(f"/callbacks/crun/{token}", content=_body(task)).json()["outcome"]
            for task in (theirs, bare, "task-never-created")
        ]
    assert answers == ["refused", "refused", "refused"]
    assert ledger.require(job.id) == job and served.published.polls == []


def test_a_job_waiting_to_resend_after_a_lost_answer_adopts_the_announced_job(
    served: Served,
) -> None:
    ledger, job, token = _setup(served, None)
    task = _created_task(served, job, token)
    waiting = ledger.transition(job, JobState.RETRY_WAIT, expect={JobState.SUBMITTING},
                                now=datetime.now(UTC), answer_lost=True)  # fmt: skip
    assert waiting is not None
    with served.client(auth=False) as client:
        answer = client.post(f"/callbacks/crun/{token}", content=_body(task))
    assert answer.json() == {"outcome": "recorded"}
    found = ledger.require(job.id)
    assert (found.state, found.remote_id, found.answer_lost) == (
        JobState.SUBMITTED,
        task,
        False,
    )


def test_a_token_dies_with_its_job(served: Served) -> None:
    ledger, job, token = _setup(served, "task-1")
    ended = ledger.transition(job, JobState.CANCELLED, expect={JobState.SUBMITTED},
                              now=datetime.now(UTC))  # fmt: skip
    assert ended is not None
    with served.client(auth=False) as client:
        answer = client.post(f"/callbacks/crun/{token}", content=_body("task-1"))
    assert answer.status_code == 404
    assert not ledger.client.exists(redis_keys.callback(job.id))


def test_altered_bodies_wake_one_poll_and_add_no_key(served: Served) -> None:
    ledger, job, token = _setup(served, "task-1")
    keys_before = ledger.client.dbsize()
    with served.client(auth=False) as client:
        outcomes = [
            client.post(f"/callbacks/crun/{token}", content=_body("task-1") + b" " * n).json()
            for n in range(40)
        ]
        deep = client.post(f"/callbacks/crun/{token}", content=b"[" * 20_000 + b"]" * 20_000)
    assert [o["outcome"] for o in outcomes] == ["woken"] + ["duplicate"] * 39
    assert served.published.polls == [job.id]
    assert ledger.client.dbsize() == keys_before
    assert ledger.client.hlen(redis_keys.callback(job.id)) == 2  # the token and one (task, status)
    assert deep.status_code == 400


def test_a_body_over_the_limit_is_refused(served: Served) -> None:
    ledger, job, token = _setup(served, "task-1")
    with served.client(auth=False) as client:
        answer = client.post(f"/callbacks/crun/{token}", content=b"x" * 70_000)
    assert answer.status_code == 413 and ledger.require(job.id) == job


def test_crun_submissions_carry_a_callback_url_only_with_a_public_url(
    settings: Settings, redis_client: redis.Redis
) -> None:
    (runway, crun) = make_jobs("cbu", 2, "https://example.com/a.mp4")
    plain = Context.from_settings(settings)
    public = Context.from_settings(settings.model_copy(update={"public_url": "https://r.example/"}))
    key = plain.key_ids(ProviderName.CRUN)[0]
    unbound = with_callback(plain, crun, plain.adapter(crun.provider, key))
    assert isinstance(unbound, CrunAdapter) and unbound.callback_url is None
    other = public.adapter(runway.provider, public.key_ids(ProviderName.RUNWAY)[0])
    assert with_callback(public, runway, other) is other
    bound = with_callback(public, crun, public.adapter(crun.provider, key))
    assert isinstance(bound, CrunAdapter) and bound.callback_url is not None
    url = bound.callback_url
    assert url.startswith(f"https://r.example/callbacks/crun/{crun.id}.")
    token = url.rpartition("/")[2]
    assert job_of_token(redis_client, token) == crun.id
    assert token.split(".")[1].encode() not in (
        redis_client.dump(redis_keys.callback(crun.id)) or b""
    )
    assert has_callback(redis_client, crun) and not has_callback(redis_client, runway)


def test_the_batches_page_streams_its_table(served: Served) -> None:
    _setup(served, "task-1")
    with served.client() as client, client.stream("GET", "/events") as events:
        assert events.headers["content-type"].startswith("text/event-stream")
        line = next(line for line in events.iter_lines() if line.startswith("data: "))
    html = json.loads(line.removeprefix("data: "))["html"]
    assert 'data-batch="cb"' in html and "SUBMITTED 1" in html
