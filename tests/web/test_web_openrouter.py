"""OpenRouter's signed webhooks at ``restyle web``: forged, stale and replayed deliveries are
refused and change nothing; a good one wakes the job's poll once."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import redis
from pydantic import SecretStr

from config.settings import ProviderName, Settings
from jobs.ledger import Ledger
from jobs.models import Job
from jobs.states import JobState
from pipeline.callbacks import OPENROUTER_PATH, register, with_callback
from pipeline.context import Context
from pipeline.webhooks import sign
from providers.openrouter import OpenRouterAdapter

from .conftest import Served, make_jobs, serve, web_settings

SECRET = "whsec_web_test"


@pytest.fixture
def signed(settings: Settings, redis_client: object) -> Iterator[Served]:
    update = {"openrouter_webhook_secret": SecretStr(SECRET)}
    yield from serve(web_settings(settings).model_copy(update=update))


def _submitted(served: Served) -> tuple[Ledger, Job, str]:
    ledger = Ledger(redis.Redis.from_url(served.settings.redis_url))
    job = make_jobs("orwh", 1, "https://example.com/a.mp4")[0]
    job = job.model_copy(update={"provider": ProviderName.OPENROUTER})
    assert ledger.add([job]) == [True]
    now = job.created_at
    moved = ledger.transition(job.id, JobState.SUBMITTING, expect={JobState.QUEUED}, now=now,
                              key_id="k1", attempt=1)  # fmt: skip
    assert moved is not None
    done = ledger.transition(moved, JobState.SUBMITTED, expect={JobState.SUBMITTING}, now=now,
                             remote_id="video-1", submitted_at=now)  # fmt: skip
    assert done is not None
    return ledger, done, register(ledger.client, job.id, 3600)


def _headers(body: bytes, key: str, at: float | None = None, secret: str = SECRET) -> dict:
    stamp = int(time.time() if at is None else at)
    return {"x-openrouter-signature": sign(secret, stamp, body),
            "x-openrouter-idempotency-key": key, "content-type": "application/json"}  # fmt: skip


BODY = json.dumps({"id": "video-1", "status": "completed"}, separators=(",", ":")).encode()


def test_forged_stale_and_replayed_deliveries_are_refused_and_a_good_one_wakes_once(
    signed: Served,
) -> None:
    ledger, job, token = _submitted(signed)
    url = f"{OPENROUTER_PATH}{token}"
    with signed.client(auth=False) as client:
        forged = client.post(url, content=BODY, headers=_headers(BODY, "video-1-completed",
                                                                 secret="guessed"))  # fmt: skip
        stale = client.post(
            url, content=BODY, headers=_headers(BODY, "video-1-completed", time.time() - 3600)
        )
        unsigned = client.post(url, content=BODY)
        wrong_token = client.post(f"{OPENROUTER_PATH}{job.id}.{'x' * 32}", content=BODY,
                                  headers=_headers(BODY, "video-1-completed"))  # fmt: skip
        assert (forged.status_code, stale.status_code, unsigned.status_code) == (401, 401, 401)
        assert wrong_token.status_code == 404
        assert ledger.require(job.id) == job and signed.published.polls == []
        good = client.post(url, content=BODY, headers=_headers(BODY, "video-1-completed"))
        # A captured delivery sent again, even re-signed fresh, is refused by its key.
        replay = client.post(url, content=BODY, headers=_headers(BODY, "video-1-completed"))
    assert good.json() == {"outcome": "woken"}
    assert replay.status_code == 409
    assert signed.published.polls == [job.id]


def test_openrouter_submissions_carry_a_callback_url_with_a_public_url_and_a_secret(
    settings: Settings, redis_client: object
) -> None:
    (job,) = make_jobs("orcb", 1, "https://example.com/a.mp4")
    job = job.model_copy(update={"provider": ProviderName.OPENROUTER})
    public = {"public_url": "https://r.example/"}
    unsigned = Context.from_settings(settings.model_copy(update=public))
    ctx = Context.from_settings(
        settings.model_copy(update={**public, "openrouter_webhook_secret": SecretStr(SECRET)})
    )
    key = ctx.key_ids(ProviderName.OPENROUTER)[0]
    plain = with_callback(unsigned, job, unsigned.adapter(job.provider, key))
    assert isinstance(plain, OpenRouterAdapter) and plain.callback_url is None
    bound = with_callback(ctx, job, ctx.adapter(job.provider, key))
    assert isinstance(bound, OpenRouterAdapter) and bound.callback_url is not None
    assert bound.callback_url.startswith(f"https://r.example{OPENROUTER_PATH}{job.id}.")
