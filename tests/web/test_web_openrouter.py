"""OpenRouter's signed webhooks at ``restyle web``: forged, stale and replayed deliveries are
refused and change nothing; a good one wakes the job's poll once; one on an earlier try's URL
naming another video confirms (or, billed $0, clears) a double charge."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest
import redis
from pydantic import SecretStr

from cli.jobs import double_charge_text
from config.settings import ProviderName, Settings
from jobs.budget import Budget, Charge
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


def _deliver(client: httpx.Client, token: str, body: dict[str, object]) -> httpx.Response:
    raw = json.dumps(body).encode()
    key = f"{body['id']}-{body['status']}"
    return client.post(f"{OPENROUTER_PATH}{token}", content=raw, headers=_headers(raw, key))


def test_an_earlier_tries_webhook_naming_another_video_confirms_or_clears_its_charge(
    signed: Served,
) -> None:
    ledger, job, first = _submitted(signed)
    # Two re-sends after lost answers, each counted at the estimate and keeping the earlier
    # try's URL; then a re-send that does not keep it.
    budget = Budget(ledger.client)
    for _ in range(2):
        budget.accept(job.batch, Charge("openrouter", "2026-12-07"), job.estimated_cost_usd)
    second = register(ledger.client, job.id, 3600, keep=True)
    third = register(ledger.client, job.id, 3600, keep=True)
    flagged = ledger.update(job, expect=JobState.SUBMITTED, now=job.created_at,
                            possible_double_charges=2)  # fmt: skip
    assert flagged is not None
    with signed.client(auth=False) as client:
        paid = _deliver(client, first, {"id": "video-0", "status": "completed",
                                        "usage": {"cost": 1.25}})  # fmt: skip
        refunded = _deliver(client, second, {"id": "video-x", "status": "failed",
                                             "usage": {"cost": 0}})  # fmt: skip
        register(ledger.client, job.id, 3600)  # a new try after a clean end: not kept
        dead = _deliver(client, third, {"id": "video-y", "status": "completed"})

    assert (paid.json(), refunded.json()) == ({"outcome": "confirmed"}, {"outcome": "cleared"})
    assert dead.status_code == 404
    ended = ledger.require(job.id)
    assert ended.extra_remote_ids == ("video-0", "video-x")
    assert (ended.possible_double_charges, ended.double_charges_confirmed) == (0, 1)
    assert ended.billed_cost_usd == ended.double_charge_billed_usd == 1.25
    assert double_charge_text(ended).startswith("confirmed: paid twice, $1.25")
    money = budget.status(job.batch)
    assert (money.spent_usd, money.billed_usd) == (1.25, 1.25)  # the two estimates replaced
    assert signed.published.polls == []  # neither video is the job's: no poll woken
