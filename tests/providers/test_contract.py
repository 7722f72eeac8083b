"""One contract, every adapter: the same expectations against each provider in the emulator."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from config.catalogue import CATALOGUE, provider_spec
from config.settings import ProviderName, Settings
from devstack.stack import dev_key
from jobs.failures import FailureKind
from jobs.request import EditRequest
from providers.adapter import ProviderAdapter
from providers.base import Cancellable, RemoteState
from providers.errors import (
    AnswerLost,
    AuthenticationFailed,
    InsufficientCredits,
    InvalidRequest,
    ProviderError,
    ProviderFailure,
    ProviderUnavailable,
    RateLimited,
    ResultExpired,
)
from providers.registry import get_adapter
from tests.providers.conftest import configure, finish, submit_requests


def test_submit_then_poll_gives_a_downloadable_output_with_an_expiry(
    adapter: ProviderAdapter, provider: ProviderName, settings: Settings, edit: EditRequest
) -> None:
    job = adapter.submit(edit, "job-happy.1")
    assert job.remote_id
    assert job.submitted_at.tzinfo is not None
    status = finish(adapter, job.remote_id, submitted_at=job.submitted_at)
    assert status.state is RemoteState.SUCCEEDED, status
    assert status.failure_kind is None
    assert len(status.output_urls) == 1
    video = httpx.get(status.output_urls[0], timeout=10)
    assert video.status_code == 200
    assert len(video.content) > 1000
    retention = timedelta(seconds=provider_spec(provider, settings).retention_s)
    assert status.expires_at is not None
    assert job.submitted_at < status.expires_at <= datetime.now(UTC) + retention


def test_the_same_client_request_id_is_one_paid_job_where_the_key_is_honoured(
    adapter: ProviderAdapter, provider: ProviderName, emulator: httpx.Client, edit: EditRequest
) -> None:
    emulator.post("/_emulator/config", json={"honour_idempotency_key": True}).raise_for_status()
    first = adapter.submit(edit, "job-twice.1")
    again = adapter.submit(edit, "job-twice.1")
    assert again.remote_id == first.remote_id
    submissions = emulator.get("/_emulator/stats").json()["submissions"]
    assert submissions["requests_by_idempotency_key"]["job-twice.1"] == 2
    assert submissions["by_idempotency_key"]["job-twice.1"] == 1


def test_by_default_as_documented_the_same_client_request_id_is_paid_twice(
    adapter: ProviderAdapter, provider: ProviderName, emulator: httpx.Client, edit: EditRequest
) -> None:
    first = adapter.submit(edit, "job-twice.1")
    again = adapter.submit(edit, "job-twice.1")
    submissions = emulator.get("/_emulator/stats").json()["submissions"]
    if CATALOGUE[provider].honours_idempotency:
        # Comfy documents honouring the key: the re-send collects the first run, paid once.
        assert (again.remote_id, again.replayed, first.replayed) == (first.remote_id, True, False)
        assert submissions["by_idempotency_key"]["job-twice.1"] == 1
        return
    assert again.remote_id != first.remote_id
    assert submissions["by_idempotency_key"]["job-twice.1"] == 2


def test_a_rate_limited_submit_raises_with_the_retry_after_hint(
    adapter: ProviderAdapter, provider: ProviderName, emulator: httpx.Client, edit: EditRequest
) -> None:
    configure(emulator, {"key": dev_key(provider), "count": 2, "retry_after_s": 3},
              "inject/rate-limit")  # fmt: skip
    with pytest.raises(RateLimited) as caught:
        adapter.submit(edit, "job-429.1")
    assert caught.value.retry_after == 3.0
    assert caught.value.provider == provider.value
    with pytest.raises(RateLimited):
        adapter.poll("any-id")


def test_a_wrong_key_is_an_authentication_failure(
    provider: ProviderName, settings: Settings, emulator: httpx.Client, edit: EditRequest
) -> None:
    configure(emulator, {"provider": provider.value, "key_ids": ["someone-else"]}, "accept")
    adapter = get_adapter(provider, settings)
    with pytest.raises(AuthenticationFailed) as caught:
        adapter.submit(edit, "job-401.1")
    assert caught.value.status_code == 401
    with pytest.raises(AuthenticationFailed):
        adapter.poll("any-id")


def test_an_empty_balance_is_refused_before_any_job_is_created(
    adapter: ProviderAdapter, provider: ProviderName, emulator: httpx.Client, edit: EditRequest
) -> None:
    configure(emulator, {"key": dev_key(provider), "credits": 0}, "keys")
    # Runway reports missing credits as a plain 400 without a structured code.
    expected = InvalidRequest if provider is ProviderName.RUNWAY else InsufficientCredits
    with pytest.raises(expected) as caught:
        adapter.submit(edit, "job-402.1")
    assert caught.value.message
    assert emulator.get("/_emulator/stats").json()["submissions"]["paid_total"] == 0


FAULTS = [
    ("rate_limited", RateLimited, RateLimited),
    ("maintenance", ProviderUnavailable, ProviderUnavailable),
    ("server_error", ProviderError, ProviderError),
    ("bad_gateway", ProviderUnavailable, ProviderUnavailable),
    ("unavailable", ProviderUnavailable, ProviderUnavailable),
    ("malformed", AnswerLost, ProviderError),  # an unread 2xx submit may have created a job
    ("dropped", AnswerLost, AnswerLost),
]


@pytest.mark.parametrize(("fault", "expected", "on_poll"), FAULTS)
def test_faults_raise_their_class_and_the_adapter_never_retries(
    adapter: ProviderAdapter,
    provider: ProviderName,
    emulator: httpx.Client,
    edit: EditRequest,
    fault: str,
    expected: type[ProviderFailure],
    on_poll: type[ProviderFailure],
) -> None:
    configure(emulator, {"faults": {fault: 1.0, "retry_after_s": 2}})
    with pytest.raises(expected) as caught:
        adapter.submit(edit, f"job-{fault}.1")
    assert caught.value.provider == provider.value
    assert dev_key(provider) not in f"{caught.value} {caught.value!r} {caught.value.__cause__}"
    assert submit_requests(emulator, provider) == 1
    with pytest.raises(on_poll):
        adapter.poll("any-id")


def test_maintenance_is_unavailable_with_retry_after(
    adapter: ProviderAdapter, provider: ProviderName, emulator: httpx.Client, edit: EditRequest
) -> None:
    configure(emulator, {"provider": provider.value, "duration_s": 30}, "inject/maintenance")
    with pytest.raises(ProviderUnavailable) as caught:
        adapter.submit(edit, "job-455.1")
    expected_status = 455 if provider is ProviderName.CRUN else 503
    assert caught.value.status_code == expected_status
    assert caught.value.retry_after is not None
    assert 0 < caught.value.retry_after <= 30


def test_a_submit_read_timeout_is_an_answer_lost(
    provider: ProviderName, settings: Settings, emulator: httpx.Client, edit: EditRequest
) -> None:
    configure(emulator, {"faults": {"timeout": 1.0, "timeout_s": 3}})
    quick = settings.model_copy(update={"http_submit_read_timeout_s": 0.3})
    adapter = get_adapter(provider, quick)
    with pytest.raises(AnswerLost, match="ReadTimeout"):
        adapter.submit(edit, "job-timeout.1")


def test_a_submit_waits_longer_for_its_answer_than_a_poll(
    provider: ProviderName, settings: Settings, emulator: httpx.Client, edit: EditRequest
) -> None:
    configure(emulator, {"faults": {"timeout": 1.0, "timeout_s": 1}})
    timeouts = {"http_read_timeout_s": 0.3, "http_submit_read_timeout_s": 5.0}
    adapter = get_adapter(provider, settings.model_copy(update=timeouts))
    job = adapter.submit(edit, "job-slow.1")
    with pytest.raises(ProviderUnavailable, match="ReadTimeout"):
        adapter.poll(job.remote_id)


def test_a_2xx_submit_answer_that_cannot_be_read_is_an_answer_lost(
    adapter: ProviderAdapter, emulator: httpx.Client, edit: EditRequest
) -> None:
    configure(emulator, {"faults": {"malformed": 1.0}})
    with pytest.raises(AnswerLost):
        adapter.submit(edit, "job-malformed.1")
    assert emulator.get("/_emulator/stats").json()["submissions"]["paid_total"] == 1


MODERATION_KIND = {
    # Only Runway gives a structured cause (failureCode SAFETY.*); the others a sentence.
    ProviderName.RUNWAY: FailureKind.MODERATION,
}
GENERATION_KIND = {
    # Runway's INTERNAL.* failures are retryable at Runway's own word.
    ProviderName.RUNWAY: FailureKind.PROVIDER,
}


def test_moderation_ends_the_job_failed_with_the_providers_words(
    adapter: ProviderAdapter, provider: ProviderName, edit: EditRequest
) -> None:
    flagged = edit.model_copy(update={"prompt": "something forbidden"})
    status = finish(adapter, adapter.submit(flagged, "job-flagged.1").remote_id)
    assert status.state is RemoteState.FAILED
    assert status.failure_kind is MODERATION_KIND.get(provider, FailureKind.GENERATION)
    assert status.message
    assert status.output_urls == ()


def test_a_failed_generation_ends_the_job_failed(
    adapter: ProviderAdapter, provider: ProviderName, emulator: httpx.Client, edit: EditRequest
) -> None:
    configure(emulator, {"faults": {"job_failure": 1.0}})
    status = finish(adapter, adapter.submit(edit, "job-fail.1").remote_id)
    assert status.state is RemoteState.FAILED
    assert status.failure_kind is GENERATION_KIND.get(provider, FailureKind.GENERATION)
    assert status.message


def test_an_unknown_remote_id_is_an_expired_result(adapter: ProviderAdapter) -> None:
    with pytest.raises(ResultExpired) as caught:
        adapter.poll("00000000-0000-0000-0000-000000000000")
    assert caught.value.status_code == 404


def test_a_result_past_the_providers_retention_is_expired(
    adapter: ProviderAdapter, provider: ProviderName, emulator: httpx.Client, edit: EditRequest
) -> None:
    configure(emulator, {"providers": {provider.value: {"record_ttl_s": 0.5}}})
    job = adapter.submit(edit, "job-expire.1")
    assert not adapter.poll(job.remote_id).state.terminal
    time.sleep(0.6)
    with pytest.raises(ResultExpired):
        adapter.poll(job.remote_id)


def test_refused_requests_are_never_sent(
    adapter: ProviderAdapter, provider: ProviderName, emulator: httpx.Client, edit: EditRequest
) -> None:
    refused = edit.model_copy(update={"duration_s": 9})
    with pytest.raises(InvalidRequest) as caught:
        adapter.submit(refused, "job-refused.1")
    assert caught.value.field == "duration_s"
    assert submit_requests(emulator, provider) == 0


def test_only_cancellable_adapters_offer_cancel(adapter: ProviderAdapter) -> None:
    assert isinstance(adapter, Cancellable) is (adapter.name is ProviderName.RUNWAY)
