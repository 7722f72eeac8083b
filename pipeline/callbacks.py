"""crun callbacks: a per-job secret token, stored hashed; a callback only wakes the job's poll.

The URL given to crun is ``{RESTYLE_PUBLIC_URL}/callbacks/crun/{job_id}.{secret}``. Only the
SHA-256 of the secret is kept (``restyle:callback:{job_id}``), compared in constant time. A
callback is never taken as the result: it makes restyle poll the job at once (one more GET of
TaskInfo, whose answer is what counts), and polling stays as the backstop, at wider intervals.
A job still in SUBMITTING without a remote id (its POST's answer was lost) gets the remote id
the callback announces, so the job is not lost with its paid remote job, but only once crun
itself says so: the task is looked up with the job's own key (another key's task is unknown
there) and must have been created with this job's callback URL and one of its tokens
(`task_is_ours`); a forged callback naming any other task is refused.

Each paid try has its own token: a re-send after a POST that may have made a job keeps the
earlier token valid (`register` with ``keep``), so that POST's callback, however late, can
confirm a double charge (`pipeline.double_charges`). A token dies with its job: once the job has
ended its current token is deleted and its callbacks are a 404; earlier tries' tokens live out
their expiry. Repeats are dropped by (task id, status), not by the body's bytes, and a job
keeps at most `MAX_SEEN` of them, in the same hash as its token, so a flood of altered bodies
neither wakes a poll each nor adds a Redis key each.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import redis

from config.settings import ProviderName
from jobs import redis_keys
from jobs.delays import CALLBACK_BACKSTOP
from jobs.ledger import Ledger
from jobs.models import Job
from jobs.states import JobState
from providers.adapter import ProviderAdapter
from providers.crun import CrunAdapter
from providers.errors import ProviderFailure
from providers.openrouter import OpenRouterAdapter

if TYPE_CHECKING:
    from pipeline.context import Context

CALLBACK_PATH = "/callbacks/crun/"
DELIVERY_TTL_S = 24 * 3600
"""How long a webhook delivery's idempotency key is remembered (OpenRouter retries for hours)."""
OPENROUTER_PATH = "/callbacks/openrouter/"
"""OpenRouter's deliveries are signed as well (`pipeline.webhooks`); the token names the job."""
SECRET_BYTES = 24
MAX_SEEN = 16
"""Distinct (task id, status) callbacks a job takes; more are ignored (crun sends one or two)."""
SEEN_PREFIX = "s:"
_TOKEN = re.compile(r"^([0-9a-f]{24})\.([A-Za-z0-9_-]{20,64})$")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


_REGISTER = """
local previous = redis.call('HGET', KEYS[1], 'h')
if previous and ARGV[3] == '1' then
  redis.call('HSET', KEYS[1], 'p:' .. previous, '1')
end
redis.call('HSET', KEYS[1], 'h', ARGV[1])
redis.call('EXPIRE', KEYS[1], math.max(redis.call('TTL', KEYS[1]), tonumber(ARGV[2])))
return 1
"""


def register(client: redis.Redis[bytes], job_id: str, ttl_s: int, keep: bool = False) -> str:
    """A new token for ``job_id``; only its hash is stored. The older one is replaced, or with
    ``keep`` stays valid as an earlier try's (``p:<hash>``): that try's POST may have created
    a remote job whose callback is still to come (`pipeline.double_charges`)."""
    secret = secrets.token_urlsafe(SECRET_BYTES)
    script = client.register_script(_REGISTER)
    script(keys=[redis_keys.callback(job_id)], args=[_digest(secret), ttl_s, int(keep)])
    return f"{job_id}.{secret}"


@dataclass(frozen=True)
class TokenOwner:
    """The job a callback token belongs to; ``current`` unless it is an earlier try's."""

    job_id: str
    current: bool = True


ADOPTABLE = frozenset({JobState.SUBMITTING, JobState.RETRY_WAIT})
"""States in which a job may be waiting on a POST whose answer was lost."""


def callback_url(public_url: str, token: str, path: str = "") -> str:
    """The URL crun (or OpenRouter, with its ``path``) POSTs the job's final state to."""
    return public_url.rstrip("/") + (path or CALLBACK_PATH) + token


