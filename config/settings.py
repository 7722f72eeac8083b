"""One `Settings` object, read from the environment (prefix ``RESTYLE_``) once per process.

Nested values use ``__``: ``RESTYLE_SEGMIND__API_KEYS=k1,k2`` and
``RESTYLE_SEGMIND__BASE_URL=http://127.0.0.1:8900/segmind``. Nothing below ``config`` reads
``os.environ``; everything else receives a `Settings`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ENV_PREFIX = "RESTYLE_"


class ProviderName(StrEnum):
    """The hosted APIs that sell Runway's Aleph (Gen-4 Aleph, or Aleph 2)."""

    RUNWAY = "runway"
    SEGMIND = "segmind"
    AIMLAPI = "aimlapi"
    VIBEDREAM = "vibedream"
    CRUN = "crun"
    OPENROUTER = "openrouter"
    COMFY = "comfy"


class SettingsError(Exception):
    """A setting is missing or wrong; the message names the environment variable."""


REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
SENTINEL_SCHEME = "sentinel://"


class SentinelSet(BaseModel):
    """Where the sentinels are, which primary they watch, and the database to use."""

    model_config = ConfigDict(frozen=True)

    sentinels: tuple[tuple[str, int], ...]
    master_name: str
    db: int = 0

    @classmethod
    def parse(cls, url: str) -> SentinelSet:
        """``sentinel://h1:26379,h2:26379,h3:26379/mymaster[/db]``; ValueError saying what is
        wrong (passwords never go here: RESTYLE_REDIS_PASSWORD, RESTYLE_REDIS_SENTINEL_PASSWORD)."""
        rest = url.removeprefix(SENTINEL_SCHEME)
        hosts, _, path = rest.partition("/")
        if "@" in hosts:
            raise ValueError(
                "put passwords in RESTYLE_REDIS_PASSWORD and RESTYLE_REDIS_SENTINEL_PASSWORD, "
                "not in the URL"
            )
        parts = [part for part in path.split("/") if part]
        if not parts or len(parts) > 2:
            raise ValueError("must be sentinel://host:port,host:port,.../master_name[/db]")
        if len(parts) == 2 and not parts[1].isdigit():
            raise ValueError(f"database {parts[1]!r} is not a number")
        sentinels = tuple(_host_port(item) for item in hosts.split(","))
        return cls(sentinels=sentinels, master_name=parts[0], db=int(parts[1]) if parts[1:] else 0)


def _host_port(item: str) -> tuple[str, int]:
    host, _, port = item.strip().rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"sentinel {item.strip()!r} is not host:port")
    return host, int(port)


