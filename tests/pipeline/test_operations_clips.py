"""Retry, cancel and re-run (`pipeline.operations`) for clips, and which media step a stranded
clip needs, against a real Redis (no workers)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import redis

from config.settings import ProviderName, Settings
from jobs.clips.record import Clip, ClipState, SegmentRef, clip_id_for
from jobs.clips.store import ClipStore
from jobs.ledger import Ledger
from jobs.models import Job, segment_job_id
from jobs.request import EditRequest
from jobs.states import JobState
from pipeline.clips.reconciling import step_for
from pipeline.context import Context
from pipeline.decisions import ClipNext, ClipStep
from pipeline.operations.cancelling import cancel_batch
from pipeline.operations.clips import cancel_clips, reopen_clips
from pipeline.operations.rerunning import rerun_segment
from pipeline.operations.retrying import retry_one
from producer.tally import facts_of, rollup

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def new_clip(item: str, segments: int = 0) -> Clip:
    refs = tuple(
        SegmentRef(index=n, job_id=segment_job_id("b1", item, n), staged=f"s3://s/{n}", seconds=5)
        for n in range(1, segments + 1)
    )
    return Clip(
        id=clip_id_for("b1", item), batch="b1", item=item, provider=ProviderName.SEGMIND,
        request=EditRequest(video_url="https://cdn.example.com/a.mp4", prompt="snow"),
        source="s3://library/a.mp4", source_seconds=20, edit_seconds=20, planned_segments=4,
        segments=refs, created_at=T0, updated_at=T0,
    )  # fmt: skip


def segment(clip: Clip, index: int, state: JobState) -> Job:
    return Job(
        id=clip.segments[index - 1].job_id, batch="b1", item=clip.item,
        provider=ProviderName.SEGMIND, request=clip.request, state=state, clip_id=clip.id,
        segment=index, created_at=T0, updated_at=T0,
    )  # fmt: skip


@pytest.fixture
def store(redis_client: redis.Redis[bytes]) -> ClipStore:
    return ClipStore(redis_client)


def add_failed(store: ClipStore, clip: Clip) -> None:
    store.add([clip.model_copy(update={"segments": ()})])
    if clip.segments:
        store.move(clip.id, ClipState.EDITING, expect={ClipState.CUTTING}, now=at(1),
                   segments=clip.segments)  # fmt: skip
    store.move(clip.id, ClipState.FAILED, expect=set(ClipState), now=at(2),
               failure_message="segment 3 (segmind): moderation")  # fmt: skip


def test_retry_cuts_again_a_clip_that_failed_before_it_was_cut(store: ClipStore) -> None:
    clip = new_clip("uncut")
    add_failed(store, clip)

    steps = reopen_clips(store, [clip.id], at(3))

    assert steps == [ClipNext(ClipStep.CUT, clip.id)]
    assert (store.get(clip.id) or clip).state is ClipState.CUTTING


def test_retry_reopens_a_clip_with_failed_segments_and_forgets_its_stitch_claim(
    store: ClipStore, redis_client: redis.Redis[bytes]
) -> None:
    clip = new_clip("partial", 4)
    add_failed(store, clip)
    ledger = Ledger(redis_client)
    jobs = [segment(clip, n, JobState.ARCHIVING) for n in (1, 2, 4)]
    ledger.add(jobs)
    for job in jobs:
        ledger.transition(job.id, JobState.STORED, expect={JobState.ARCHIVING}, now=at(2))

    steps = reopen_clips(store, [clip.id], at(3))

    reopened = store.get(clip.id)
    assert steps == []  # the retried segment 3, once stored, claims the stitch
    assert reopened is not None and reopened.state is ClipState.EDITING
    assert reopened.failure_message is None
    assert not store.stitch_claimed(clip.id)


def test_retry_stitches_a_clip_whose_segments_are_all_stored(
    store: ClipStore, redis_client: redis.Redis[bytes]
) -> None:
    clip = new_clip("stitch-failed", 2)
    store.add([clip.model_copy(update={"segments": ()})])
    store.move(clip.id, ClipState.EDITING, expect={ClipState.CUTTING}, now=at(1),
               segments=clip.segments)  # fmt: skip
    ledger = Ledger(redis_client)
    jobs = [segment(clip, n, JobState.ARCHIVING) for n in (1, 2)]
    ledger.add(jobs)
    for job in jobs:
        ledger.transition(job.id, JobState.STORED, expect={JobState.ARCHIVING}, now=at(2))
    store.move(clip.id, ClipState.FAILED, expect={ClipState.EDITING}, now=at(3))

    assert reopen_clips(store, [clip.id], at(4)) == [ClipNext(ClipStep.STITCH, clip.id)]
    assert store.stitch_claimed(clip.id)


def test_cancel_ends_every_unfinished_clip_of_the_batch(store: ClipStore) -> None:
    running, ended = new_clip("running"), new_clip("ended")
    store.add([running])
    add_failed(store, ended)

    assert cancel_clips(store, "b1", at(5)) == 1
    assert (store.get(running.id) or running).state is ClipState.CANCELLED
    assert (store.get(ended.id) or ended).state is ClipState.FAILED


@pytest.mark.parametrize(
    ("state", "claimed", "step"),
    [
        (ClipState.CUTTING, False, ClipStep.CUT),
        (ClipState.EDITING, False, ClipStep.ANCHOR),
        (ClipState.EDITING, True, ClipStep.STITCH),
        (ClipState.STITCHING, True, ClipStep.STITCH),
        (ClipState.STORED, True, None),
        (ClipState.FAILED, False, None),
    ],
)
def test_a_stranded_clip_is_re_driven_with_the_step_its_state_waits_for(
    state: ClipState, claimed: bool, step: ClipStep | None
) -> None:
    assert step_for(new_clip("x").model_copy(update={"state": state}), claimed) is step


def test_retry_leaves_a_cancelled_clip_cancelled(store: ClipStore) -> None:
    clip = new_clip("cancelled")
    store.add([clip])
    cancel_clips(store, "b1", at(1))

    assert reopen_clips(store, [clip.id], at(2)) == []
    assert (store.get(clip.id) or clip).state is ClipState.CANCELLED


def _stored_clip(store: ClipStore, ledger: Ledger, item: str, count: int) -> tuple[Clip, list[Job]]:
    """A clip whose ``count`` segments the ledger stored (the last claimed the stitch), and
    which was then stitched: STORED."""
    clip = new_clip(item, count)
    store.add([clip.model_copy(update={"segments": ()})])
    store.move(clip.id, ClipState.EDITING, expect={ClipState.CUTTING}, now=at(1),
               segments=clip.segments)  # fmt: skip
    jobs = [
        segment(clip, n, JobState.ARCHIVING).model_copy(
            update={
                "remote_id": f"r{n}",
                "estimated_cost_usd": 1.5,
                "route": (ProviderName.SEGMIND, ProviderName.AIMLAPI),
                "policy": "fastest",
            }
        )
        for n in range(1, count + 1)
    ]
    ledger.add(jobs)
    moved = [ledger.move(job.id, JobState.STORED, expect={JobState.ARCHIVING}, now=at(2))
             for job in jobs]  # fmt: skip
    assert [bool(m and m.stitch_due) for m in moved] == [False] * (count - 1) + [True]
    store.move(clip.id, ClipState.STITCHING, expect={ClipState.EDITING}, now=at(3))
    done = store.move(clip.id, ClipState.STORED, expect={ClipState.STITCHING}, now=at(4))
    assert done is not None
    return done, jobs


def test_a_segment_re_run_reopens_the_clip_and_its_store_claims_the_stitch_again(
    store: ClipStore, redis_client: redis.Redis[bytes], settings: Settings
) -> None:
    ledger = Ledger(redis_client)
    clip, jobs = _stored_clip(store, ledger, "rerun", 3)

    outcome = rerun_segment(ledger, store, settings, clip.id, 2, at(5), "make it autumn", 7)

    (new,) = outcome.sends.jobs
    reopened = store.get(clip.id)
    assert reopened is not None and reopened.state is ClipState.EDITING
    assert reopened.superseded == (jobs[1].id,) and reopened.segments[1].job_id == new.id
    assert not store.stitch_claimed(clip.id) and jobs[1].id not in store.stored_segments(clip.id)
    # The same segment of the same clip, on the same route and policy, with what was asked.
    assert (new.clip_id, new.segment, new.route, new.policy) == (
        clip.id, 2, jobs[1].route, "fastest")  # fmt: skip
    assert (new.request.prompt, new.request.seed, new.state) == ("make it autumn", 7,
                                                                 JobState.QUEUED)  # fmt: skip
    for to, was in ((JobState.SUBMITTING, JobState.QUEUED), (JobState.SUBMITTED,
                    JobState.SUBMITTING), (JobState.SUCCEEDED, JobState.SUBMITTED),
                    (JobState.ARCHIVING, JobState.SUCCEEDED)):  # fmt: skip
        ledger.transition(new.id, to, expect={was}, now=at(6), remote_id="r-new")
    stored = ledger.move(new.id, JobState.STORED, expect={JobState.ARCHIVING}, now=at(7))
    assert stored is not None and stored.stitch_due  # the clip is stitched again
    # Its cost: three segments and the re-run, each paid once.
    facts = {job.id: facts_of(job) for job in ledger.get_many([*jobs_ids(jobs), new.id])}
    money = rollup(store.get(clip.id) or clip, facts)
    assert (money.cost_usd, money.rerun_usd, money.reruns) == (6.0, 1.5, 1)
    with pytest.raises(ValueError, match="only a STORED clip"):
        rerun_segment(ledger, store, settings, clip.id, 1, at(8), "again")


def jobs_ids(jobs: list[Job]) -> list[str]:
    return [job.id for job in jobs]


def test_retrying_a_failed_segment_reopens_its_clip_as_the_cli_does(
    store: ClipStore, redis_client: redis.Redis[bytes]
) -> None:
    clip = new_clip("one", 2)
    add_failed(store, clip)
    ledger = Ledger(redis_client)
    failed = segment(clip, 2, JobState.QUEUED)
    ledger.add([failed])
    ledger.transition(failed.id, JobState.FAILED, expect={JobState.QUEUED}, now=at(2))

    outcome = retry_one(ledger, store, ledger.require(failed.id), at(3))

    assert [job.id for job in outcome.sends.jobs] == [failed.id]
    assert (store.get(clip.id) or clip).state is ClipState.EDITING  # not left FAILED


def test_cancelling_a_batch_cancels_its_clips_and_their_queued_segments(
    redis_client: redis.Redis[bytes], settings: Settings
) -> None:
    ctx = Context.from_settings(settings)
    clip = new_clip("running", 2)
    ctx.clips.add([clip.model_copy(update={"segments": ()})])
    ctx.clips.move(clip.id, ClipState.EDITING, expect={ClipState.CUTTING}, now=at(1),
                   segments=clip.segments)  # fmt: skip
    ctx.ledger.add([segment(clip, n, JobState.QUEUED) for n in (1, 2)])

    clips, outcomes = cancel_batch(ctx, "b1", at(2))

    assert (clips, dict(outcomes)) == (1, {"cancelled before submission": 2})
    assert (ctx.clips.get(clip.id) or clip).state is ClipState.CANCELLED
