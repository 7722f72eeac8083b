"""A clip's fan-in against a real Redis: the write that stores the last segment, and only that
one, claims the stitch; a retry reopens the claim; a clip not yet cut never claims."""

from __future__ import annotations

import threading

import pytest
import redis

from config.settings import ProviderName
from jobs import redis_keys
from jobs.clips.record import Clip, ClipState, SegmentRef, clip_id_for
from jobs.clips.store import ClipStore
from jobs.ledger import Ledger, Moved
from jobs.models import Job, segment_job_id
from jobs.request import EditRequest
from jobs.states import JobState

from .conftest import T0, at, make_job

ARCHIVING, STORED = JobState.ARCHIVING, JobState.STORED


def make_clip(item: str, segments: int) -> Clip:
    refs = tuple(
        SegmentRef(index=n, job_id=segment_job_id("b1", item, n), staged=f"s3://s/{n}", seconds=4)
        for n in range(1, segments + 1)
    )
    return Clip(
        id=clip_id_for("b1", item),
        batch="b1",
        item=item,
        provider=ProviderName.SEGMIND,
        request=EditRequest(video_url="https://cdn.example.com/long.mp4", prompt="snow"),
        source="s3://library/long.mp4",
        source_seconds=4.0 * segments,
        edit_seconds=4.0 * segments,
        planned_segments=segments,
        created_at=T0,
        updated_at=T0,
    ).model_copy(update={"segments": refs})


def segments_of(clip: Clip) -> list[Job]:
    return [
        make_job(item=clip.item, id=ref.job_id, clip_id=clip.id, segment=ref.index, state=ARCHIVING)
        for ref in clip.segments
    ]


@pytest.fixture
def clips(redis_client: redis.Redis[bytes]) -> ClipStore:
    return ClipStore(redis_client)


def cut(clips: ClipStore, clip: Clip) -> Clip:
    """Add ``clip`` CUTTING without segments, then record them as the cut does."""
    assert clips.add([clip.model_copy(update={"segments": ()})]) == [True]
    moved = clips.move(clip.id, ClipState.EDITING, expect={ClipState.CUTTING}, now=at(1),
                       segments=clip.segments)  # fmt: skip
    assert moved is not None
    return moved


def store(ledger: Ledger, job: Job, seconds: float) -> Moved | None:
    return ledger.move(job.id, STORED, expect={ARCHIVING}, now=at(seconds))


def test_only_the_write_that_stores_the_last_segment_claims_the_stitch(
    ledger: Ledger, clips: ClipStore
) -> None:
    clip = cut(clips, make_clip("long", 4))
    jobs = segments_of(clip)
    ledger.add(jobs)

    first_three = [store(ledger, job, 2 + n) for n, job in enumerate(jobs[:3])]
    assert all(moved is not None and not moved.stitch_due for moved in first_three)
    assert not clips.stitch_claimed(clip.id)
    last = store(ledger, jobs[3], 9)

    assert last is not None and last.stitch_due
    assert clips.stitch_claimed(clip.id)
    # Watched in the same write: a writer killed before sending the stitch strands nothing.
    assert clips.overdue(at(10)) == [clip.id]
    assert clips.stored_segments(clip.id) == {job.id for job in jobs}
    assert store(ledger, jobs[3], 10) is None  # a duplicate message changes nothing


def test_segments_stored_at_once_from_many_threads_claim_the_stitch_exactly_once(
    redis_server: object, redis_client: redis.Redis[bytes]
) -> None:
    clips = ClipStore(redis_client)
    made = [cut(clips, make_clip(f"clip-{n}", 4)) for n in range(10)]
    jobs = [job for clip in made for job in segments_of(clip)]
    Ledger(redis_client).add(jobs)
    claims: list[str] = []
    start = threading.Barrier(8)
    url = redis_client.connection_pool.connection_kwargs

    def writer(part: list[Job]) -> None:
        ledger = Ledger(redis.Redis(host=url["host"], port=url["port"]))
        start.wait()
        for job in part:
            # Each segment is stored by two racing writers, as by a redelivered message.
            for _ in range(2):
                moved = store(ledger, job, 5)
                if moved is not None and moved.stitch_due:
                    claims.append(job.clip_id or "")

    threads = [threading.Thread(target=writer, args=(jobs[n % 4 :: 4],)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(claims) == sorted(clip.id for clip in made)


def test_a_reopened_clip_claims_again_when_its_retried_segment_is_stored(
    ledger: Ledger, clips: ClipStore
) -> None:
    clip = cut(clips, make_clip("long", 3))
    jobs = segments_of(clip)
    ledger.add(jobs)
    store(ledger, jobs[0], 2)
    store(ledger, jobs[1], 3)
    ledger.transition(jobs[2].id, JobState.FAILED, expect={ARCHIVING}, now=at(4))
    clips.move(clip.id, ClipState.FAILED, expect={ClipState.EDITING}, now=at(4))

    clips.move(clip.id, ClipState.EDITING, expect={ClipState.FAILED}, now=at(5), reopen=True)
    ledger.transition(jobs[2].id, JobState.QUEUED, expect={JobState.FAILED}, now=at(6))
    for state in (JobState.SUBMITTING, JobState.SUBMITTED, JobState.SUCCEEDED, ARCHIVING):
        ledger.transition(jobs[2].id, state, expect=set(JobState), now=at(7))
    moved = store(ledger, jobs[2], 8)

    assert moved is not None and moved.stitch_due


def test_a_clip_not_yet_cut_never_claims_and_plain_jobs_never_touch_clips(
    ledger: Ledger, clips: ClipStore, redis_client: redis.Redis[bytes]
) -> None:
    clip = make_clip("uncut", 1)
    clips.add([clip.model_copy(update={"segments": ()})])
    job = segments_of(clip)[0]
    plain = make_job(item="plain", state=ARCHIVING)
    ledger.add([job, plain])

    stored = store(ledger, job, 2)
    alone = store(ledger, plain, 2)

    assert stored is not None and not stored.stitch_due
    assert alone is not None and not alone.stitch_due
    assert not clips.stitch_claimed(clip.id)
    assert redis_client.keys("restyle:clip-stored:*") == [redis_keys.clip_stored(clip.id).encode()]


def test_a_finished_clip_expires_like_a_job_and_a_reopened_one_does_not(
    redis_client: redis.Redis[bytes],
) -> None:
    clips = ClipStore(redis_client, record_ttl_s=600)
    clip = cut(clips, make_clip("ttl", 2))
    assert redis_client.ttl(redis_keys.clip(clip.id)) == -1

    clips.move(clip.id, ClipState.FAILED, expect={ClipState.EDITING}, now=at(2))
    assert 0 < redis_client.ttl(redis_keys.clip(clip.id)) <= 600
    clips.move(clip.id, ClipState.EDITING, expect={ClipState.FAILED}, now=at(3), reopen=True)
    assert redis_client.ttl(redis_keys.clip(clip.id)) == -1