def _split_keys(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class ProviderSettings(BaseModel):
    """Per-provider keys and overrides of the catalogue (None keeps the catalogue's value)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    retired_api_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    """Keys that take no new jobs but still poll and cancel the jobs already on them."""
    base_url: str | None = None
    concurrency: int | None = Field(default=None, ge=1, le=1000)
    rate_per_s: float | None = Field(default=None, gt=0, le=10_000)
    retention_s: float | None = Field(default=None, gt=0)
    typical_duration_s: float | None = Field(default=None, gt=0)
    price_per_second_usd: float | None = Field(default=None, ge=0)
    price_per_run_usd: float | None = Field(default=None, ge=0)
    model: str | None = Field(default=None, min_length=1)
    output_format: Literal["mp4", "prores", "png_sequence", "sdr_rec709_10bit"] | None = None
    """Runway aleph2's ``outputFormat``; non-mp4 formats cost extra per second."""
    daily_generations: int | None = Field(default=None, ge=1)
    public_figure_threshold: Literal["auto", "low"] | None = None
    """Runway's ``contentModeration.publicFigureThreshold`` (None: Runway's default)."""

    @field_validator("api_keys", "retired_api_keys", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return _split_keys(value)

    @field_validator("base_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/") if value else value

    @property
    def configured(self) -> bool:
        """True when at least one API key is present."""
        return bool(self.api_keys)


class WebSettings(BaseModel):
    """``restyle web``: who may log in, where it listens, whether it may change anything.

    ``users`` are ``user:password`` pairs and ``tokens`` bearer tokens, comma-separated
    (``RESTYLE_WEB__USERS=ann:pw1,bob:pw2``). Without either it refuses to start unless
    ``no_auth`` is set.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    users: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    tokens: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    host: str = "127.0.0.1"
    port: int = Field(default=8300, ge=1, le=65535)
    actions: bool = False
    """Read-only unless true: cancel, retry and re-run buttons appear only then."""
    no_auth: bool = False
    csrf_secret: SecretStr | None = None
    """Signs the forms' CSRF tokens; a random one per process when unset."""
    callback_body_bytes: int = Field(default=64 * 1024, ge=1024)
    allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Host names the dashboard answers to besides localhost, 127.0.0.1, [::1] and the public
    URL's host (``RESTYLE_WEB__ALLOWED_HOSTS=restyle.internal,10.0.1.5``)."""
    login_failures_per_min: int = Field(default=10, ge=1, le=10_000)
    """Failed logins one client address may make in a minute before it gets 429s."""

    @field_validator("users", "tokens", "allowed_hosts", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return _split_keys(value)

    @field_validator("users")
    @classmethod
    def _check_pairs(cls, value: list[SecretStr]) -> list[SecretStr]:
        for pair in value:
            user, sep, password = pair.get_secret_value().partition(":")
            if not (user and sep and password):
                raise ValueError("must be user:password[,user2:password2]")
        return value


class SeamSettings(BaseModel):
    """How a long clip's seams are hidden and judged (``RESTYLE_SEAMS__*``); a clip keeps the
    values it was submitted with.

    ``overlap_frames``: frames sent twice at each seam and crossfaded when stitching (0: a hard
    join); ``colour_match``: map every segment's colours onto the anchor segment's before the
    stitch; ``keyframes``: how many frames of segment 1's edit anchor the other segments where
    the model takes keyframes (Runway's aleph2, up to 5; elsewhere one reference image);
    ``ratio_limit`` and ``histogram_limit``: a seam whose jump is more than this many times the
    clip's ordinary frame-to-frame change, or whose colour histograms differ by more than this
    distance, is flagged. The defaults come from ``python -m bench.seams`` (docs/performance.md).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    overlap_frames: int = Field(default=6, ge=0, le=120)
    colour_match: bool = True
    keyframes: int = Field(default=5, ge=1, le=5)
    ratio_limit: float = Field(default=1.5, gt=0)
    histogram_limit: float = Field(default=0.05, gt=0, le=1)


DEFAULT_SEAMS = SeamSettings()


class Settings(BaseSettings):
    """Everything a restyle process needs to know about its surroundings."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="ignore",
        frozen=True,
    )

    redis_url: str = "redis://127.0.0.1:6379/0"
    """One Redis (``redis://``, ``rediss://``, ``unix://``) or a Sentinel set
    (``sentinel://host:port,host:port,.../master_name[/db]``); see `SentinelSet`."""
    redis_password: SecretStr | None = None
    """Redis's password (for a Sentinel set's primary and replicas; a plain URL may carry it)."""
    redis_sentinel_password: SecretStr | None = None
    """The sentinels' own password, when they have one (``requirepass`` in sentinel.conf)."""
    redis_username: str | None = None
    """Redis's ACL user (``redis://user@host`` in the URL says the same; the URL wins)."""
    redis_tls_ca_file: str | None = None
    """With ``rediss://``: the CA bundle (PEM) the server's certificate must chain to; unset,
    the system's CAs. Broker, result backend, ledger, limiter and beat all verify it."""
    redis_tls_cert_file: str | None = None
    """With ``rediss://``: a client certificate (PEM) for a server that asks for one."""
    redis_tls_key_file: str | None = None
    """The client certificate's private key (PEM)."""
    redis_connect_timeout_s: float = Field(default=3.0, gt=0, le=60)
    """How long a first connection may take before a command says Redis is unreachable."""
    redis_wait_replicas: int = Field(default=0, ge=0, le=16)
    """Replicas that must hold a costly write before restyle acts on it (``WAIT``); 0 = none."""
    redis_wait_timeout_ms: int = Field(default=1000, ge=1, le=60_000)
    redis_failover_wait_s: float = Field(default=30.0, gt=0, le=600)
    """How long one Redis call keeps retrying over a failover or an outage before it fails."""
    broker_url: str | None = None
    result_backend: str | None = None
    visibility_timeout_s: int = Field(default=43_200, ge=600)

    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_bucket: str = "restyle"
    s3_prefix: str = "outputs"
    s3_staging_prefix: str = "staging"
    s3_access_key_id: SecretStr | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_create_bucket: bool = False
    presign_ttl_s: int = Field(default=6 * 3600, ge=60, le=7 * 24 * 3600)

    runway: ProviderSettings = ProviderSettings()
    segmind: ProviderSettings = ProviderSettings()
    aimlapi: ProviderSettings = ProviderSettings()
    vibedream: ProviderSettings = ProviderSettings()
    crun: ProviderSettings = ProviderSettings()
    openrouter: ProviderSettings = ProviderSettings()
    comfy: ProviderSettings = ProviderSettings()
    openrouter_webhook_secret: SecretStr | None = None
    """The signing secret of OpenRouter's video webhooks (its workspace settings); unset:
    no OpenRouter callbacks, polling only."""

    http_connect_timeout_s: float = Field(default=5.0, gt=0)
    http_read_timeout_s: float = Field(default=30.0, gt=0)
    http_submit_read_timeout_s: float = Field(default=120.0, gt=0)
    """A submit POST's read timeout: much longer than a poll's, since a lost answer to a POST
    may be a second charge and a slow one is still an answer."""
    crun_callback_grace_s: float = Field(default=60.0, ge=0)
    """After a crun submit's answer is lost, how long to wait for its callback to announce the
    job before paying for a new one."""
    max_submit_attempts: int = Field(default=8, ge=1, le=100)
    # At most jobs.timing.MAX_COUNTDOWN_S, which every countdown is clamped to anyway.
    poll_max_interval_s: float = Field(default=60.0, gt=0, le=600.0)
    job_deadline_s: float = Field(default=3 * 3600, gt=0)
    breaker_cooldown_s: float = Field(
        default=30.0, gt=0
    )  # jobs.limits.breaker, without a Retry-After
    breaker_max_cooldown_s: float = Field(default=600.0, gt=0)
    breaker_credits_cooldown_s: float = Field(default=300.0, gt=0)
    job_record_ttl_s: int = Field(default=14 * 24 * 3600, ge=60)
    reconcile_interval_s: float = Field(default=60.0, gt=0)
    archive_stall_s: float = Field(default=900.0, gt=0)
    media_stall_s: float = Field(default=1800.0, gt=0)  # a cut or stitch not done by then is redone
    liveness_lease_s: float = Field(default=8.0, ge=0)
    """A worker holding a job in SUBMITTING or ARCHIVING, or a clip in a cut or stitch, renews a
    lease this long every quarter of it; a lapsed lease is re-driven at once (jobs.liveness).
    0: no leases, the stall timers alone (a fleet mixing workers from before leases)."""
    liveness_sweep_s: float = Field(default=3.0, gt=0)
    """How often beat sends ``restyle.reclaim``, which re-drives work whose lease lapsed."""
    archive_part_bytes: int = Field(default=8 * 1024 * 1024, ge=5 * 1024 * 1024)
    thumbnails: bool = True  # frames next to each stored output, made once (pipeline.thumbnails)
    allow_private_sources: bool = False
    output_max_bytes_per_s: int = Field(default=64 * 1024 * 1024, ge=1024 * 1024)
    """An output may hold this many bytes per second of its provider's longest window (5 s:
    320 MiB; Runway's 30 s: 1.9 GiB); a larger one is refused, never stored."""
    manifest_max_bytes: int = Field(default=256 * 1024 * 1024, ge=1024)
    """The largest manifest read; past it ``restyle submit`` refuses it before reading a row."""
    limiter_enabled: bool = True  # false only to measure plain Celery rate_limit (bench/quota.py)
    submit_rate_limit: str | None = None  # Celery's per-worker rate_limit of restyle.submit
    log_format: Literal["json", "text"] = "json"
    log_level: str = "INFO"
    schedules_file: str = "config/schedules.yaml"
    public_url: str | None = None
    """Where providers reach ``restyle web`` (crun callbacks); unset: no callbacks."""
    web: WebSettings = WebSettings()
    seams: SeamSettings = DEFAULT_SEAMS

    @field_validator("redis_url")
    @classmethod
    def _check_redis_target(cls, value: str) -> str:
        if value.startswith(SENTINEL_SCHEME):
            SentinelSet.parse(value)
        elif not value.startswith(REDIS_SCHEMES):
            raise ValueError(f"must start with {', '.join(REDIS_SCHEMES)} or {SENTINEL_SCHEME}")
        return value

    @field_validator("broker_url", "result_backend")
    @classmethod
    def _check_redis_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(REDIS_SCHEMES):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("s3_endpoint_url", "public_url")
    @classmethod
    def _check_endpoint(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    def provider(self, name: ProviderName | str) -> ProviderSettings:
        """The settings block of one provider."""
        value: ProviderSettings = getattr(self, ProviderName(name).value)
        return value

    @property
    def redis_sentinels(self) -> SentinelSet | None:
        """The Sentinel set ``redis_url`` names, or None for one Redis."""
        if self.redis_url.startswith(SENTINEL_SCHEME):
            return SentinelSet.parse(self.redis_url)
        return None


def _env_name(loc: tuple[int | str, ...]) -> str:
    return ENV_PREFIX + "__".join(str(part) for part in loc if not isinstance(part, int)).upper()


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment; on error raise `SettingsError` naming the variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise SettingsError(f"{_env_name(first['loc'])}: {first['msg']}") from None


def settings_from_env(env: Mapping[str, str]) -> Settings:
    """The settings ``env`` (``RESTYLE_*`` variables, as a child process would get them) holds,
    over the process's own environment; `SettingsError` as in `load_settings`."""
    values: dict[str, Any] = {}
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX):
            continue
        path = name.removeprefix(ENV_PREFIX).lower().split("__")
        target = values
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = value
    return load_settings(**values)


def key_id(api_key: SecretStr) -> str:
    """A short, non-secret name for an API key (for Redis keys, logs and job records)."""
    return hashlib.sha256(api_key.get_secret_value().encode()).hexdigest()[:12]
