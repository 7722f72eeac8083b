"""`restyle retry` and `restyle cancel` for clips, and which media step a stranded clip needs,
against a real Redis (no workers)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import redis

from config.settings import ProviderName
from jobs.clips.record import Clip, ClipState, SegmentRef, clip_id_for
from jobs.clips.store import ClipStore
from jobs.ledger import Ledger
from jobs.models import Job, segment_job_id
from jobs.request import EditRequest
from jobs.states import JobState
from pipeline.clips.reconciling import step_for
from pipeline.decisions import ClipNext, ClipStep
from pipeline.operations.clips import cancel_clips, reopen_clips

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
