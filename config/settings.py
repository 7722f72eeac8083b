"""One `Settings` object, read from the environment (prefix ``RESTYLE_``) once per process.

Nested values use ``__``: ``RESTYLE_SEGMIND__API_KEYS=k1,k2`` and
``RESTYLE_SEGMIND__BASE_URL=http://127.0.0.1:8900/segmind``. Nothing below ``config`` reads
``os.environ``; everything else receives a `Settings`.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ENV_PREFIX = "RESTYLE_"


class ProviderName(StrEnum):
    """The hosted APIs that sell Gen-4 Aleph."""

    RUNWAY = "runway"
    SEGMIND = "segmind"
    AIMLAPI = "aimlapi"
    VIBEDREAM = "vibedream"
    CRUN = "crun"


class SettingsError(Exception):
    """A setting is missing or wrong; the message names the environment variable."""


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


class Settings(BaseSettings):
    """Everything a restyle process needs to know about its surroundings."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="ignore",
        frozen=True,
    )

    redis_url: str = "redis://127.0.0.1:6379/0"
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

    http_connect_timeout_s: float = Field(default=5.0, gt=0)
    http_read_timeout_s: float = Field(default=30.0, gt=0)
    max_submit_attempts: int = Field(default=8, ge=1, le=100)
    poll_max_interval_s: float = Field(default=60.0, gt=0)
    job_deadline_s: float = Field(default=3 * 3600, gt=0)
    breaker_cooldown_s: float = Field(default=30.0, gt=0)  # jobs.breaker, without a Retry-After
    breaker_max_cooldown_s: float = Field(default=600.0, gt=0)
    breaker_credits_cooldown_s: float = Field(default=300.0, gt=0)
    job_record_ttl_s: int = Field(default=14 * 24 * 3600, ge=60)
    reconcile_interval_s: float = Field(default=60.0, gt=0)
    archive_stall_s: float = Field(default=900.0, gt=0)
    archive_part_bytes: int = Field(default=8 * 1024 * 1024, ge=5 * 1024 * 1024)
    allow_private_sources: bool = False
    limiter_enabled: bool = True  # false only to measure plain Celery rate_limit (bench/quota.py)
    submit_rate_limit: str | None = None  # Celery's per-worker rate_limit of restyle.submit
    log_format: Literal["json", "text"] = "json"
    log_level: str = "INFO"
    schedules_file: str = "config/schedules.yaml"

    @field_validator("redis_url", "broker_url", "result_backend")
    @classmethod
    def _check_redis_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("s3_endpoint_url")
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
    def celery_broker_url(self) -> str:
        return self.broker_url or self.redis_url

    @property
    def celery_result_backend(self) -> str:
        return self.result_backend or self.redis_url


def _env_name(loc: tuple[int | str, ...]) -> str:
    return ENV_PREFIX + "__".join(str(part) for part in loc if not isinstance(part, int)).upper()


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment; on error raise `SettingsError` naming the variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise SettingsError(f"{_env_name(first['loc'])}: {first['msg']}") from None


def key_id(api_key: SecretStr) -> str:
    """A short, non-secret name for an API key (for Redis keys, logs and job records)."""
    return hashlib.sha256(api_key.get_secret_value().encode()).hexdigest()[:12]
