"""Batch reports: rows, JSON, CSV, and the HTML page rendered in headless Chromium."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from config.settings import ProviderName
from jobs.failures import FailureKind
from jobs.models import Job
from jobs.request import EditRequest
from jobs.states import JobState
from producer.report import ReportRow, build_rows, totals, write_csv, write_json
from producer.report_html import frame_grab, write_html, write_report
from storage.objects import StoredObject

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def job(item: str, source: str, state: JobState, **fields: object) -> Job:
    request = EditRequest(video_url="https://signed.example/x?sig=secret", prompt="winter")
    values: dict[str, object] = {
        "id": f"id-{item}",
        "batch": "lib",
        "item": item,
        "provider": ProviderName.RUNWAY,
        "request": request,
        "source": source,
        "state": state,
        "estimated_cost_usd": 0.75,
        "source_seconds": 1.0,
        "created_at": T0,
        "updated_at": T0 + timedelta(minutes=5),
    }
    values.update(fields)
    return Job.model_validate(values)


def stored(item: str, source: str, bucket: str, key: str, size: int = 1234) -> Job:
    output = StoredObject(
        bucket=bucket, key=key, size=size, sha256="ab" * 32, content_type="video/mp4"
    )
    return job(
        item,
        source,
        JobState.STORED,
        remote_id=f"r-{item}",
        submitted_at=T0 + timedelta(seconds=30),
        remote_completed_at=T0 + timedelta(minutes=4),
        output=output,
    )


def failed(item: str, source: str) -> Job:
    return job(
        item,
        source,
        JobState.FAILED,
        remote_id=f"r-{item}",
        submitted_at=T0 + timedelta(seconds=10),
        failure_kind=FailureKind.MODERATION,
        failure_message="SAFETY.INPUT.TEXT: the prompt was refused",
    )


def test_rows_carry_outcome_cost_and_timings_of_each_job() -> None:
    rows = build_rows(
        [
            stored("b", "s3://lib/b.mp4", "out", "outputs/lib/b.mp4"),
            failed("a", "/clips/a.mp4"),
            job("c", "s3://lib/c.mp4", JobState.QUEUED),
        ]
    )
    assert [row.item for row in rows] == ["a", "b", "c"]
    failed_row, stored_row, queued_row = rows
    assert (failed_row.state, failed_row.failure_kind) == ("FAILED", "moderation")
    assert failed_row.failure_message == "SAFETY.INPUT.TEXT: the prompt was refused"
    assert stored_row.output_uri == "s3://out/outputs/lib/b.mp4"
    assert (stored_row.size_bytes, stored_row.sha256) == (1234, "ab" * 32)
    assert (stored_row.queue_s, stored_row.run_s, stored_row.total_s) == (30.0, 210.0, 300.0)
    assert (queued_row.cost_usd, queued_row.finished_at, queued_row.total_s) == (0.0, None, None)
    summary = totals(rows)
    assert summary.jobs_by_state == {"FAILED": 1, "QUEUED": 1, "STORED": 1}
    assert summary.items_by_state == summary.jobs_by_state  # no clips: every job is an item
    assert (summary.jobs, summary.cost_usd, summary.stored_bytes) == (3, 1.5, 1234)


def test_json_and_csv_reports_hold_every_field_and_no_presigned_url(tmp_path: Path) -> None:
    rows = build_rows([stored("b", "s3://lib/b.mp4", "out", "k.mp4"), failed("a", "/a.mp4")])
    body = json.loads(write_json(rows, tmp_path / "r.json").read_text())
    assert body["totals"]["jobs_by_state"] == {"FAILED": 1, "STORED": 1}
    assert [ReportRow.model_validate(item) for item in body["jobs"]] == rows
    with write_csv(rows, tmp_path / "r.csv").open(newline="") as handle:
        lines = list(csv.DictReader(handle))
    assert list(lines[0]) == list(ReportRow.model_fields)
    assert [line["item"] for line in lines] == ["a", "b"]
    assert lines[0]["output_uri"] == ""
    assert lines[1]["sha256"] == "ab" * 32
    for path in (tmp_path / "r.json", tmp_path / "r.csv"):
        assert "sig=secret" not in path.read_text()


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def render_dom(page: str, profile: Path) -> str:
    """The DOM of ``page`` after it loaded, as headless Chromium sees it."""
    assert CHROMIUM is not None
    argv = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=10000",
        "--dump-dom",
        page,
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=True)
    return done.stdout


def attribute(dom: str, element_id: str, name: str) -> str:
    tag = re.search(rf'<[^>]*id="{element_id}"[^>]*>', dom)
    assert tag is not None, f"no #{element_id} in the page"
    value = re.search(rf'{name}="([^"]*)"', tag[0])
    assert value is not None, f"#{element_id} has no {name}"
    return value[1]


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (apt-get install chromium)")
def test_the_html_report_shows_a_loaded_before_after_pair_per_job_in_chromium(
    s3: S3Client, s3_bucket: str, library: str, clips: Path, tmp_path: Path
) -> None:
    s3.upload_file(str(clips / "beta.mp4"), s3_bucket, "outputs/lib/alpha.mp4")
    jobs = [
        stored("alpha", f"{library}alpha.mp4", s3_bucket, "outputs/lib/alpha.mp4"),
        failed("gamma", str(clips / "nested" / "gamma.mov")),
        failed("lost", f"{library}missing.mp4"),
    ]
    report = tmp_path / "review" / "report.html"
    report.parent.mkdir()
    write_html(build_rows(jobs), report, frame_grab(s3), title="lib <winter>")

    frames = sorted(path.name for path in (tmp_path / "review" / "report-frames").iterdir())
    assert frames == ["id-alpha-after.png", "id-alpha-before.png", "id-gamma-before.png"]
    page = report.read_text()
    assert "lib &lt;winter&gt;" in page
    assert "no frame: HTTP 404" in page
    assert "X-Amz-Signature" not in page
    assert "sig=secret" not in page

    dom = render_dom(report.as_uri(), tmp_path / "profile")
    assert attribute(dom, "image-check", "data-total") == "3"
    assert attribute(dom, "image-check", "data-broken") == "0"
    assert re.search(r'<body[^>]*data-visible="3"', dom)

    filtered = render_dom(report.as_uri() + "#state=FAILED", tmp_path / "profile")
    assert re.search(r'<body[^>]*data-visible="2"', filtered)
    assert re.search(r'<tr data-state="STORED"[^>]*hidden', filtered)


def test_write_report_picks_the_writer_by_format_and_refuses_unknown_ones(tmp_path: Path) -> None:
    rows = build_rows([failed("a", "/a.mp4")])

    def no_frames(location: str, at_s: float) -> bytes:
        raise AssertionError("csv and json reports take no frames")

    assert json.loads(write_report(rows, "json", tmp_path / "r.json", no_frames).read_text())
    assert "FAILED" in write_report(rows, "csv", tmp_path / "r.csv", no_frames).read_text()
    with pytest.raises(ValueError, match="use html, csv or json"):
        write_report(rows, "pdf", tmp_path / "r.pdf", no_frames)


def test_possible_double_charges_are_shown_with_their_cost_next_to_the_spend(
    tmp_path: Path,
) -> None:
    doubled = stored("b", "s3://lib/b.mp4", "out", "k.mp4").model_copy(
        update={"possible_double_charges": 1}
    )
    rows = build_rows([doubled, stored("a", "s3://lib/a.mp4", "out", "a.mp4")])
    summary = totals(rows)
    assert (summary.double_charges, summary.double_charge_usd) == (1, 0.75)
    body = json.loads(write_json(rows, tmp_path / "r.json").read_text())
    assert body["totals"]["double_charge_usd"] == 0.75
    page = write_html(rows, tmp_path / "r.html", lambda url, at_s: b"png").read_text()
    assert "possibly paid twice" in page and "1 ($0.75)" in page
    assert "1x, up to $0.75 more" in page
