"""Debian's chromium drives ``restyle web`` against a live stack (Redis, moto, the emulator, a
real worker): log in, open a batch, filter to FAILED, retry one job and watch it run to STORED
without a reload. Screenshots go to the test's tmp dir, or to docs/ with
``RESTYLE_SCREENSHOTS=docs`` (how the README's are retaken); a test run never edits the tree."""

from __future__ import annotations

import base64
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from config.settings import ProviderName, Settings
from devstack import Stack
from jobs.failures import FailureKind
from jobs.ledger import Ledger
from jobs.states import JobState
from tests.pipeline.conftest import make_job, run_to_end, unique_batch
from tests.web.conftest import PASSWORD, USER, Served, serve, web_settings

if TYPE_CHECKING:
    from selenium.webdriver.chrome.webdriver import WebDriver

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where the screenshots go."""
    return DOCS if os.environ.get("RESTYLE_SCREENSHOTS") == "docs" else tmp_path


CHROMIUM = shutil.which("chromium")
DRIVER = shutil.which("chromedriver")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None or DRIVER is None,
        reason="needs Debian's chromium and chromium-driver (apt-get install chromium "
        "chromium-driver)",
    ),
]
webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (the dev extra)")


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service as DriverService

    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                 "--window-size=1400,1000"):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=DriverService(str(DRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def live(pipeline_stack: Stack, worker_settings: Settings) -> Iterator[Served]:
    # No publishers given: the app publishes to the workers on a Celery app, like the CLI.
    settings = web_settings(worker_settings).model_copy(update={"public_url": None})

    yield from serve(settings, real_publishers=True)


def _log_in(driver: WebDriver) -> None:
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd(
        "Network.setExtraHTTPHeaders", {"headers": {"Authorization": f"Basic {token}"}}
    )


def _wait(check: Callable[[], object], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _click_retry(driver: WebDriver) -> None:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    for _ in range(20):
        try:
            driver.find_element(By.CSS_SELECTOR, "#rows button[data-action=retry]").click()
            return
        except StaleElementReferenceException:
            time.sleep(0.05)
    raise AssertionError("the retry button kept being replaced")


def test_filter_retry_and_watch_it_run_to_stored(
    live: Served,
    browser: WebDriver,
    worker_settings: Settings,
    source_url: str,
    celery_app: object,
    shots: Path,
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver = browser
    ledger = Ledger(__import__("redis").Redis.from_url(worker_settings.redis_url))
    batch = unique_batch("browser")
    prompt = "<script>alert(1)</script> winter"
    done, failing = (
        make_job(worker_settings, batch, f"clip-{n}", ProviderName.RUNWAY, source_url, prompt)
        for n in (1, 2)
    )
    run_to_end(ledger, celery_app, [done], 60)
    assert ledger.add([failing]) == [True]
    ledger.transition(failing.id, JobState.FAILED, expect={JobState.QUEUED},
                      now=datetime.now(UTC), failure_kind=FailureKind.PROVIDER,
                      failure_message="the provider said: upstream render node lost")  # fmt: skip
    assert httpx.get(f"{live.url}/batches/{batch}").status_code == 401

    _log_in(driver)
    driver.get(f"{live.url}/")
    _wait(lambda: batch in driver.page_source, 20, "the batch on the live batches page")
    driver.save_screenshot(str(shots / "web-batches.png"))
    driver.find_element(By.LINK_TEXT, batch).click()
    driver.execute_script("window.__notReloaded = true;")

    def states(job_id: str = "") -> list[str]:
        # Read in the page: the rows are swapped live, so element handles go stale.
        found: list[str] = driver.execute_script(
            "return Array.from(document.querySelectorAll('#rows tr[data-state]'))"
            ".filter(r => !arguments[0] || r.getAttribute('data-job') === arguments[0])"
            ".map(r => r.getAttribute('data-state'));",
            job_id,
        )
        return found

    _wait(lambda: len(states()) == 2, 20, "both jobs in the table")
    Select(driver.find_element(By.ID, "f-state")).select_by_value("FAILED")
    _wait(lambda: states() == ["FAILED"], 20, "the FAILED filter")
    assert "upstream render node lost" in driver.page_source
    driver.save_screenshot(str(shots / "web-batch-failed.png"))

    _click_retry(driver)
    driver.switch_to.alert.accept()
    # The action's answer first, then the unfiltered rows: until they are swapped in, the page
    # still holds the FAILED filter's rows, which say nothing about the retry yet.
    _wait(lambda: "requeued" in driver.find_element(By.ID, "flash").text, 20, "the retry's answer")
    loaded = driver.find_element(By.TAG_NAME, "body").get_attribute("data-rows-loaded")
    Select(driver.find_element(By.ID, "f-state")).select_by_value("")
    _wait(lambda: driver.find_element(By.TAG_NAME, "body").get_attribute("data-rows-loaded")
          != loaded and len(states()) == 2, 20, "the unfiltered rows")  # fmt: skip
    seen: list[str] = []

    def stored() -> bool:
        for state in states(failing.id):
            if not seen or seen[-1] != state:
                seen.append(state)
        return bool(seen) and seen[-1] == "STORED"

    _wait(stored, 90, "the retried job to reach STORED")
    assert driver.execute_script("return window.__notReloaded === true;")
    # The click's POST is sent after the dialog closes: a refresh may still show FAILED first.
    after = seen[1:] if seen[0] == "FAILED" else seen
    assert "FAILED" not in after and after[-1] == "STORED", seen
    assert after[0] in ("QUEUED", "SUBMITTING", "SUBMITTED", "SUCCEEDED", "ARCHIVING"), seen
    assert driver.find_elements(By.CSS_SELECTOR, "#rows script") == []
    driver.save_screenshot(str(shots / "web-batch-stored.png"))
    driver.get(f"{live.url}/jobs/{failing.id}")
    _wait(lambda: "history" in driver.page_source, 10, "the job page")
    assert "<script>alert(1)</script> winter" in driver.find_element(By.ID, "prompt").text
    # The history the page shows: FAILED, requeued to QUEUED by the click, then on to STORED.
    history: list[str] = driver.execute_script(
        "return Array.from(document.querySelectorAll('#history tr td:nth-child(2)'))"
        ".map(td => td.textContent);"
    )
    after = history[history.index("FAILED") :]
    assert after[:2] == ["FAILED", "QUEUED"] and after[-1] == "STORED", history
    driver.save_screenshot(str(shots / "web-job.png"))
    metrics = httpx.get(f"{live.url}/metrics", auth=(USER, PASSWORD)).text
    assert 'restyle_poll_detection_delay_seconds_count{provider="runway"}' in metrics
    found = re.search(r'restyle_jobs\{provider="runway",state="STORED"\} (\d+)', metrics)
    assert found is not None and int(found.group(1)) >= 2  # others may share the Redis
