"""The job ledger against a real Redis: CAS transitions, expiry, indexes and idempotent adds."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

import pytest
import redis

from jobs import redis_keys
from jobs.ledger import IllegalTransition, JobNotFound, Ledger
from jobs.models import MAX_EVENTS, Job
from jobs.scripts import lua_source
from jobs.states import JobState

from .conftest import CountingRedis
from .ledger_reads import count_by_state, ids_in_state

Q, SUBMITTING, SUBMITTED = JobState.QUEUED, JobState.SUBMITTING, JobState.SUBMITTED

NewJob = Callable[..., Job]
Moment = Callable[[float], datetime]


def test_add_is_idempotent_per_job_id_and_leaves_the_existing_job_untouched(
    ledger: Ledger, new_job: NewJob, moment: Moment
) -> None:
    first, second = new_job(item="a"), new_job(item="b")
    assert ledger.add([first, second]) == [True, True]
    ledger.transition(first.id, SUBMITTING, expect={Q}, now=moment(1))

    again = ledger.add([first, second, new_job(item="c")])

    assert again == [False, False, True]
    assert ledger.require(first.id).state is SUBMITTING
    assert ledger.batch_counts("b1")[Q] == 2
    assert ledger.batch_ids("b1") == sorted(new_job(item=i).id for i in "abc")


def test_get_returns_the_job_as_added_and_none_for_an_unknown_id(
    ledger: Ledger, new_job: NewJob
) -> None:
    job = new_job()
    ledger.add([job])

    assert ledger.get(job.id) == job
    assert ledger.get("nope") is None
    with pytest.raises(JobNotFound, match="nope"):
        ledger.require("nope")


def test_get_many_keeps_the_order_asked_and_skips_missing_ids(
    ledger: Ledger, new_job: NewJob
) -> None:
    jobs = [new_job(item=f"i{n}") for n in range(5)]
    ledger.add(jobs)

    found = ledger.get_many([jobs[3].id, "missing", jobs[0].id])

    assert [job.id for job in found] == [jobs[3].id, jobs[0].id]


def test_transition_applies_changes_bumps_version_and_records_an_event(
    ledger: Ledger, new_job: NewJob, moment: Moment
) -> None:
    job = new_job()
    ledger.add([job])

    moved = ledger.transition(job.id, SUBMITTING, expect={Q}, now=moment(3),
                              detail="attempt 1", attempt=1, key_id="abc")  # fmt: skip

    assert moved is not None
    assert (moved.state, moved.version, moved.attempt, moved.key_id) == (SUBMITTING, 1, 1, "abc")
    assert moved.updated_at == moment(3)
    assert [(e.state, e.detail) for e in moved.events] == [(SUBMITTING, "attempt 1")]
    assert ledger.require(job.id) == moved


def test_a_duplicate_transition_returns_none_and_changes_nothing(
    ledger: Ledger, new_job: NewJob, moment: Moment
) -> None:
    job = new_job()
    ledger.add([job])
    moved = ledger.transition(job.id, SUBMITTING, expect={Q}, now=moment(1), attempt=1)

    duplicate = ledger.transition(job.id, SUBMITTING, expect={Q}, now=moment(2), attempt=9)

    assert duplicate is None
    assert ledger.require(job.id) == moved


def test_a_transition_of_an_unknown_job_returns_none(ledger: Ledger, moment: Moment) -> None:
    assert ledger.transition("ghost", SUBMITTING, expect={Q}, now=moment(1)) is None


def test_an_illegal_transition_is_refused(ledger: Ledger, new_job: NewJob, moment: Moment) -> None:
    job = new_job()
    ledger.add([job])

    with pytest.raises(IllegalTransition, match="QUEUED -> STORED"):
        ledger.transition(job.id, JobState.STORED, expect={Q}, now=moment(1))
    assert ledger.require(job.id) == job


def test_a_change_to_an_unknown_or_fixed_field_is_refused(
    ledger: Ledger, new_job: NewJob, moment: Moment
) -> None:
    job = new_job()
    ledger.add([job])

    with pytest.raises(TypeError, match="colour"):
        ledger.transition(job.id, SUBMITTING, expect={Q}, now=moment(1), colour="red")
    with pytest.raises(TypeError, match="version"):
        ledger.update(job.id, expect=Q, now=moment(1), version=7)
    assert ledger.require(job.id) == job


def test_a_finished_job_gets_the_record_ttl_and_a_retried_one_loses_it(
    ledger: Ledger, redis_client: redis.Redis[bytes], new_job: NewJob, moment: Moment
) -> None:
    job = new_job()
    ledger.add([job])
    assert redis_client.ttl(redis_keys.job(job.id)) == -1

    ledger.transition(job.id, JobState.FAILED, expect={Q}, now=moment(1), failure_message="x")
    assert 3590 < redis_client.ttl(redis_keys.job(job.id)) <= 3600
    assert 3590 < redis_client.ttl(redis_keys.batch_counts("b1")) <= 3600

    ledger.transition(job.id, Q, expect={JobState.FAILED}, now=moment(2), detail="retry")
    assert redis_client.ttl(redis_keys.job(job.id)) == -1
    assert redis_client.ttl(redis_keys.batch_counts("b1")) == -1


def test_batch_indexes_expire_only_once_no_job_of_the_batch_is_unfinished(
    ledger: Ledger, redis_client: redis.Redis[bytes], new_job: NewJob, moment: Moment
) -> None:
    done, running = new_job(item="done"), new_job(item="running")
    ledger.add([done, running])

    ledger.transition(done.id, JobState.CANCELLED, expect={Q}, now=moment(1))

    assert redis_client.ttl(redis_keys.batch_jobs("b1")) == -1
    assert redis_client.ttl(redis_keys.batch_counts("b1")) == -1
    assert redis_client.ttl(redis_keys.job(running.id)) == -1


def test_update_changes_fields_in_place_without_an_event(
    ledger: Ledger, new_job: NewJob, moment: Moment
) -> None:
    job = new_job()
    ledger.add([job])
    ledger.transition(job.id, SUBMITTING, expect={Q}, now=moment(1))
    ledger.transition(job.id, SUBMITTED, expect={SUBMITTING}, now=moment(2), remote_id="r1")

    polled = ledger.update(job.id, expect=SUBMITTED, now=moment(30), polls=1,
                           last_poll_at=moment(30), progress=0.4)  # fmt: skip

    assert polled is not None
    assert (polled.polls, polled.progress, polled.version) == (1, 0.4, 3)
    assert len(polled.events) == 2
    assert ledger.update(job.id, expect=SUBMITTING, now=moment(31), polls=2) is None
    assert ledger.require(job.id) == polled


def test_events_keep_only_the_latest_twenty(
    ledger: Ledger, new_job: NewJob, moment: Moment
) -> None:
    job = new_job()
    ledger.add([job])
    ledger.transition(job.id, SUBMITTING, expect={Q}, now=moment(0))

    for n in range(1, 30):
        ledger.transition(job.id, SUBMITTING, expect={SUBMITTING}, now=moment(n), detail=str(n))

    events = ledger.require(job.id).events
    assert len(events) == MAX_EVENTS
    assert events[-1].detail == "29"
    assert events[0].detail == str(30 - MAX_EVENTS)


def test_racing_transitions_let_exactly_one_writer_win(
    ledger: Ledger, new_job: NewJob, moment: Moment
) -> None:
    job = new_job()
    ledger.add([job])
    winners: list[Job] = []
    start = threading.Barrier(8)

    def claim(worker: int) -> None:
        start.wait()
        moved = ledger.transition(job.id, SUBMITTING, expect={Q, JobState.RETRY_WAIT},
                                  now=moment(1), key_id=f"worker-{worker}")  # fmt: skip
        if moved is not None:
            winners.append(moved)

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(winners) == 1
    assert ledger.require(job.id) == winners[0]
    assert ledger.batch_counts("b1")[SUBMITTING] == 1


def test_racing_re_attempts_of_one_submitting_job_let_exactly_one_start_a_try(
    ledger: Ledger, new_job: NewJob, moment: Moment
) -> None:
    # SUBMITTING -> SUBMITTING leaves the state as it was, so only the attempt tells the
    # racers apart: each decided on attempt 1 from its own copy of the job.
    job = new_job()
    ledger.add([job])
    on_attempt_1 = ledger.transition(job.id, SUBMITTING, expect={Q}, now=moment(1), attempt=1)
    assert on_attempt_1 is not None
    winners: list[Job] = []
    start = threading.Barrier(8)

    def re_attempt(worker: int) -> None:
        start.wait()
        moved = ledger.transition(
            on_attempt_1,
            SUBMITTING,
            expect={SUBMITTING},
            expect_attempt=on_attempt_1.attempt,
            now=moment(2),
            attempt=on_attempt_1.attempt + 1,
            detail=f"worker-{worker}",
        )
        if moved is not None:
            winners.append(moved)

    threads = [threading.Thread(target=re_attempt, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(winners) == 1
    assert ledger.require(job.id) == winners[0]
    assert winners[0].attempt == 2


def test_a_re_attempt_decided_on_an_older_attempt_is_a_no_op(
    ledger: Ledger, new_job: NewJob, moment: Moment
) -> None:
    job = new_job()
    ledger.add([job])
    first = ledger.transition(job.id, SUBMITTING, expect={Q}, now=moment(1), attempt=1)
    assert first is not None
    ledger.transition(first, SUBMITTING, expect={SUBMITTING}, expect_attempt=1, now=moment(2),
                      attempt=2)  # fmt: skip

    late = ledger.transition(first, SUBMITTING, expect={SUBMITTING}, expect_attempt=1,
                             now=moment(3), attempt=2)  # fmt: skip

    assert late is None
    assert ledger.require(job.id).version == first.version + 1


def test_racing_updates_all_land_because_version_races_are_retried(
    ledger: Ledger, new_job: NewJob, moment: Moment
) -> None:
    job = new_job()
    ledger.add([job])
    start = threading.Barrier(6)

    def bump() -> None:
        start.wait()
        for _ in range(5):
            current = ledger.require(job.id)
            ledger.update(job.id, expect=Q, now=moment(1), polls=current.polls + 1)

    threads = [threading.Thread(target=bump) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert ledger.require(job.id).version == 30


def test_state_indexes_and_counts_follow_every_move(
    ledger: Ledger, new_job: NewJob, moment: Moment
) -> None:
    jobs = [new_job(item=f"i{n}") for n in range(4)]
    other = new_job(batch="b2", item="x")
    ledger.add([*jobs, other])
    ledger.transition(jobs[0].id, SUBMITTING, expect={Q}, now=moment(1))
    ledger.transition(jobs[1].id, SUBMITTING, expect={Q}, now=moment(1))
    ledger.transition(jobs[1].id, SUBMITTED, expect={SUBMITTING}, now=moment(2))

    counts = count_by_state(ledger)
    assert (counts[Q], counts[SUBMITTING], counts[SUBMITTED]) == (3, 1, 1)
    assert sum(counts.values()) == 5
    assert sorted(ids_in_state(ledger, Q)) == sorted([jobs[2].id, jobs[3].id, other.id])
    batch = ledger.batch_counts("b1")
    assert (batch[Q], batch[SUBMITTING], batch[SUBMITTED], batch[JobState.STORED]) == (2, 1, 1, 0)
    assert ledger.batch_counts("b2")[Q] == 1
    assert ledger.batches() == ["b1", "b2"]


def test_stale_finds_jobs_whose_last_change_in_a_state_is_older_than_asked(
    ledger: Ledger, new_job: NewJob, moment: Moment
) -> None:
    old, fresh, polled = (new_job(item=name) for name in ("old", "fresh", "polled"))
    ledger.add([old, fresh, polled])
    for job, when in ((old, 10), (fresh, 100), (polled, 10)):
        ledger.transition(job.id, SUBMITTING, expect={Q}, now=moment(when))
        ledger.transition(job.id, SUBMITTED, expect={SUBMITTING}, now=moment(when))
    ledger.update(polled.id, expect=SUBMITTED, now=moment(90), polls=1)

    assert ledger.stale(SUBMITTED, older_than=moment(60)) == [old.id]
    assert ledger.stale(SUBMITTED, older_than=moment(95)) == [old.id, polled.id]
    assert ledger.stale(SUBMITTED, older_than=moment(500), limit=2) == [old.id, polled.id]
    assert ledger.stale(SUBMITTING, older_than=moment(500)) == []


def test_batches_forgets_a_batch_whose_indexes_expired(
    ledger: Ledger, redis_client: redis.Redis[bytes], new_job: NewJob
) -> None:
    ledger.add([new_job(batch="gone"), new_job(batch="kept")])
    redis_client.delete(redis_keys.batch_counts("gone"))

    assert ledger.batches() == ["kept"]
    assert redis_client.zrange(redis_keys.batches(), 0, -1) == [b"kept"]


def test_the_stored_record_leaves_out_default_values(
    ledger: Ledger, redis_client: redis.Redis[bytes], new_job: NewJob
) -> None:
    job = new_job()
    ledger.add([job])

    stored = redis_client.hget(redis_keys.job(job.id), "j")

    assert stored is not None
    assert b'"polls"' not in stored
    assert b'"remote_id"' not in stored
    assert len(stored) < 600


def test_a_move_from_the_callers_current_copy_reads_nothing_and_writes_the_same(
    counting_client: CountingRedis, new_job: NewJob, moment: Moment
) -> None:
    ledger = Ledger(counting_client, record_ttl_s=3600)
    counting_client.script_load(lua_source("ledger_move"))
    job = new_job()
    ledger.add([job])
    read = ledger.require(job.id)
    counting_client.sent.clear()

    claimed = ledger.transition(read, SUBMITTING, expect={Q}, now=moment(1), attempt=1)
    assert claimed is not None
    moved = ledger.transition(claimed, SUBMITTED, expect={SUBMITTING}, now=moment(2),
                              remote_id="r1")  # fmt: skip
    assert moved is not None
    polled = ledger.update(moved, expect=SUBMITTED, now=moment(3), polls=1)

    assert counting_client.sent == ["EVALSHA"] * 3
    assert polled is not None and ledger.require(job.id) == polled
    assert (polled.version, polled.attempt, polled.remote_id, polled.polls) == (3, 1, "r1", 1)
    assert [e.state for e in polled.events] == [SUBMITTING, SUBMITTED]


def test_a_move_from_a_stale_copy_reads_the_job_again_and_keeps_the_other_write(
    ledger: Ledger, new_job: NewJob, moment: Moment
) -> None:
    job = new_job()
    ledger.add([job])
    stale = ledger.require(job.id)
    ledger.update(job.id, expect=Q, now=moment(1), key_id="k1")  # another worker, meanwhile

    moved = ledger.transition(stale, SUBMITTING, expect={Q}, now=moment(2), attempt=1)

    assert moved is not None
    assert (moved.version, moved.key_id, moved.attempt) == (2, "k1", 1)
    assert ledger.require(job.id) == moved


def test_a_stale_copy_in_an_unexpected_state_still_finds_the_job_where_it_is_now(
    ledger: Ledger, new_job: NewJob, moment: Moment
) -> None:
    job = new_job()
    ledger.add([job])
    stale = ledger.require(job.id)
    ledger.transition(job.id, SUBMITTING, expect={Q}, now=moment(1))

    moved = ledger.transition(stale, SUBMITTED, expect={SUBMITTING}, now=moment(2))
    updated = ledger.update(stale, expect=SUBMITTED, now=moment(3), polls=1)

    assert moved is not None and moved.state is SUBMITTED
    assert updated is not None and ledger.require(job.id) == updated
    assert ledger.transition(stale, SUBMITTING, expect={Q}, now=moment(4)) is None
    with pytest.raises(IllegalTransition, match="SUBMITTED -> QUEUED"):
        ledger.transition(stale, Q, expect={SUBMITTED}, now=moment(5))
