"""The emulator's knobs: one frozen `EmulatorConfig`, built from a preset and partial updates.

Keys are never stored: per-key knobs and ``accepted_key_ids`` use `key_id` (the first 12 hex
digits of the key's SHA-256, the same value as ``config.settings.key_id``), so ``GET
/_emulator/config`` and the stats can be shown anywhere.
"""

from __future__ import annotations

import random
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from config import settings
from config.settings import ProviderName


def key_id(api_key: str) -> str:
    """A short, non-secret name for a raw API key: ``config.settings.key_id`` of it."""
    return settings.key_id(SecretStr(api_key))


class Knobs(BaseModel):
    """Base of every knob group: frozen, and unknown fields are an error."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Distribution(Knobs):
    """Processing time of a remote job in seconds: uniform between min_s and max_s."""

    min_s: float = Field(default=0.3, ge=0)
    max_s: float = Field(default=0.3, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.max_s < self.min_s:
            raise ValueError("max_s must be >= min_s")
        return self

    @classmethod
    def parse(cls, text: str) -> Distribution:
        """``"0.3"`` (fixed) or ``"0.2:0.5"`` (uniform)."""
        low, _, high = text.partition(":")
        return cls(min_s=float(low), max_s=float(high or low))

    def sample(self, rng: random.Random) -> float:
        """One processing time."""
        return rng.uniform(self.min_s, self.max_s)


class FaultRates(Knobs):
    """Probability per API request (or per job for ``job_failure``) of each fault class.

    Rejections (nothing is processed): ``rate_limited`` 429 with Retry-After, ``maintenance``
    (crun 455, others 503), ``server_error`` 500, ``bad_gateway`` 502, ``unavailable`` 503.
    ``slow`` waits ``slow_s`` before processing. After processing (a submit has created and
    charged its job): ``timeout`` holds the answer ``timeout_s``, ``malformed`` answers 200 with
    broken JSON, ``dropped`` closes the connection without an answer.
    """

    rate_limited: float = Field(default=0.0, ge=0, le=1)
    maintenance: float = Field(default=0.0, ge=0, le=1)
    server_error: float = Field(default=0.0, ge=0, le=1)
    bad_gateway: float = Field(default=0.0, ge=0, le=1)
    unavailable: float = Field(default=0.0, ge=0, le=1)
    slow: float = Field(default=0.0, ge=0, le=1)
    timeout: float = Field(default=0.0, ge=0, le=1)
    malformed: float = Field(default=0.0, ge=0, le=1)
    dropped: float = Field(default=0.0, ge=0, le=1)
    job_failure: float = Field(default=0.0, ge=0, le=1)
    slow_s: float = Field(default=2.0, ge=0)
    timeout_s: float = Field(default=120.0, ge=0)
    retry_after_s: float = Field(default=1.0, ge=0)


class KeyKnobs(Knobs):
    """Overrides for one API key (by key id). ``credits`` is how many jobs it can still pay for."""

    concurrency: int | None = Field(default=None, ge=0)
    rate_per_s: float | None = Field(default=None, gt=0)
    credits: int | None = Field(default=None, ge=0)
    daily_generations: int | None = Field(default=None, ge=0)


class ProviderKnobs(Knobs):
    """One provider's knobs. None means unlimited / any key / the global value.

    ``retention_s``: how long output URLs work; ``record_ttl_s``: how long a job can be polled
    (segmind: both 1 hour from submission). ``disabled``: submits are refused (crun 505).
    ``daily_generations``: paid jobs per key in a rolling ``daily_window_s`` (Runway's 24 h
    cap; over it, 429). ``check_input_url``: Runway HEADs the input URL at submit and refuses
    a redirect, a missing Content-Length or a non-video Content-Type (other providers ignore it).
    """

    accepted_key_ids: tuple[str, ...] | None = None
    concurrency: int | None = Field(default=None, ge=0)
    rate_per_s: float | None = Field(default=None, gt=0)
    retention_s: float = Field(default=24 * 3600, gt=0)
    record_ttl_s: float = Field(default=7 * 24 * 3600, gt=0)
    processing: Distribution | None = None
    faults: FaultRates | None = None
    disabled: bool = False
    daily_generations: int | None = Field(default=None, ge=0)
    daily_window_s: float = Field(default=24 * 3600, gt=0)
    check_input_url: bool = True


class Drift(Knobs):
    """How much one render's look differs from the next, as a real model's renders do.

    Each remote job draws its own colour cast (per-channel gain up to ``colour``), brightness
    offset (up to ``brightness`` levels of 255), contrast change (up to ``contrast``) and film
    grain (noise of up to ``grain`` levels), from its input, prompt and seed: the same request
    renders the same, a neighbouring segment renders differently. A reference image or keyframes
    anchor the look: the drift is multiplied by ``anchored`` divided by the square root of the
    number of anchoring images. ``enabled`` false renders deterministically (tests that compare
    pixels turn it off).
    """

    enabled: bool = True
    colour: float = Field(default=0.08, ge=0, le=1)
    brightness: float = Field(default=12.0, ge=0, le=128)
    contrast: float = Field(default=0.12, ge=0, le=1)
    grain: float = Field(default=3.0, ge=0, le=64)
    anchored: float = Field(default=0.5, ge=0, le=1)


DEV_WEBHOOK_SECRET = "whsec_restyle_dev"  # noqa: S105 - the local stack's, not a real one
"""The OpenRouter webhook secret of the local stack (devstack gives restyle the same)."""

REAL_RETENTION_S: dict[ProviderName, float] = {
    ProviderName.RUNWAY: 24 * 3600,  # "URLs expire within 24-48 hours"
    ProviderName.SEGMIND: 3600,  # status and result kept 1 hour after submission
    ProviderName.AIMLAPI: 24 * 3600,  # "URLs expire within 24-48 hours"
    ProviderName.VIBEDREAM: 3600,  # undocumented; conservative
    ProviderName.CRUN: 3600,  # undocumented; conservative
    ProviderName.OPENROUTER: 3600,  # undocumented; conservative
    ProviderName.COMFY: 24 * 3600,  # keyed results are kept 24 hours
}


def real_providers() -> dict[ProviderName, ProviderKnobs]:
    """Every provider with its documented retention and no limits."""
    knobs = {}
    for name, retention in REAL_RETENTION_S.items():
        ttl = retention if name is ProviderName.SEGMIND else 7 * 24 * 3600
        knobs[name] = ProviderKnobs(retention_s=retention, record_ttl_s=ttl)
    return knobs


class BadOutput(Knobs):
    """Give the first ``times`` jobs (None: all) whose prompt contains ``match`` a bad output
    (`emulator.defects`): black, frozen, truncated, unedited, blurred or not_video."""

    match: str = Field(min_length=1)
    defect: Literal["black", "frozen", "truncated", "unedited", "blurred", "not_video"]
    times: int | None = Field(default=None, ge=0)


class EmulatorConfig(Knobs):
    """All knobs. Change at run time with ``POST /_emulator/config`` (a partial JSON update).

    ``render_workers`` is read at start-up only. ``public_url`` replaces the scheme and host
    the client used in the URLs the emulator hands out. ``seed`` makes the fault dice repeatable.
    ``progress_exponent`` shapes the progress a running job reports (Runway's ``progress``): the
    fraction of its time gone, raised to this power. 1 (the default) is progress proportional to
    time, which is unconfirmed for the real API; above 1 a job reports a slow start and a fast
    end, below 1 the opposite, to try how polling copes with progress that is not linear.
    ``drift`` is how much each render's look varies (see `Drift`; on by default).
    ``echo_credentials`` copies the caller's credential header into every error body and every
    failed remote job's reason, as some real APIs do (see `emulator.echo`).
    """

    preset: str = "realistic"
    processing: Distribution = Distribution(min_s=120, max_s=240)
    faults: FaultRates = FaultRates()
    providers: dict[ProviderName, ProviderKnobs] = Field(default_factory=real_providers)
    keys: dict[str, KeyKnobs] = Field(default_factory=dict)
    honour_idempotency_key: bool = False
    echo_credentials: bool = False
    output_padding_bytes: int = Field(default=0, ge=0)
    moderation_keyword: str = "forbidden"
    bad_outputs: tuple[BadOutput, ...] = ()
    public_url: str | None = None
    seed: int | None = None
    render_workers: int = Field(default=1, ge=1, le=8)
    fetch_timeout_s: float = Field(default=20.0, gt=0)
    callback_timeout_s: float = Field(default=2.0, gt=0)
    openrouter_webhook_secret: str = DEV_WEBHOOK_SECRET
    """What OpenRouter signs its webhooks with (the workspace's signing secret)."""
    progress_exponent: float = Field(default=1.0, gt=0, le=10)
    drift: Drift = Drift()

    @model_validator(mode="after")
    def _all_providers(self) -> Self:
        missing = [name for name in ProviderName if name not in self.providers]
        if missing:
            defaults = real_providers()
            filled = dict(self.providers) | {name: defaults[name] for name in missing}
            object.__setattr__(self, "providers", filled)
        return self

    def updated(self, patch: dict[str, Any]) -> EmulatorConfig:
        """A copy with ``patch`` deep-merged in and validated (pydantic ValidationError if bad)."""
        merged = deep_merge(self.model_dump(mode="json"), patch)
        return EmulatorConfig.model_validate(merged)

    def provider(self, name: ProviderName) -> ProviderKnobs:
        """The knobs of one provider."""
        return self.providers[name]

    def processing_for(self, name: ProviderName) -> Distribution:
        """The provider's processing time distribution, or the global one."""
        return self.providers[name].processing or self.processing

    def faults_for(self, name: ProviderName) -> FaultRates:
        """The provider's fault rates, or the global ones."""
        return self.providers[name].faults or self.faults

    def key(self, kid: str) -> KeyKnobs:
        """The knobs of one key (all None when it has none)."""
        return self.keys.get(kid, _NO_KEY_KNOBS)

    def concurrency_for(self, name: ProviderName, kid: str) -> int | None:
        """How many jobs the key may run at once (the key's value wins)."""
        own = self.key(kid).concurrency
        return own if own is not None else self.providers[name].concurrency

    def daily_cap_for(self, name: ProviderName, kid: str) -> int | None:
        """Paid jobs the key may create per rolling window (the key's value wins)."""
        own = self.key(kid).daily_generations
        return own if own is not None else self.providers[name].daily_generations

    def rate_for(self, name: ProviderName, kid: str) -> float | None:
        """Requests per second the key may send (the key's value wins)."""
        own = self.key(kid).rate_per_s
        return own if own is not None else self.providers[name].rate_per_s


_NO_KEY_KNOBS = KeyKnobs()


def deep_merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``patch`` laid over it; nested dicts merge, anything else replaces."""
    merged = dict(base)
    for name, value in patch.items():
        current = merged.get(name)
        if isinstance(value, dict) and isinstance(current, dict):
            merged[name] = deep_merge(current, value)
        else:
            merged[name] = value
    return merged
