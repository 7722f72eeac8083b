"""A stitched clip's seam scores in the report rows, the CSV, the HTML and the job page (pure)."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

from config.settings import ProviderName
from jobs.clips.record import Clip, ClipState
from jobs.request import EditRequest
from jobs.states import JobState
from media.seams import SeamScore
from producer.report import build_clip_row, build_row, write_csv
from producer.report_html import details_html
from tests.producer.test_report import job
from web.pages import job_body

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)
SEAMS = (
    SeamScore(index=1, at_s=4.75, jump=8.1, ordinary=7.9, ratio=1.025, histogram=0.014),
    SeamScore(index=2, at_s=9.5, jump=16.6, ordinary=7.9, ratio=2.1, histogram=0.063,
              flagged=True),
)  # fmt: skip


def stitched_clip() -> Clip:
    return Clip(
        id="clip-1", batch="b", item="long.mp4", provider=ProviderName.SEGMIND,
        request=EditRequest(video_url="https://example.com/long.mp4", prompt="winter"),
        source="https://example.com/long.mp4", source_seconds=14.0, edit_seconds=14.0,
        planned_segments=3, state=ClipState.STORED, seams=SEAMS, created_at=NOW, updated_at=NOW,
    )  # fmt: skip


def test_a_clip_row_carries_its_seams_into_the_csv_and_the_html(tmp_path: Path) -> None:
    clip = stitched_clip()
    assert clip.flagged_seams == (SEAMS[1],)
    row = build_clip_row(clip)
    assert row.seams == SEAMS

    with write_csv([row], tmp_path / "r.csv").open() as handle:
        (line,) = csv.DictReader(handle)
    assert line["seams"] == "1:1.025/0.014 2:2.1/0.063!"

    html = details_html(row)
    assert "seams: 2 seams, worst 2.10x (seam 2), 1 flagged (2)" in html
    assert html.count('class="seam flagged"') == 1 and html.count('class="seam"') == 1


def test_a_segment_page_shows_the_seams_either_side_of_it() -> None:
    segment = job("long.mp4", "https://example.com/long.mp4", JobState.STORED)
    page = job_body(segment, build_row(segment), actions=False, csrf="", seams=SEAMS)
    assert '<h2>seams</h2><div id="seams">' in page and "2.10x" in page and "flagged" in page
    assert "<h2>seams</h2>" not in job_body(segment, build_row(segment), actions=False, csrf="")
