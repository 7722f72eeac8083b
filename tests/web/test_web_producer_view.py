"""The producer's view, against a live stack (Redis, moto, the emulator, a real worker that
cuts, edits and stitches) and Debian's chromium: one batch of a long clip, two short jobs and a
cancelled clip.

The batch page lists the four items with their true states; the clip page plays the stitched
output beside its source (one control drives both), lists the segments in order with their
frames there on first load (made once, at archive and stitch time), and its cost is the sum of
its segments'; re-running one segment from the page stitches the clip again and adds that
segment's price. Then every count and cost is compared between `restyle status`, the three
report formats and the dashboard. Screenshots go to docs/ only with RESTYLE_SCREENSHOTS=docs.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import redis

from config.settings import ProviderName, Settings
from devstack import Stack
from jobs.batches import BatchStore
from jobs.clips.record import Clip, ClipState, Continuity
from jobs.clips.store import ClipStore
from jobs.ledger import Ledger
from media.samples import make_av_clip
from media.thumbnails import CLIP_FRAMES
from pipeline.context import Context
from pipeline.operations.cancelling import cancel_clip
from producer.batch import SubmitOptions, enqueue_batch, plan_batch
from producer.numbers import batch_tally
from producer.report import ReportRow, totals
from storage.object_keys import thumbnail_key
from storage.s3 import ensure_bucket, s3_client
from tasks.messages import dispatch_clips, dispatch_jobs
from tests.pipeline.clip_support import restyle
from tests.pipeline.conftest import make_job, unique_batch, wait_until
from tests.web.conftest import Served, serve, web_settings
from tests.web.test_web_browser import CHROMIUM, DRIVER, _log_in, _wait, browser, shots
from workers.factory import create_app

if TYPE_CHECKING:
    from selenium.webdriver.chrome.webdriver import WebDriver

__all__ = ["browser", "shots"]  # fixtures shared with the first browser test

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None or DRIVER is None, reason="needs Debian's chromium"),
]

LONG_S = 7.0


@dataclass
class Produced:
    """The batch, the clips by item and the settings the workers run with."""

    batch: str
    settings: Settings
    env: dict[str, str]
    long: Clip
    cancelled: Clip


def _settings(services: Stack, worker_env: dict[str, str]) -> Settings:
    env = services.env(**worker_env)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        return Settings()


@pytest.fixture(scope="module")
def produced(
    pipeline_stack: Stack,
    worker_env: dict[str, str],
    source_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Produced:
    """The batch, run until every item has ended (the cancelled clip never cut)."""
    settings = _settings(pipeline_stack, worker_env)
    folder = tmp_path_factory.mktemp("library")
    make_av_clip(folder / "a-long.mp4", LONG_S, 320, 180, 12)
    make_av_clip(folder / "d-cancelled.mp4", LONG_S, 320, 180, 12)
    s3 = s3_client(settings)
    ensure_bucket(s3, settings.s3_bucket)
    app = create_app(settings)
    client = redis.Redis.from_url(settings.redis_url)
    now = datetime.now(UTC)
    options = SubmitOptions(
        prompt="make it winter",
        batch=unique_batch("producer"),
        provider=ProviderName.SEGMIND,
        continuity=Continuity.NONE,
    )
    plan = plan_batch(str(folder), options, settings, now, s3=s3)
    ctx = Context.from_settings(settings)

    def dispatch(clips: Sequence[Clip]) -> int:
        # The cancelled clip is cancelled before its cut is sent: it is never cut.
        for clip in clips:
            if "d-cancelled" in clip.item:
                assert cancel_clip(ctx, clip.id, now) == "clip cancelled"
        return dispatch_clips(app, clips)

    result = enqueue_batch(
        plan,
        Ledger(client),
        BatchStore(client),
        lambda jobs: dispatch_jobs(app, jobs),
        now,
        dispatch_clips=dispatch,
    )
    # Two short single jobs in the same batch, of a 1.5 s source.
    shorts = [
        make_job(settings, plan.batch, f"{name}-short", ProviderName.SEGMIND, source_url)
        for name in ("b", "c")
    ]
    assert Ledger(client).add(shorts) == [True, True]
    dispatch_jobs(app, shorts)
    assert result.clips == 2
    batch_clips = ClipStore(client).batch_clips(plan.batch)
    clips = {name: c for c in batch_clips for name in ("a-long", "d-cancelled") if name in c.item}
    ledger = Ledger(client)
    wait_until(
        lambda: batch_tally(ledger, plan.batch).done,
        120,
        lambda: str(batch_tally(ledger, plan.batch)),
    )
    store = ClipStore(client)
    long, cancelled = store.get(clips["a-long"].id), store.get(clips["d-cancelled"].id)
    assert long is not None and cancelled is not None
    return Produced(plan.batch, settings, pipeline_stack.env(**worker_env), long, cancelled)


@pytest.fixture(scope="module")
def dashboard(produced: Produced) -> Iterator[Served]:
    settings = web_settings(produced.settings).model_copy(update={"public_url": None})
    yield from serve(settings, real_publishers=True)


def _items(driver: WebDriver) -> list[tuple[str, str, str]]:
    found: list[list[str]] = driver.execute_script(
        "return Array.from(document.querySelectorAll('#rows tr[data-state]'))"
        ".map(r => [r.getAttribute('data-kind'), r.getAttribute('data-state'),"
        " r.querySelector('td').textContent]);"
    )
    return [(kind, state, text) for kind, state, text in found]


def _frames_loaded(driver: WebDriver, scope: str) -> list[bool]:
    loaded: list[bool] = driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0] + ' img'))"
        ".map(i => i.complete && i.naturalWidth > 0);",
        scope,
    )
    return loaded


def test_the_batch_lists_its_items_and_the_clip_plays_beside_its_source_and_reruns_a_segment(
    produced: Produced, dashboard: Served, browser: WebDriver, shots: Path
) -> None:
    from selenium.webdriver.common.by import By

    driver, long = browser, produced.long
    ledger = Ledger(redis.Redis.from_url(produced.settings.redis_url))
    assert long.state is ClipState.STORED and long.output is not None
    s3 = s3_client(produced.settings)
    for name in CLIP_FRAMES:  # made once, at stitch time, next to the output
        s3.head_object(Bucket=long.output.bucket, Key=thumbnail_key(long.output.key, name))

    _log_in(driver)
    driver.get(f"{dashboard.url}/batches/{produced.batch}")
    _wait(lambda: len(_items(driver)) == 4, 20, "the four items")
    items = _items(driver)
    assert [(kind, state) for kind, state, _ in items] == [
        ("clip", "STORED"),
        ("job", "STORED"),
        ("job", "STORED"),
        ("clip", "CANCELLED"),
    ]
    count = len(long.segments)
    assert count >= 2 and f"{count} segments" in items[0][2]
    progress = driver.find_element(By.CSS_SELECTOR, '[data-cell="finished"]').text
    assert progress.startswith(f"4/4 items (2 clip(s), 2 job(s)); segments {count}/{count}"), (
        progress
    )
    _wait(lambda: all(_frames_loaded(driver, "#rows")), 5, "the items' frames")
    assert len(_frames_loaded(driver, "#rows")) == 2 + 2 * 2  # the clip's pair, the jobs' pairs
    driver.save_screenshot(str(shots / "web-batch-items.png"))

    assert driver.execute_script(
        "return fetch('/jobs/' + arguments[0]).then(r => r.url)", long.id
    ).endswith(f"/clips/{long.id}")
    driver.get(f"{dashboard.url}/clips/{long.id}")
    _wait(
        lambda: all(_frames_loaded(driver, "#segments")) and _frames_loaded(driver, "#segments"),
        5,
        "every segment's frames on first load",
    )
    assert len(_frames_loaded(driver, "#segments")) == 2 * count  # before and after of each
    order = driver.execute_script(
        "return Array.from(document.querySelectorAll('#segments tr[data-segment]'))"
        ".map(r => Number(r.getAttribute('data-segment')));"
    )
    assert order == list(range(1, count + 1))
    segments = ledger.get_many(long.segment_ids())
    assert [job.provider.value for job in segments] == ["segmind"] * count
    cost = float(driver.find_element(By.ID, "clip-cost").get_attribute("data-usd") or "nan")
    assert cost == pytest.approx(sum(job.estimated_cost_usd for job in segments)) and cost > 0

    # One play, one seek, on the stitched output: the source follows both.
    videos = (
        "return ['v-output', 'v-source'].map(id => document.getElementById(id))"
        ".map(v => [v.readyState, v.currentTime, v.paused, v.error && v.error.code]);"
    )
    driver.execute_script(
        "const o = document.getElementById('v-output'); o.muted = true; o.currentTime = 4.0;"
    )

    def followed_seek() -> bool:
        (out, src) = driver.execute_script(videos)
        return bool(out[0] > 0 and src[0] > 0 and abs(src[1] - 4.0) < 0.3)

    _wait(followed_seek, 10, "the source to follow a seek")
    driver.execute_script("document.getElementById('v-output').play();")
    _wait(lambda: not driver.execute_script(videos)[1][2], 10, "the source to play along")
    driver.execute_script("document.getElementById('v-output').pause();")
    _wait(lambda: driver.execute_script(videos)[1][2], 10, "the source to pause along")
    driver.save_screenshot(str(shots / "web-clip.png"))

    old_sha = long.output.sha256
    row = driver.find_element(By.CSS_SELECTOR, '#segments tr[data-segment="2"]')
    prompt = row.find_element(By.NAME, "prompt")
    prompt.clear()
    prompt.send_keys("make it autumn")
    row.find_element(By.CSS_SELECTOR, "button[data-action^='re-run']").click()
    driver.switch_to.alert.accept()

    def restitched() -> bool:
        clip = ClipStore(ledger.client).get(long.id)
        return bool(
            clip
            and clip.state is ClipState.STORED
            and clip.output
            and clip.output.sha256 != old_sha
        )

    _wait(restitched, 60, "the clip stitched again with the re-run segment")
    again = ClipStore(ledger.client).get(long.id)
    assert again is not None and len(again.superseded) == 1
    new = ledger.get(again.segments[1].job_id)
    assert new is not None and new.request.prompt == "make it autumn"
    assert again.superseded == (segments[1].id,)

    def page_cost() -> float:
        try:
            found = driver.find_element(By.ID, "clip-cost").get_attribute("data-usd")
            state = driver.find_element(By.ID, "clip-state").text
        except Exception:  # the page reloads itself while the clip is worked on
            return float("nan")
        return float(found or "nan") if state == "STORED" else float("nan")

    _wait(
        lambda: page_cost() == pytest.approx(cost + new.estimated_cost_usd),
        20,
        "the page to show the grown cost",
    )
    assert "superseded" in driver.page_source
    history = driver.find_element(By.ID, "history").text
    assert "segment 2 re-run" in history


def _html_numbers(page: str) -> dict[str, Any]:
    counts = {
        m[0]: int(m[1])
        for m in re.findall(
            r'value="(\w+)" checked> \w+ '
            r"\(<span data-count>(\d+)</span>\)",
            page,
        )
    }
    cell = dict(re.findall(r'<td data-total="([^"]+)">([^<]*)</td>', page))
    return {"items_by_state": counts, **cell}


def test_status_the_three_reports_and_the_dashboard_agree_on_every_count_and_cost(
    produced: Produced, dashboard: Served, tmp_path: Path, browser: WebDriver, shots: Path
) -> None:
    from typer.testing import CliRunner

    from cli.batches import write_batch_report
    from cli.main import app

    batch = produced.batch
    status = CliRunner().invoke(app, ["status", batch, "--json"], env=produced.env)
    assert status.exit_code == 0, status.output
    said = json.loads(status.stdout)
    with dashboard.client() as client:
        shown = client.get(f"/api/batches/{batch}").json()
        listed = client.get(f"/api/batches/{batch}/items").json()
        one_clip = client.get(f"/api/clips/{produced.long.id}").json()
    body = json.loads(
        write_batch_report(produced.settings, batch, "json", tmp_path / "r.json").read_text()
    )
    with write_batch_report(produced.settings, batch, "csv", tmp_path / "r.csv").open() as f:
        # The seams cell is a display format (`seams_cell`): counts and costs are the point.
        rows = [
            ReportRow.model_validate({k: v or None for k, v in line.items() if k != "seams"})
            for line in csv.DictReader(f)
        ]
    from_csv = totals(rows).as_dict()
    page = write_batch_report(produced.settings, batch, "html", tmp_path / "r.html").read_text()
    html = _html_numbers(page)

    names = [
        "items",
        "items_finished",
        "items_by_state",
        "single_jobs",
        "segments",
        "segments_finished",
        "jobs",
        "cost_usd",
        "stored_bytes",
    ]
    status_view = {name: said[name] for name in names}
    status_view["clips_by_state"] = {k: v for k, v in said["clips"].items() if v}
    status_view["jobs_by_state"] = {k: v for k, v in said["states"].items() if v}
    status_view["double_charges"] = said["possible_double_charges"]
    for view, numbers in (("dashboard", shown), ("json", body["totals"]), ("csv", from_csv)):
        mine = {name: numbers[name] for name in status_view}
        assert mine == status_view, view
    assert said["items"] == 4 and said["items_by_state"]["CANCELLED"] == 1
    assert html["items_by_state"] == said["items_by_state"]
    assert html["items"] == f"{said['items_finished']}/{said['items']} finished"
    assert html["segments"] == f"{said['segments_finished']}/{said['segments']} finished"
    # "$12.00 ($0.00 billed, $12.00 estimated)": the cost, then how much of it was billed.
    assert html["cost"].startswith(f"${said['cost_usd']:.2f} (")
    # A clip's row repeats its segments' sum; the batch's cost is every job's and segment's.
    clip_rows = [row for row in rows if row.kind == "clip"]
    for clip_row in clip_rows:
        parts = [r.cost_usd for r in rows if r.kind == "segment" and r.clip_id == clip_row.job_id]
        assert clip_row.cost_usd == pytest.approx(sum(parts))
    assert [i["state"] for i in listed["items"]] == ["STORED", "STORED", "STORED", "CANCELLED"]
    long_row = next(r for r in clip_rows if r.job_id == produced.long.id)
    assert one_clip["rollup"]["cost_usd"] == one_clip["clip"]["cost_usd"] == long_row.cost_usd
    assert [s["segment"] for s in one_clip["segments"]] == list(
        range(1, len(one_clip["segments"]) + 1)
    )
    # The HTML report holds its layout with clip rows: every frame there, details readable.
    browser.get((tmp_path / "r.html").as_uri())
    _wait(lambda: browser.execute_script(
        "return document.getElementById('image-check').hasAttribute('data-broken');"), 10,
        "the report's frames")  # fmt: skip
    check = browser.execute_script(
        "const c = document.getElementById('image-check');"
        "const clip = document.querySelector('tr.kind-clip td.meta');"
        "return [c.getAttribute('data-broken'), Number(c.getAttribute('data-total')),"
        " clip.getBoundingClientRect().width, document.body.scrollHeight];"
    )
    broken, frames, details_px, height = check
    # 2 jobs x 2, the stitched clip's 3 pairs, its segments' pairs (re-run included).
    assert broken == "0" and frames >= 2 * 2 + 6 + 2 * len(produced.long.segments), check
    assert details_px >= 200 and height < 200 * len(rows) + 600, check
    browser.save_screenshot(str(shots / "report-clips.png"))
    # `restyle job CLIP` states the same cost, and piped output is never cut short.
    job = CliRunner().invoke(app, ["job", produced.long.id], env=produced.env)
    assert job.exit_code == 0, job.output
    clip_cost = next(r.cost_usd for r in clip_rows if r.job_id == produced.long.id)
    assert f"cost         ${clip_cost:.2f}" in job.stdout
    plain = restyle({**produced.env, "COLUMNS": "80"}, "status", batch)  # piped, as a user's
    assert "…" not in plain.stdout and f"cost ${said['cost_usd']:.2f}" in plain.stdout
