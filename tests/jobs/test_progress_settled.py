"""When a batch is finished (pure): every job ended and every clip stitched or ended."""

from __future__ import annotations

from jobs.progress import Snapshot
from jobs.states import JobState


def test_a_batch_with_a_clip_still_stitching_is_not_finished() -> None:
    stored = {JobState.STORED: 4}
    assert not Snapshot(0, stored, clips=1, open_clips=1).settled  # its segments all STORED
    assert Snapshot(0, stored, clips=1, open_clips=0).settled


def test_a_batch_whose_clips_are_still_being_cut_is_not_finished() -> None:
    assert not Snapshot(0, {}, clips=2, open_clips=2).settled  # no segment job exists yet
    assert not Snapshot(0, {}).settled  # nothing written yet


def test_a_batch_of_plain_jobs_is_finished_when_they_all_ended() -> None:
    assert not Snapshot(0, {JobState.STORED: 3, JobState.ARCHIVING: 1}).settled
    assert Snapshot(0, {JobState.STORED: 3, JobState.FAILED: 1}).settled
