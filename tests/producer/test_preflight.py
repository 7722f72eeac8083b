"""Preflight over real clips on disk and in moto's S3: jobs for good rows, problems for the rest."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, cast

import pytest

from config.settings import ProviderName, Settings
from jobs.models import job_id_for
from jobs.states import JobState
from producer.batch import SubmitOptions, plan_batch
from producer.safety import UnsafeSource, guarded_client

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
CLIP_SECONDS = 2.5  # Runway aleph2 takes 2-30 s
RUNWAY = SubmitOptions(prompt="make it winter", provider=ProviderName.RUNWAY, batch="b1")


def write_csv(path: Path, lines: list[str]) -> str:
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_good_rows_become_queued_jobs_with_cost_and_presigned_sources(
    producer_settings: Settings, s3: S3Client, library: str, clips: Path, tmp_path: Path
) -> None:
    (tmp_path / "local").symlink_to(clips)
    manifest = write_csv(
        tmp_path / "m.csv",
        [
            "source,key,prompt,seed",
            f"{library}alpha.mp4,a,,",
            "local/beta.mp4,b,make it noir,7",
        ],
    )
    plan = plan_batch(manifest, RUNWAY, producer_settings, NOW, s3=s3)
    assert plan.problems == []
    jobs = {planned.job.item: planned.job for planned in plan.jobs}
    assert sorted(jobs) == ["a", "b"]
    alpha, beta = jobs["a"], jobs["b"]
    assert alpha.id == job_id_for("b1", "a")
    assert (alpha.state, alpha.batch, alpha.provider) == ("QUEUED", "b1", ProviderName.RUNWAY)
    assert alpha.source == f"{library}alpha.mp4"
    assert alpha.request.video_url.startswith(producer_settings.s3_endpoint_url or "?")
    assert "X-Amz-Signature=" in alpha.request.video_url
    assert alpha.request.prompt == "make it winter"
    assert alpha.source_seconds == pytest.approx(CLIP_SECONDS, abs=0.2)
    assert alpha.source_seconds is not None
    assert alpha.estimated_cost_usd == pytest.approx(0.28 * alpha.source_seconds, abs=1e-3)
    assert alpha.output_prefix == f"s3://{producer_settings.s3_bucket}/outputs"
    assert (beta.request.prompt, beta.request.seed) == ("make it noir", 7)
    assert beta.source == str((tmp_path / "local" / "beta.mp4").resolve())
    assert "/staging/" in beta.request.video_url
    assert plan.summary.jobs == 2
    assert plan.summary.cost_usd == pytest.approx(alpha.estimated_cost_usd * 2, abs=1e-3)
    assert plan.summary.wall_s == pytest.approx(180.0)


def test_every_problem_of_every_row_is_reported_with_row_and_field(
    producer_settings: Settings, s3: S3Client, library: str, clips: Path, tmp_path: Path
) -> None:
    alpha = f"{library}alpha.mp4"
    manifest = write_csv(
        tmp_path / "m.csv",
        [
            "source,provider,aspect_ratio,seed,reference_image",
            f"{alpha},,,,",
            f"{clips / 'beta.mp4'},vibedream,21:9,,",
            f"{clips / 'fake.mp4'},,,,",
            f"{library}missing.mp4,,,,",
            f"{clips / 'wide.mkv'},,,,",
            f"{alpha},,5:4,,",
            "file:///etc/passwd,,,,",
            f"{alpha},crun,,,",
            f"{alpha},vibedream,,3,",
            f"{alpha},,,,ftp://example.com/ref.png",
            f"{alpha},,,,",
            "http://127.0.0.1:9/closed.mp4,,,,",
            f"{alpha},,,x,",
        ],
    )
    plan = plan_batch(manifest, RUNWAY, producer_settings, NOW, s3=s3)
    found = [(problem.row, problem.field) for problem in plan.problems]
    assert found == [
        (3, "aspect_ratio"),
        (4, "source"),
        (5, "source"),
        (7, "aspect_ratio"),
        (8, "source"),
        (9, "provider"),
        (10, "seed"),
        (11, "reference_image"),
        (12, "source"),
        (13, "source"),
        (14, "seed"),
    ]
    messages = {problem.row: problem.message for problem in plan.problems}
    assert "allowed values: 16:9, 9:16, 4:3, 3:4, 1:1" in messages[3]
    assert "cannot read a video" in messages[4]
    assert "RESTYLE_CRUN__API_KEYS" in messages[9]
    assert "same source and options as row 2" in messages[12]
    assert "unreachable" in messages[13]
    # A container the provider refuses is re-encoded by the cutter, not refused.
    planned = list(plan.jobs)
    assert [row.row for row in planned] == [2, 6]
    assert planned[1].clip is not None and planned[1].normalised == ("h264 MKV -> H.264 MP4",)
    assert all(problem.source for problem in plan.problems if problem.row != 14)


def test_private_and_plain_http_sources_are_refused_unless_allowed(
    producer_settings: Settings, s3: S3Client, library: str, tmp_path: Path
) -> None:
    strict = producer_settings.model_copy(update={"allow_private_sources": False})
    presigned = plan_batch(f"{library}alpha.mp4", RUNWAY, producer_settings, NOW, s3=s3)
    http_url = next(iter(presigned.jobs)).job.request.video_url
    manifest = write_csv(
        tmp_path / "m.csv",
        ["source", http_url, "https://127.0.0.1:9/a.mp4", "https://10.0.0.8/a.mp4"],
    )
    messages = [p.message for p in plan_batch(manifest, RUNWAY, strict, NOW, s3=s3).problems]
    assert len(messages) == 3
    assert "http:// is refused" in messages[0]
    assert "127.0.0.1 is loopback" in messages[1]
    assert "10.0.0.8 is private" in messages[2]
    allowed = plan_batch(http_url, RUNWAY, producer_settings, NOW, s3=s3)
    assert (allowed.problems, len(allowed.jobs)) == ([], 1)


def test_a_dry_run_probes_local_files_without_staging_them(
    producer_settings: Settings, s3: S3Client, s3_bucket: str, clips: Path
) -> None:
    options = SubmitOptions(prompt="p", provider=ProviderName.SEGMIND, dry_run=True)
    plan = plan_batch(str(clips / "alpha.mp4"), options, producer_settings, NOW, s3=s3)
    assert [planned.job.state for planned in plan.jobs] == [JobState.QUEUED]
    assert plan.summary.cost_usd == pytest.approx(1.125)
    assert s3.list_objects_v2(Bucket=s3_bucket, Prefix="staging/")["KeyCount"] == 0


def test_resubmitting_without_a_batch_name_finds_the_same_batch_and_items(
    producer_settings: Settings, s3: S3Client, library: str
) -> None:
    options = SubmitOptions(prompt="p", provider=ProviderName.RUNWAY)
    first = plan_batch(library, options, producer_settings, NOW, s3=s3)
    again = plan_batch(library, options, producer_settings, NOW, s3=s3)
    assert first.batch == again.batch
    assert first.batch.startswith("library-")
    assert [p.job.id for p in first.jobs] == [p.job.id for p in again.jobs]
    assert len(first.jobs) == 3  # fake.mp4 is a problem


@pytest.fixture
def redirecting_server() -> Iterator[str]:
    """``http://localhost:PORT/`` answering every GET with a redirect to 127.0.0.1."""

    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/inside":
                self.send_response(204)
            else:
                self.send_response(302)
                port = cast(http.server.HTTPServer, self.server).server_port
                self.send_header("Location", f"http://127.0.0.1:{port}/inside")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_port}/clip.mp4"
    server.shutdown()
    server.server_close()


def test_the_probe_client_checks_every_redirect_it_follows(redirecting_server: str) -> None:
    guarded = guarded_client(allow_private=False, trusted_origins=[redirecting_server])
    with guarded as client, pytest.raises(UnsafeSource, match="http:// is refused"):
        client.get(redirecting_server)
    with guarded_client(allow_private=True) as client:
        assert client.get(redirecting_server).status_code == 204