def job_of_token(client: redis.Redis[bytes], token: str) -> str | None:
    """The job id a token belongs to, or None for a malformed, unknown or wrong token."""
    match = _TOKEN.match(token)
    if match is None:
        return None
    job_id, secret = match.groups()
    stored = client.hget(redis_keys.callback(job_id), "h")
    # Compare the whole digest in constant time, even when nothing is stored.
    expected = stored if stored is not None else b"0" * 64
    matches = hmac.compare_digest(expected, _digest(secret).encode())
    return job_id if matches and stored is not None else None


def owner_of_token(client: redis.Redis[bytes], token: str) -> TokenOwner | None:
    """`job_of_token`, or else the job whose earlier try's token it is (kept by `register`);
    None for a malformed, unknown or wrong token. An earlier token is found by the SHA-256 of
    its secret, which is all that is stored: a guess finds nothing."""
    job_id = job_of_token(client, token)
    if job_id is not None:
        return TokenOwner(job_id)
    match = _TOKEN.match(token)
    if match is None:
        return None
    job_id, secret = match.groups()
    kept = client.hexists(redis_keys.callback(job_id), "p:" + _digest(secret))
    return TokenOwner(job_id, current=False) if kept else None


_SEEN = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('HLEN', KEYS[1]) > tonumber(ARGV[2]) then return -2 end
return redis.call('HSETNX', KEYS[1], ARGV[1], '1')
"""


def first_seen(client: redis.Redis[bytes], job_id: str, task_id: str, status: str) -> bool:
    """True the first time ``(task_id, status)`` is called back for ``job_id``; False for a
    repeat, once the job has `MAX_SEEN` of them, or when its token is gone. Kept as fields of
    the token's own hash: no key per callback, and they go when the token goes."""
    digest = hashlib.sha256(f"{task_id}\n{status}".encode()).hexdigest()[:32]
    script = client.register_script(_SEEN)
    answer = script(keys=[redis_keys.callback(job_id)], args=[SEEN_PREFIX + digest, MAX_SEEN])
    return int(answer) == 1


_FORGET = """
local kept = false
for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(field, 1, 2) == 'p:' then kept = true else redis.call('HDEL', KEYS[1], field) end
end
if not kept then redis.call('DEL', KEYS[1]) end
return 1
"""


def forget(client: redis.Redis[bytes], job_id: str) -> None:
    """Kill ``job_id``'s token (and its seen callbacks): the job has ended. Earlier tries'
    tokens kept by `register` live out their expiry: their callbacks may still be on the way."""
    client.register_script(_FORGET)(keys=[redis_keys.callback(job_id)])


def first_delivery(client: redis.Redis[bytes], idempotency_key: str) -> bool:
    """True the first time a delivery with this idempotency key arrives; False for a replay."""
    key = redis_keys.webhook_delivery(idempotency_key[:200])
    return bool(client.set(key, b"1", nx=True, ex=DELIVERY_TTL_S))


CALLING_BACK = frozenset({ProviderName.CRUN, ProviderName.OPENROUTER})
"""Providers that can POST a job's end to a URL restyle gives them."""


def has_callback(client: redis.Redis[bytes], job: Job) -> bool:
    """True when ``job`` registered a callback (crun and OpenRouter jobs can)."""
    return job.provider in CALLING_BACK and bool(client.exists(redis_keys.callback(job.id)))


@dataclass(frozen=True)
class Received:
    """What a callback did: ``woken`` (a poll was sent), ``recorded`` or ``ignored``."""

    outcome: str
    detail: str


Verify = Callable[[Job, str], str | None]
"""Why ``remote_id`` is not a task this job created (`task_is_ours`), or None when it is."""


def receive(
    ledger: Ledger,
    job_id: str,
    remote_id: str | None,
    now: datetime,
    wake_poll: Callable[[str], None],
    verify: Verify,
) -> Received:
    """Act on a verified callback for ``job_id`` announcing ``remote_id`` (None: unreadable)."""
    job = ledger.get(job_id)
    if job is None:
        return Received("ignored", "no such job")
    if job.state in ADOPTABLE and job.remote_id is None and remote_id:
        refused = verify(job, remote_id)
        if refused is not None:
            return Received("refused", refused)
        return _adopt(ledger, job, remote_id, now, wake_poll)
    if job.state is not JobState.SUBMITTED:
        return Received("ignored", f"job is {job.state}")
    if remote_id is not None and remote_id != job.remote_id:
        return Received("ignored", "the callback names another remote job")
    # A poll planned for "now" is never taken for a duplicate chain (pipeline.polling).
    if ledger.update(job, expect=JobState.SUBMITTED, now=now, next_poll_at=now) is None:
        return Received("ignored", "job moved")
    wake_poll(job_id)
    return Received("woken", "polling now")


