"""`Emulator`: the state behind every route (knobs, jobs, counters, faults) and the
provider-neutral verbs the protocols call: submit, find, cancel, output URLs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from config.settings import ProviderName
from emulator.config import EmulatorConfig
from emulator.defects import DefectPicker
from emulator.faults import CLEAN, Fault, Injections, Plan, RateWindow, draw_plan
from emulator.jobs import Cause, EditSpec, RemoteJob
from emulator.lifecycle import Lifecycle
from emulator.outputs import Signer
from emulator.pool import RenderPool
from emulator.protocols.base import Call, OutputClock, Wire
from emulator.stats import Stats, body_hash
from emulator.store import JobStore

log = logging.getLogger("emulator")
SWEEP_INTERVAL_S = 1.0


@dataclass(frozen=True)
class Accepted:
    """The submit created ``job`` (or, ``replayed``, found it by idempotency key)."""

    job: RemoteJob
    replayed: bool = False


@dataclass(frozen=True)
class Refusal:
    """The submit was refused before any job was created."""

    reason: Literal["credits", "concurrency", "disabled", "daily"]
    message: str
    retry_after_s: float | None = None


class Emulator:
    """Everything one emulator process knows. Lives on one event loop; not thread-safe."""

    def __init__(self, config: EmulatorConfig, clock: Callable[[], float] = time.time) -> None:
        self.initial = config
        self.config = config
        self.clock = clock
        self.rng = random.Random(config.seed)
        self.store = JobStore()
        self.stats = Stats()
        self.injections = Injections()
        self.window = RateWindow()
        self.signer = Signer()
        self.spent: Counter[str] = Counter()
        self.defects = DefectPicker()
        self.charges: Counter[str] = Counter()
        """The emulator's own ledger of what each provider charged, in micro-dollars."""
        self.generations: dict[tuple[ProviderName, str], deque[float]] = {}
        self.pool = RenderPool(config.render_workers)
        self.wires: dict[ProviderName, Wire] = {}
        self._client: httpx.AsyncClient | None = None
        self._lifecycle: Lifecycle | None = None
        self._background: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Open the HTTP client, warm the render pool, start the record sweeper."""
        self._client = httpx.AsyncClient(timeout=self.config.fetch_timeout_s)
        self._lifecycle = Lifecycle(
            self.store,
            self.pool,
            self._client,
            self._finished,
            lambda: self.config.fetch_timeout_s,
            self.clock,
            lambda: self.config.drift,
        )
        await self.pool.warm()
        self._spawn(self._sweep())

    async def stop(self) -> None:
        """Cancel everything in flight and close the client and the pool."""
        self.lifecycle.drop_all()
        for task in list(self._background):
            task.cancel()
        if self._client is not None:
            await self._client.aclose()
        self.pool.close()

    @property
    def http(self) -> httpx.AsyncClient:
        """The client the emulator fetches inputs with (exists once `start` has run)."""
        if self._client is None:
            raise RuntimeError("the emulator has not been started")
        return self._client

    @property
    def lifecycle(self) -> Lifecycle:
        """The job driver (exists once `start` has run)."""
        if self._lifecycle is None:
            raise RuntimeError("the emulator has not been started")
        return self._lifecycle

    def reset(self) -> None:
        """Drop jobs, counters and injected faults; restore the start-up knobs."""
        self.lifecycle.drop_all()
        self.config = self.initial
        self.rng = random.Random(self.initial.seed)
        self.stats = Stats()
        self.injections.clear()
        self.window.clear()
        self.spent.clear()
        self.defects.clear()
        self.charges.clear()
        self.generations.clear()
        self.pool.clear()

    def configure(self, config: EmulatorConfig) -> EmulatorConfig:
        """Replace the knobs (jobs and counters stay)."""
        if config.seed != self.config.seed:
            self.rng = random.Random(config.seed)
        if config.bad_outputs != self.config.bad_outputs:
            self.defects.clear()  # a new set of rules counts its uses afresh
        self.config = config
        return config

    def accepts(self, provider: ProviderName, kid: str) -> bool:
        """Whether the provider takes this key (any non-empty key unless restricted)."""
        allowed = self.config.provider(provider).accepted_key_ids
        return allowed is None or kid in allowed

    def precheck(self, provider: ProviderName, kid: str, now: float) -> Plan:
        """Injected maintenance, an injected 429 burst, or the key's request rate."""
        left = self.injections.maintenance_left(provider, now)
        if left is not None:
            said = self.injections.maintenance_retry_after(provider)
            return Plan(reject=Fault.MAINTENANCE, retry_after_s=left if said else None)
        burst = self.injections.take_rate_limit(kid)
        if burst is not None:
            return Plan(reject=Fault.RATE_LIMITED, retry_after_s=burst)
        rate = self.config.rate_for(provider, kid)
        wait = self.window.admit(f"{provider}:{kid}", rate, now) if rate else None
        return CLEAN if wait is None else Plan(reject=Fault.RATE_LIMITED, retry_after_s=wait)

    def plan(self, provider: ProviderName) -> Plan:
        """A random fault plan from the provider's fault rates."""
        return draw_plan(self.config.faults_for(provider), self.rng)

    def submit(self, call: Call, spec: EditSpec, body: dict[str, Any]) -> Accepted | Refusal:
        """Create (and charge) a remote job, or replay one, or refuse."""
        fingerprint = body_hash(call.kid, body)
        wire = self.wires.get(call.provider)
        honours = self.config.honour_idempotency_key or (
            wire is not None and wire.honours_idempotency
        )
        if call.idempotency_key and honours:
            known = self.store.by_idempotency_key(call.provider, call.kid, call.idempotency_key)
            if known is not None and not self._record_expired(known, call.now):
                self.stats.submission(call.idempotency_key, fingerprint, paid=False)
                return Accepted(known, replayed=True)
        refusal = self._refusal(call)
        if refusal is not None:
            return refusal
        job = self._new_job(call, spec, body)
        self.spent[call.kid] += 1
        self._charge(job, wire.charge_at_submit(job) if wire is not None else 0.0)
        self.generations.setdefault((call.provider, call.kid), deque()).append(call.now)
        self.stats.charge(call.provider)
        self.stats.submission(call.idempotency_key, fingerprint, paid=True)
        limit = self.config.concurrency_for(call.provider, call.kid)
        self.lifecycle.launch(job, call.now, limit)
        return Accepted(job)

    def _refusal(self, call: Call) -> Refusal | None:
        if self.config.provider(call.provider).disabled:
            return Refusal("disabled", "This model is currently disabled.")
        credits = self.config.key(call.kid).credits
        if credits is not None and self.spent[call.kid] >= credits:
            return Refusal("credits", "You do not have enough credits to run this task.")
        cap = self.config.daily_cap_for(call.provider, call.kid)
        if cap is not None and self.daily_usage(call.provider, call.kid, call.now) >= cap:
            return Refusal("daily", "You have exceeded the daily generation limit for this model.")
        limit = self.config.concurrency_for(call.provider, call.kid)
        slot = (call.provider, call.kid)
        if call.provider is ProviderName.RUNWAY or limit is None:
            return None
        if self.store.active_count(slot) < limit:
            return None
        return Refusal(
            "concurrency", "Too many concurrent jobs.", self._soonest_end(slot, call.now)
        )

    def daily_usage(self, provider: ProviderName, kid: str, now: float) -> int:
        """Paid jobs of the key within the provider's rolling daily window."""
        times = self.generations.get((provider, kid))
        if not times:
            return 0
        start = now - self.config.provider(provider).daily_window_s
        while times and times[0] <= start:
            times.popleft()
        return len(times)

    def _soonest_end(self, slot: tuple[ProviderName, str], now: float) -> float:
        ends = [
            job.started_at + job.duration_s - now
            for job in self.store
            if job.slot == slot and job.final is None and job.started_at is not None
        ]
        return max(1.0, min(ends, default=1.0))

    def _new_job(self, call: Call, spec: EditSpec, body: dict[str, Any]) -> RemoteJob:
        return RemoteJob(
            id=str(uuid.uuid4()),
            provider=call.provider,
            key_id=call.kid,
            spec=spec,
            body=body,
            created_at=call.now,
            duration_s=self.config.processing_for(call.provider).sample(self.rng),
            fate=self._fate(call.provider, spec),
            defect=self.defects.pick(spec.prompt, self.config.bad_outputs),
            idempotency_key=call.idempotency_key,
            base_url=call.base_url,
            progress_exponent=self.config.progress_exponent,
        )

    def _fate(self, provider: ProviderName, spec: EditSpec) -> Cause | None:
        keyword = self.config.moderation_keyword.lower()
        if keyword and keyword in spec.prompt.lower():
            return Cause.MODERATION
        if self.rng.random() < self.config.faults_for(provider).job_failure:
            return Cause.GENERATION
        return None

    def find(self, call: Call, job_id: str) -> RemoteJob | None:
        """The caller's job, unless unknown or past its record TTL."""
        job = self.store.get(call.provider, call.kid, job_id)
        if job is None or self._record_expired(job, call.now):
            return None
        return job

    def _record_expired(self, job: RemoteJob, now: float) -> bool:
        return now >= job.created_at + self.config.provider(job.provider).record_ttl_s

    def cancel(self, job: RemoteJob) -> bool:
        """Cancel a live job (True, charged what its provider charges for it) or delete a
        finished one (False)."""
        cancelled = self.lifecycle.cancel(job)
        wire = self.wires.get(job.provider)
        if cancelled and wire is not None:
            self._charge(job, wire.charge_at_finish(job))
        return cancelled

    def output_urls(self, call: Call, job: RemoteJob) -> tuple[str, ...]:
        """Signed URLs of the job's output (empty until it succeeded)."""
        if job.output is None or job.finished_at is None or job.cause is not None:
            return ()
        expires = self._url_expiry(job, call.now)
        token = self.signer.token(job.provider.value, job.id, expires)
        return (f"{call.base_url}/_files/{token}.mp4",)

    def _url_expiry(self, job: RemoteJob, now: float) -> float:
        knobs = self.config.provider(job.provider)
        clock = self.wires[job.provider].output_clock
        if clock is OutputClock.SUBMIT:
            return job.created_at + knobs.retention_s
        if clock is OutputClock.FETCH:
            return min(now + knobs.retention_s, job.created_at + knobs.record_ttl_s)
        return (job.finished_at or now) + knobs.retention_s

    def output(self, provider: ProviderName, token: str) -> bytes | None:
        """The bytes behind an output token, unless forged, expired or deleted."""
        now = self.clock()
        ticket = self.signer.check(provider.value, token, now)
        job = self.store.jobs.get(ticket.job_id) if ticket else None
        if job is None or job.provider is not provider or self._record_expired(job, now):
            return None
        return job.output

    def snapshot(self) -> dict[str, Any]:
        """The stats JSON."""
        data = self.stats.snapshot(self.store, self.clock())
        data["renders"] = self.pool.renders
        data["credits_spent"] = dict(self.spent)
        data["charges_usd"] = {name: micros / 1_000_000 for name, micros in self.charges.items()}
        return data

    def _charge(self, job: RemoteJob, amount_usd: float) -> None:
        job.charged_usd = round(job.charged_usd + amount_usd, 6)
        self.charges[job.provider.value] += round(amount_usd * 1_000_000)

    def _finished(self, job: RemoteJob) -> None:
        wire = self.wires.get(job.provider)
        if wire is not None:
            self._charge(job, wire.charge_at_finish(job))
        if job.spec.callback_url and wire is not None:
            body = wire.callback_body(job)
            if body is not None:
                raw = json.dumps(body, separators=(",", ":")).encode()
                headers = {"content-type": "application/json",
                           **wire.callback_headers(job, raw, self.clock())}  # fmt: skip
                self._spawn(self._callback(job.spec.callback_url, raw, headers))

    async def _callback(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        try:
            assert self._client is not None
            timeout = self.config.callback_timeout_s
            response = await self._client.post(url, content=body, headers=headers, timeout=timeout)
            ok = response.status_code == 200
        except httpx.HTTPError:
            ok = False
        if ok:
            self.stats.callbacks_sent += 1
        else:
            self.stats.callbacks_failed += 1

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_INTERVAL_S)
            self.purge(self.clock())

    def purge(self, now: float) -> None:
        """Forget finished jobs past their record TTL."""
        for job in self.store.expired(lambda job: self._record_expired(job, now)):
            self.store.remove(job)

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def wait(self, job: RemoteJob, timeout_s: float) -> None:
        """Wait until ``job`` is finished or ``timeout_s`` passed."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(job.done.wait(), timeout_s)
