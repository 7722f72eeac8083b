"""Access to ``restyle web``: credentials on every route but /healthz, CSRF on actions,
read-only by default, prompts shown as text, and no secret in any page or answer."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime

import httpx
import pytest
import redis
from starlette.routing import Route

from config.settings import Settings, WebSettings
from devstack.s3 import MOTO_CREDENTIALS
from devstack.stack import dev_key
from jobs.failures import FailureKind
from jobs.ledger import Ledger
from jobs.states import JobState
from web.app import create_web_app
from web.auth import Credentials, WebConfigError

from .conftest import PASSWORD, TOKEN, USER, Served, make_jobs, serve

XSS = "<script>alert(1)</script>"
SIGNATURE = "5ec2e7516a7u2e0f"
"""Of a presigned source URL: a page shows where a source is, never the means to read it."""


def _paths(app_routes: list[Route]) -> list[tuple[str, str]]:
    filled = []
    for route in app_routes:
        path = re.sub(r"\{[^}]+\}", "x", route.path)
        for method in sorted(route.methods or {"GET"}):
            if method != "HEAD":
                filled.append((method, path))
    return filled


def test_every_route_but_healthz_answers_401_without_credentials(served: Served) -> None:
    app = create_web_app(served.settings, lambda jobs: None, lambda job_id: None)
    routes = [route for route in app.routes if isinstance(route, Route)]
    checked = 0
    with served.client(auth=False) as client:
        assert client.get("/healthz").status_code == 200
        for method, path in _paths(routes):
            if path in ("/healthz", "/favicon.ico") or path.startswith("/callbacks/"):
                continue  # callbacks authenticate by their per-job token: see test_web_callbacks
            answer = client.request(method, path)
            assert answer.status_code == 401, (method, path)
            assert answer.headers["www-authenticate"].startswith("Basic")
            checked += 1
        bad = client.get("/", auth=(USER, "wrong")).status_code
        forged = client.get("/", headers={"Authorization": "Bearer nope"}).status_code
    assert checked >= 15 and bad == 401 and forged == 401


def test_basic_auth_and_bearer_tokens_both_sign_in(served: Served) -> None:
    with httpx.Client(base_url=served.url) as client:
        assert client.get("/", auth=(USER, PASSWORD)).status_code == 200
        assert client.get("/", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_it_refuses_to_start_without_credentials_unless_told_to(settings: Settings) -> None:
    with pytest.raises(WebConfigError, match="RESTYLE_WEB__USERS"):
        Credentials(WebSettings())
    assert Credentials(WebSettings(no_auth=True)).check(None) == "anonymous"
    env = {"RESTYLE_REDIS_URL": settings.redis_url, "PATH": "/usr/bin:/bin"}
    run = subprocess.run(
        [sys.executable, "-m", "cli", "web"], env=env, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 2 and "refusing to start" in run.stderr


def _seed(settings: Settings, batch: str, count: int = 6) -> Ledger:
    ledger = Ledger(redis.Redis.from_url(settings.redis_url))
    jobs = make_jobs(batch, count, f"https://example.com/a.mp4?X-Amz-Signature={SIGNATURE}", XSS)
    assert all(ledger.add(jobs))
    now = datetime.now(UTC)
    for job in jobs[:2]:
        ledger.transition(job.id, JobState.FAILED, expect={JobState.QUEUED}, now=now,
                          failure_kind=FailureKind.MODERATION, failure_message=XSS)  # fmt: skip
    return ledger


def test_a_script_prompt_shows_as_text_on_every_page(served: Served) -> None:
    ledger = _seed(served.settings, "xss")
    job_id = ledger.batch_ids("xss")[0]
    with served.client() as client:
        pages = {
            path: client.get(path).text
            for path in ("/", "/batches/xss", "/providers", f"/jobs/{job_id}")
        }
        rows = client.get("/batches/xss/rows").json()
        pages["rows"] = rows["rows"] + rows["summary"]
        pages["failed"] = client.get("/batches/xss/rows?state=FAILED").json()["rows"]
        pages["metrics"] = client.get("/metrics").text
        api = client.get(f"/api/jobs/{job_id}")
    # JSON carries the prompt as data; it is never sniffed as HTML.
    assert api.json()["prompt"] == XSS and api.headers["content-type"] == "application/json"
    assert api.headers["x-content-type-options"] == "nosniff"
    for name, text in pages.items():
        assert XSS not in text, name
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert escaped in pages[f"/jobs/{job_id}"] and escaped in pages["failed"]


def test_actions_need_the_csrf_token_and_a_same_origin_request(served: Served) -> None:
    ledger = _seed(served.settings, "acts")
    failed = [job for job in ledger.get_many(ledger.batch_ids("acts")) if job.state.terminal]
    target = failed[0]
    with served.client() as client:
        page = client.get(f"/jobs/{target.id}").text
        token = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
        assert token is not None
        no_token = client.post(f"/jobs/{target.id}/retry", data={})
        cross = client.post(f"/jobs/{target.id}/retry", data={"csrf": token.group(1)},
                            headers={"Origin": "https://evil.example"})  # fmt: skip
        assert no_token.status_code == 403 and cross.status_code == 403
        assert ledger.require(target.id).version == target.version
        done = client.post(f"/jobs/{target.id}/retry", data={"csrf": token.group(1)},
                           headers={"Accept": "application/json"})  # fmt: skip
    assert done.status_code == 200, done.text
    assert ledger.require(target.id).state is JobState.QUEUED
    assert served.published.dispatched == [target.id]


def test_read_only_is_the_default(settings: Settings, redis_client: redis.Redis) -> None:
    read_only = settings.model_copy(update={"web": WebSettings(users=[f"{USER}:{PASSWORD}"])})
    ledger = _seed(read_only, "ro")
    for served in serve(read_only):
        target = ledger.get_many(ledger.batch_ids("ro"))[0]
        with served.client() as client:
            page = client.get(f"/jobs/{target.id}").text
            answer = client.post(f"/jobs/{target.id}/retry", data={"csrf": "x"})
        assert "read-only" in page and 'class="action"' not in page
        assert answer.status_code == 403
        assert ledger.require(target.id).version == target.version


def test_no_secret_in_any_page_or_answer_nor_in_metrics(served: Served) -> None:
    ledger = _seed(served.settings, "secrets")
    job_id = ledger.batch_ids("secrets")[0]
    secrets = [dev_key(name) for name in ("runway", "segmind", "aimlapi", "vibedream", "crun")]
    secrets += [PASSWORD, TOKEN, MOTO_CREDENTIALS["AWS_SECRET_ACCESS_KEY"], SIGNATURE]
    paths = ["/", "/batches/secrets", "/batches/secrets/rows", "/providers", f"/jobs/{job_id}",
             "/api/batches", "/api/batches/secrets", "/api/batches/secrets/jobs",
             f"/api/jobs/{job_id}", "/metrics", "/healthz", "/nope"]  # fmt: skip
    with served.client() as client:
        texts = {path: client.get(path).text for path in paths}
    assert "restyle_jobs{" in texts["/metrics"] and "restyle_limiter_in_flight" in texts["/metrics"]
    for path, text in texts.items():
        for secret in secrets:
            assert secret not in text, (path, secret[:6])