def _adopt(
    ledger: Ledger, job: Job, remote_id: str, now: datetime, wake_poll: Callable[[str], None]
) -> Received:
    """Take the remote job a POST created but whose answer restyle never read (a lost answer,
    or a worker that died mid-POST): the job is submitted after all, and is not sent again."""
    moved = ledger.transition(
        job,
        JobState.SUBMITTED,
        expect={job.state},
        now=now,
        detail=f"remote id {remote_id} announced by the provider's callback (the POST's answer "
        "was never read): adopted, not sent again",
        remote_id=remote_id,
        submitted_at=now,
        answer_lost=False,
        next_poll_at=now,
    )
    if moved is None:
        return Received("ignored", "job moved")
    wake_poll(job.id)
    return Received("recorded", f"remote id {remote_id}")


def token_of(url: str) -> str:
    """The token a callback URL carries ("" when it is none of ours)."""
    _, found, token = url.partition(CALLBACK_PATH)
    return token if found else ""


def owner_of_task(callback_url: str, owner_of_token: Callable[[str], str | None]) -> str | None:
    """The job a task belongs to, by the callback URL it was created with: only the job whose
    current token it carries (the secret went to crun in that job's submission only). Pure."""
    token = token_of(callback_url)
    return owner_of_token(token) if token else None


def task_is_ours(ctx: Context, job: Job, remote_id: str) -> str | None:
    """Why crun's task ``remote_id`` may not be adopted by ``job``, or None when it may: it must
    be known to the job's own key and have been created with one of the job's callback URLs
    (its current try's, or an earlier try's kept by `register`)."""
    if job.key_id is None:
        return "the job has no key to look the task up with"
    adapter = ctx.adapter(job.provider, job.key_id)
    if not isinstance(adapter, CrunAdapter):
        return "only crun tasks are adopted"
    try:
        created_with = adapter.task_callback_url(remote_id)
    except ProviderFailure as exc:
        return f"task {remote_id} could not be confirmed with the job's key: {exc}"
    if owner_of_task(created_with, lambda token: _any_owner(ctx.redis, token)) != job.id:
        return f"task {remote_id} was not created by this job"
    return None


def _any_owner(client: redis.Redis[bytes], token: str) -> str | None:
    owner = owner_of_token(client, token)
    return None if owner is None else owner.job_id


def with_callback(ctx: Context, job: Job, adapter: ProviderAdapter) -> ProviderAdapter:
    """``adapter`` asking crun (or OpenRouter, when its webhook secret is set) to call back for
    ``job``, when ``RESTYLE_PUBLIC_URL`` is set."""
    public = ctx.settings.public_url
    if public is None:
        return adapter
    signed = ctx.settings.openrouter_webhook_secret is not None
    if isinstance(adapter, CrunAdapter):
        path = CALLBACK_PATH
    elif isinstance(adapter, OpenRouterAdapter) and signed:
        path = OPENROUTER_PATH
    else:
        return adapter
    ttl = int(ctx.settings.job_deadline_s + ctx.settings.poll_max_interval_s) + 3600
    # A re-send after a POST that may have created a job keeps that POST's token: its callback,
    # if it comes, is the provider's own word on a second charge (`pipeline.double_charges`).
    keep = job.remote_possible
    token = register(ctx.redis, job.id, max(ttl, DELIVERY_TTL_S) if keep else ttl, keep)
    bound = copy.copy(adapter)
    bound.callback_url = callback_url(public, token, path)
    return bound


def backstop_delay(ctx: Context, job: Job, delay_s: float) -> float:
    """The next poll's delay: ``delay_s``, widened for a job that will be called back."""
    if not has_callback(ctx.redis, job):
        return delay_s
    return CALLBACK_BACKSTOP.widen(delay_s, ctx.settings.poll_max_interval_s)
