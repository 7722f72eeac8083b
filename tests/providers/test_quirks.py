"""Per-provider quirks against the emulator: Runway's cancel and THROTTLED, crun's callbacks,
segmind's retention from submission, a provider's own validation error."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import httpx
import pytest

from config.catalogue import provider_spec
from config.settings import ProviderName, Settings
from devstack.stack import dev_key
from jobs.request import EditRequest
from providers.base import RemoteState
from providers.crun import CrunAdapter
from providers.errors import InvalidRequest, ResultExpired
from providers.registry import build_client, configured_key, get_adapter
from providers.runway import RunwayAdapter
from providers.vibedream import VibedreamAdapter
from tests.providers.conftest import configure, finish


@pytest.fixture
def runway(settings: Settings, emulator: httpx.Client) -> Iterator[RunwayAdapter]:
    adapter = get_adapter(ProviderName.RUNWAY, settings)
    assert isinstance(adapter, RunwayAdapter)
    yield adapter
    adapter.transport.client.close()


def slow_runway(emulator: httpx.Client, seconds: float, concurrency: int | None = None) -> None:
    knobs: dict[str, Any] = {"processing": {"min_s": seconds, "max_s": seconds}}
    if concurrency is not None:
        knobs["concurrency"] = concurrency
    configure(emulator, {"providers": {"runway": knobs}})


def test_runway_cancel_stops_a_running_task_and_a_second_cancel_deletes_it(
    runway: RunwayAdapter, emulator: httpx.Client, edit: EditRequest
) -> None:
    slow_runway(emulator, 30)
    job = runway.submit(edit, "job-cancel.1")
    runway.cancel(job.remote_id)
    assert runway.poll(job.remote_id).state is RemoteState.CANCELLED
    runway.cancel(job.remote_id)
    with pytest.raises(ResultExpired):
        runway.poll(job.remote_id)
    runway.cancel(job.remote_id)


def test_runway_throttled_tasks_read_as_queued_and_running_ones_report_progress(
    runway: RunwayAdapter, emulator: httpx.Client, edit: EditRequest
) -> None:
    slow_runway(emulator, 2.0, concurrency=1)
    first = runway.submit(edit, "job-a.1")
    second = runway.submit(edit, "job-b.1")
    assert second.remote_id != first.remote_id
    assert runway.poll(second.remote_id).state is RemoteState.QUEUED
    assert runway.poll(second.remote_id).raw["status"] == "THROTTLED"
    time.sleep(0.6)
    running = runway.poll(first.remote_id)
    assert running.state is RemoteState.RUNNING
    assert running.progress is not None and 0 < running.progress < 1


def test_segmind_expiry_counts_from_submission(
    settings: Settings, emulator: httpx.Client, edit: EditRequest
) -> None:
    adapter = get_adapter(ProviderName.SEGMIND, settings)
    job = adapter.submit(edit, "job-sg.1")
    status = finish(adapter, job.remote_id, submitted_at=job.submitted_at)
    assert status.state is RemoteState.SUCCEEDED
    assert status.expires_at == job.submitted_at + timedelta(hours=1)


def test_a_providers_own_validation_error_is_an_invalid_request(
    settings: Settings, emulator: httpx.Client, edit: EditRequest
) -> None:
    spec = provider_spec(ProviderName.VIBEDREAM, settings).model_copy(
        update={"ratios": ("16:9", "21:9")}
    )
    with build_client(spec, configured_key(settings, "vibedream"), settings) as client:
        adapter = VibedreamAdapter(spec, client)
        with pytest.raises(InvalidRequest) as caught:
            adapter.submit(edit.model_copy(update={"aspect_ratio": "21:9"}), "job-v.1")
    assert caught.value.status_code in (400, 422)
    assert caught.value.field is None


class _Receiver(BaseHTTPRequestHandler):
    bodies: queue.Queue[dict[str, Any]]

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        self.bodies.put(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def callbacks() -> Iterator[tuple[str, queue.Queue[dict[str, Any]]]]:
    """A real HTTP endpoint collecting the JSON bodies POSTed to it."""
    bodies: queue.Queue[dict[str, Any]] = queue.Queue()
    handler = type("Receiver", (_Receiver,), {"bodies": bodies})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/crun-callback", bodies
    server.shutdown()
    server.server_close()


def test_crun_posts_the_final_state_to_the_callback_url(
    settings: Settings,
    emulator: httpx.Client,
    edit: EditRequest,
    callbacks: tuple[str, queue.Queue[dict[str, Any]]],
) -> None:
    url, bodies = callbacks
    spec = provider_spec(ProviderName.CRUN, settings)
    with build_client(spec, configured_key(settings, "crun"), settings) as client:
        adapter = CrunAdapter(spec, client, callback_url=url)
        job = adapter.submit(edit, "job-cb.1")
        body = bodies.get(timeout=20)
        remote_id, status = adapter.parse_callback(body)
    assert remote_id == job.remote_id
    assert status.state is RemoteState.SUCCEEDED
    assert status.output_urls and status.output_urls[0].startswith("http")
    assert dev_key(ProviderName.CRUN) not in json.dumps(body)
