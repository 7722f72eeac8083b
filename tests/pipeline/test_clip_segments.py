"""A cut clip's segment jobs (pure): the clip's prompt and seed, anchoring, costs, ids."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from config.catalogue import CATALOGUE
from config.settings import ProviderName
from jobs.clips.record import Clip, Continuity, SegmentRef, clip_id_for, clip_seed
from jobs.models import Job, segment_job_id
from jobs.request import EditRequest
from media.stitching import Mismatch
from pipeline.clips.segments import anchored, segment_job
from pipeline.clips.stitching import mismatch_note

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def clip_of(provider: ProviderName, continuity: Continuity, **request: object) -> Clip:
    refs = tuple(
        SegmentRef(
            index=n, job_id=segment_job_id("b", "long", n), staged=f"s3://st/{n}.mp4", seconds=4.25
        )
        for n in (1, 2, 3, 4)
    )
    return Clip(
        id=clip_id_for("b", "long"), batch="b", item="long", provider=provider,
        request=EditRequest(video_url="https://cdn.example.com/long.mp4", prompt="snow",
                            **request),
        source="s3://library/long.mp4", continuity=continuity, source_seconds=17,
        edit_seconds=17, planned_segments=4, segments=refs, created_at=NOW, updated_at=NOW,
    )  # fmt: skip


def jobs_of(clip: Clip) -> list[Job]:
    spec = CATALOGUE[clip.provider]
    return [segment_job(clip, ref, f"https://s3/{ref.index}", spec, NOW) for ref in clip.segments]


def test_every_segment_shares_the_clip_prompt_and_a_seed_fixed_by_the_clip() -> None:
    jobs = jobs_of(clip_of(ProviderName.SEGMIND, Continuity.NONE))

    assert {job.request.prompt for job in jobs} == {"snow"}
    assert {job.request.seed for job in jobs} == {clip_seed(clip_id_for("b", "long"))}
    assert [job.request.video_url for job in jobs] == [f"https://s3/{n}" for n in (1, 2, 3, 4)]
    assert [job.source for job in jobs] == [f"s3://st/{n}.mp4" for n in (1, 2, 3, 4)]
    assert len({job.id for job in jobs}) == 4 and all(job.item == "long" for job in jobs)
    assert all(job.estimated_cost_usd == pytest.approx(1.125) for job in jobs)
    assert not any(job.awaits_anchor for job in jobs)


def test_a_seed_the_user_gave_is_kept_and_a_provider_without_seeds_gets_none() -> None:
    given = jobs_of(clip_of(ProviderName.SEGMIND, Continuity.NONE, seed=7))
    unseeded = jobs_of(clip_of(ProviderName.VIBEDREAM, Continuity.NONE))

    assert {job.request.seed for job in given} == {7}
    assert {job.request.seed for job in unseeded} == {None}


def test_anchor_holds_every_segment_but_the_first_until_its_frame_exists() -> None:
    clip = clip_of(ProviderName.RUNWAY, Continuity.ANCHOR)

    assert anchored(clip)
    assert [job.awaits_anchor for job in jobs_of(clip)] == [False, True, True, True]


def test_a_reference_image_the_user_gave_wins_over_the_anchor() -> None:
    clip = clip_of(ProviderName.RUNWAY, Continuity.ANCHOR,
                   reference_image_url="https://cdn.example.com/look.png")  # fmt: skip

    assert not anchored(clip)
    jobs = jobs_of(clip)
    assert not any(job.awaits_anchor for job in jobs)
    assert {job.request.reference_image_url for job in jobs} == {"https://cdn.example.com/look.png"}


def test_a_segment_whose_output_length_differs_is_named_with_its_provider() -> None:
    jobs = jobs_of(clip_of(ProviderName.SEGMIND, Continuity.NONE))

    note = mismatch_note(jobs, Mismatch(index=2, expected_s=4.25, actual_s=5.0))

    assert note == "segment 3: segmind returned 5.000 s for a 4.250 s input"
