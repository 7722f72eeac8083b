"""The one count behind `restyle status`, the reports and the dashboard (pure: no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime

from config.settings import ProviderName
from jobs.clips.record import Clip, ClipState, SegmentRef, clip_id_for
from jobs.models import Job, job_id_for, segment_job_id
from jobs.request import EditRequest
from jobs.states import JobState
from producer.report import build_report, totals
from producer.tally import facts_of, rollup, tally
from storage.objects import StoredObject

T0 = datetime(2026, 1, 1, tzinfo=UTC)
REQUEST = EditRequest(video_url="https://cdn.example.com/a.mp4", prompt="snow")


def output(key: str, size: int) -> StoredObject:
    return StoredObject(
        bucket="out", key=key, size=size, sha256="ab" * 32, content_type="video/mp4"
    )


def clip(item: str, state: ClipState, cut: int = 0, planned: int = 4, **extra: object) -> Clip:
    refs = tuple(
        SegmentRef(index=n, job_id=segment_job_id("b", item, n), staged=f"s3://s/{n}", seconds=5)
        for n in range(1, cut + 1)
    )
    return Clip(
        id=clip_id_for("b", item), batch="b", item=item, provider=ProviderName.SEGMIND,
        request=REQUEST, source="s3://lib/a.mp4", source_seconds=20, edit_seconds=20,
        planned_segments=planned, segments=refs, state=state, created_at=T0, updated_at=T0,
        **extra,
    )  # fmt: skip


def job(job_id: str, item: str, state: JobState, paid: bool = True, **extra: object) -> Job:
    return Job(
        id=job_id, batch="b", item=item, provider=ProviderName.SEGMIND, request=REQUEST,
        state=state, remote_id="r" if paid else None, estimated_cost_usd=1.5,
        created_at=T0, updated_at=T0, **extra,
    )  # fmt: skip


def batch() -> tuple[list[Clip], list[Job]]:
    """A clip cut in 3 with one segment re-run; one waiting for its cut (4 planned); one
    cancelled before its cut; a stored and a failed single job."""
    replaced = job_id_for("b", "long.rerun-old")
    cut = clip("long", ClipState.STITCHING, cut=3, superseded=(replaced,))
    waiting = clip("waiting", ClipState.CUTTING)
    cancelled = clip("gone", ClipState.CANCELLED, planned=3)
    segments = [
        job(ref.job_id, "long", JobState.STORED, clip_id=cut.id, segment=ref.index,
            output=output(f"long/{ref.index}.mp4", 100))
        for ref in cut.segments
    ]  # fmt: skip
    old = job(replaced, "long.rerun1", JobState.STORED, clip_id=cut.id, segment=2,
              output=output("old.mp4", 100), possible_double_charges=1)  # fmt: skip
    singles = [
        job(job_id_for("b", "short"), "short", JobState.STORED, output=output("s.mp4", 10)),
        job(job_id_for("b", "bad"), "bad", JobState.FAILED, paid=False),
    ]
    return [cut, waiting, cancelled], [*segments, old, *singles]


def test_items_are_clips_and_single_jobs_and_a_stitching_clip_is_not_finished() -> None:
    clips, jobs = batch()
    counted = tally(clips, [facts_of(j) for j in jobs])

    assert (counted.items, counted.items_finished, counted.done) == (5, 3, False)
    assert counted.items_by_state == {"CANCELLED": 1, "CUTTING": 1, "FAILED": 1, "STITCHING": 1,
                                      "STORED": 1}  # fmt: skip
    # Known from the start: the clip waiting for its cut counts its 4 planned segments; the one
    # cancelled before its cut counts none, as they will never exist.
    assert (counted.segments, counted.segments_finished) == (3 + 4 + 0, 3)
    assert (counted.jobs, counted.jobs_finished) == (6, 6)
    assert counted.cost_usd == 1.5 * 5  # the failed job was never accepted: free
    assert (counted.double_charges, counted.double_charge_usd) == (1, 1.5)
    assert counted.stored_bytes == 3 * 100 + 100 + 10


def test_a_clip_costs_its_segments_and_its_re_runs() -> None:
    clips, jobs = batch()
    money = rollup(clips[0], {j.id: facts_of(j) for j in jobs})

    assert (money.cost_usd, money.rerun_usd, money.reruns) == (6.0, 1.5, 1)
    assert (money.segments, money.segments_stored, money.stored_bytes) == (3, 3, 400)


def test_the_reports_rows_count_as_the_records_do() -> None:
    clips, jobs = batch()
    report = build_report(jobs, clips)

    assert totals(report.rows) == report.totals == tally(clips, [facts_of(j) for j in jobs])
    long_id = clips[0].id
    by_kind = [
        (row.kind, row.segment, row.superseded)
        for row in report.rows
        if long_id in (row.job_id, row.clip_id)
    ]
    # Each clip's row, then its segments in order, then the one its re-run replaced.
    assert by_kind == [("clip", None, False), ("segment", 1, False), ("segment", 2, False),
                           ("segment", 3, False), ("segment", 2, True)]  # fmt: skip
    long_row = report.rows[[r.item for r in report.rows].index("long")]
    assert (long_row.cost_usd, long_row.rerun_usd, long_row.segments) == (6.0, 1.5, 3)
