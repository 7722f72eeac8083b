"""The dashboard against hostile requests and hostile data: foreign Host headers, login floods,
redirects off the site, cached CSRF tokens, example passwords, outputs that are not videos,
spreadsheet formulas in reports."""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest
import redis

from config.settings import Settings, WebSettings
from jobs.ledger import Ledger
from jobs.states import JobState
from producer.report import build_rows, write_csv
from storage.content import VIDEO_MARK
from storage.objects import StoredObject
from web.app import create_web_app
from web.auth import WebConfigError
from web.guards import LoginThrottle, allowed_hosts, host_allowed, safe_back
from workers.flower import FlowerConfigError, FlowerOptions, flower_command

from .conftest import Served, make_jobs, serve, web_settings


@pytest.fixture
def open_served(settings: Settings, redis_client: object) -> Iterator[Served]:
    """The dashboard with --no-auth, answering also to restyle.internal."""
    yield from serve(web_settings(settings, no_auth=True, allowed_hosts=["restyle.internal"]))


def test_host_allow_list_decisions() -> None:
    hosts = allowed_hosts(["Restyle.Internal"], "https://restyle.example.com/")
    for header in ("127.0.0.1:8300", "localhost", "[::1]:8300", "restyle.internal:80",
                   "restyle.example.com"):  # fmt: skip
        assert host_allowed(header, hosts), header
    refused: list[str | None] = ["evil.example", "evil.example:8300", "127.0.0.1.evil.example",
                                 "", None]  # fmt: skip
    for bad in refused:
        assert not host_allowed(bad, hosts), bad


def test_an_open_dashboard_answers_only_to_its_own_host_names(open_served: Served) -> None:
    with open_served.client(auth=False) as client:
        rebinding = client.get("/", headers={"Host": "evil.example:8300"})
        named = client.get("/", headers={"Host": "restyle.internal"})
        local = client.get("/")
        health = client.get("/healthz", headers={"Host": "web:8300"})
    assert rebinding.status_code == 400 and "RESTYLE_WEB__ALLOWED_HOSTS" in rebinding.text
    assert named.status_code == local.status_code == health.status_code == 200
    assert local.headers["cache-control"] == "no-store"  # the page holds a CSRF token


def test_the_login_throttle_counts_failures_per_client_within_the_window() -> None:
    throttle = LoginThrottle(limit=3, window_s=60.0)
    for at in (0.0, 1.0, 2.0):
        assert throttle.retry_after("10.0.0.1", at) is None
        throttle.failed("10.0.0.1", at)
    assert throttle.retry_after("10.0.0.1", 3.0) == pytest.approx(57.0)
    assert throttle.retry_after("10.0.0.2", 3.0) is None
    assert throttle.retry_after("10.0.0.1", 60.5) is None  # the first failure left the window


def test_failed_logins_are_logged_without_the_password_and_then_refused(
    settings: Settings, redis_client: object, caplog: pytest.LogCaptureFixture
) -> None:
    limited = web_settings(settings, login_failures_per_min=3)
    caplog.set_level(logging.WARNING, logger="restyle.web.auth")
    for served in serve(limited):
        with httpx.Client(base_url=served.url, timeout=30) as client:
            answers = [client.get("/", auth=("mallory", "guess-number-1")).status_code
                       for _ in range(4)]  # fmt: skip
            refused = client.get("/", auth=("mallory", "guess-number-1"))
    assert answers == [401, 401, 401, 429] and refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    logged = [r.getMessage() for r in caplog.records if r.name == "restyle.web.auth"]
    assert len(logged) == 3 and all("user 'mallory' from 127.0.0.1" in m for m in logged)
    assert not any("guess-number-1" in m for m in logged)


def test_the_example_passwords_are_refused_at_start(settings: Settings) -> None:
    web = WebSettings(users=["admin:change-me-web-password"])
    bad = settings.model_copy(update={"web": web})
    with pytest.raises(WebConfigError, match=r"RESTYLE_WEB__USERS still holds the example"):
        create_web_app(bad)
    flower = FlowerOptions(basic_auth="admin:change-me-flower-password")
    with pytest.raises(FlowerConfigError, match=r"RESTYLE_FLOWER_BASIC_AUTH still holds"):
        flower_command(flower)


@pytest.mark.parametrize(
    ("referer", "back"),
    [
        ("http://127.0.0.1:8300/batches/b1?state=FAILED", "/batches/b1"),
        ("/jobs/abc", "/jobs/abc"),
        ("http://127.0.0.1:8300//evil.example/x", "/"),
        ("//evil.example/x", "/"),
        ("https://evil.example/batches/b1", "/"),
        ("http://127.0.0.1:8300/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        (None, "/"),
    ],
)
def test_after_an_action_the_browser_goes_back_only_within_the_site(
    referer: str | None, back: str
) -> None:
    assert safe_back(referer, "127.0.0.1:8300") == back


def test_a_forged_referer_redirects_home(served: Served) -> None:
    host = served.url.removeprefix("http://")
    Ledger(redis.Redis.from_url(served.settings.redis_url)).add(
        make_jobs("rf", 1, "https://example.com/a.mp4")
    )
    with served.client() as client:
        page = client.get("/batches/rf")
        token = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
        assert token is not None
        answer = client.post("/batches/rf/retry", data={"csrf": token.group(1)},
                             headers={"Referer": f"http://{host}//evil.example/steal"})  # fmt: skip
    assert answer.status_code == 303 and answer.headers["location"] == "/"


def test_the_dashboard_serves_only_outputs_stored_as_checked_videos(
    served: Served, s3_bucket: str
) -> None:
    s3 = boto3.client("s3", endpoint_url=served.settings.s3_endpoint_url, region_name="us-east-1")
    s3.put_object(Bucket=s3_bucket, Key="creds.mp4", Body=b'{"SecretAccessKey": "x"}',
                  ContentType="video/mp4")  # fmt: skip
    s3.put_object(Bucket=s3_bucket, Key="good.mp4", Body=b"\0\0\0\x18ftypisom",
                  ContentType="video/mp4", Metadata=VIDEO_MARK)  # fmt: skip
    ledger = Ledger(redis.Redis.from_url(served.settings.redis_url))
    jobs = make_jobs("vid", 2, "https://example.com/a.mp4", state=JobState.STORED)
    for job, key in zip(jobs, ("creds.mp4", "good.mp4"), strict=True):
        output = StoredObject(bucket=s3_bucket, key=key, size=1, sha256="0" * 64,
                              content_type="video/mp4")  # fmt: skip
        ledger.add([job.model_copy(update={"output": output})])
    with served.client() as client:
        refused = client.get(f"/jobs/{jobs[0].id}/video", follow_redirects=False)
        served_ok = client.get(f"/jobs/{jobs[1].id}/video", follow_redirects=False)
    assert refused.status_code == 404
    assert served_ok.status_code == 307 and "good.mp4" in served_ok.headers["location"]


def test_report_cells_that_would_run_as_formulas_are_quoted(tmp_path: Path) -> None:
    jobs = make_jobs("=HYPERLINK(1)", 1, "https://example.com/a.mp4", state=JobState.FAILED,
                     failure_message='=HYPERLINK("https://evil.example","x")')  # fmt: skip
    path = write_csv(build_rows(jobs), tmp_path / "report.csv")
    (row,) = list(csv.DictReader(path.open(encoding="utf-8")))
    assert row["batch"] == "'=HYPERLINK(1)"
    assert row["failure_message"] == '\'=HYPERLINK("https://evil.example","x")'
    assert not any(value.startswith(("=", "+", "-", "@")) for value in row.values())
