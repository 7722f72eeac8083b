"""The JSON admin API under ``/_emulator`` (documented in the package docstring)."""

from __future__ import annotations

from typing import Any, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from config.settings import ProviderName
from emulator import presets
from emulator.config import key_id
from emulator.engine import Emulator
from emulator.jobs import phase_at
from emulator.protocols.base import first_problem

M = TypeVar("M", bound=BaseModel)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _KeyRef(_Body):
    key: str | None = None
    key_id: str | None = None

    @model_validator(mode="after")
    def _one(self) -> Self:
        if (self.key is None) == (self.key_id is None):
            raise ValueError("give exactly one of key or key_id")
        return self

    @property
    def kid(self) -> str:
        """The key id named, directly or by the key."""
        return self.key_id or key_id(self.key or "")


class KeyLimits(_KeyRef):
    """``POST /_emulator/keys``: per-key concurrency, request rate and credit balance."""

    concurrency: int | None = Field(default=None, ge=0)
    rate_per_s: float | None = Field(default=None, gt=0)
    credits: int | None = Field(default=None, ge=0)


class RateLimitBurst(_KeyRef):
    """``POST /_emulator/inject/rate-limit``: 429 for the key's next ``count`` requests."""

    count: int = Field(default=1, ge=1)
    retry_after_s: float = Field(default=1.0, ge=0)


class Maintenance(_Body):
    """``POST /_emulator/inject/maintenance``: a window of ``duration_s`` starting now."""

    provider: ProviderName | None = None
    duration_s: float = Field(gt=0)
    retry_after: bool = True
    """False: the answers carry no Retry-After header."""


class AcceptedKeys(_Body):
    """``POST /_emulator/accept``: restrict a provider to these keys (null: any key)."""

    provider: ProviderName
    keys: list[str] | None = None
    key_ids: list[str] | None = None


class PresetChoice(_Body):
    """``POST /_emulator/preset``: replace the knobs with a named preset."""

    name: str


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _parse(request: Request, model: type[M]) -> M | JSONResponse:
    try:
        return model.model_validate(await request.json())
    except ValidationError as exc:
        return _error(422, first_problem(exc))
    except ValueError:
        return _error(400, "the body must be JSON")


class Admin:
    """The ``/_emulator`` routes of one `Emulator`."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    def routes(self) -> list[BaseRoute]:
        """Every admin route."""
        return [
            Route("/health", self.health, methods=["GET"]),
            Route("/stats", self.stats, methods=["GET"]),
            Route("/reset", self.reset, methods=["POST"]),
            Route("/config", self.get_config, methods=["GET"]),
            Route("/config", self.patch_config, methods=["POST"]),
            Route("/preset", self.preset, methods=["POST"]),
            Route("/keys", self.keys, methods=["POST"]),
            Route("/accept", self.accept, methods=["POST"]),
            Route("/inject/rate-limit", self.rate_limit, methods=["POST"]),
            Route("/inject/maintenance", self.maintenance, methods=["POST"]),
            Route("/jobs", self.jobs, methods=["GET"]),
        ]

    async def health(self, request: Request) -> Response:
        """GET /health: 200 while serving."""
        return JSONResponse({"status": "ok", "preset": self.emulator.config.preset})

    async def stats(self, request: Request) -> Response:
        """GET /stats: the counters (see `emulator.stats`)."""
        return JSONResponse(self.emulator.snapshot())

    async def reset(self, request: Request) -> Response:
        """POST /reset: drop jobs and counters, restore the start-up knobs."""
        self.emulator.reset()
        return self._config()

    async def get_config(self, request: Request) -> Response:
        """GET /config: every knob."""
        return self._config()

    def _config(self) -> Response:
        return JSONResponse(self.emulator.config.model_dump(mode="json"))

    async def patch_config(self, request: Request) -> Response:
        """POST /config: deep-merge a partial JSON update; 422 when invalid."""
        try:
            patch = await request.json()
        except ValueError:
            return _error(400, "the body must be JSON")
        if not isinstance(patch, dict):
            return _error(422, "the body must be a JSON object")
        return self._apply(patch)

    def _apply(self, patch: dict[str, Any]) -> Response:
        try:
            config = self.emulator.config.updated(patch)
        except ValidationError as exc:
            return _error(422, first_problem(exc))
        self.emulator.configure(config)
        return self._config()

    async def preset(self, request: Request) -> Response:
        """POST /preset {name}: replace the knobs with a preset."""
        choice = await _parse(request, PresetChoice)
        if isinstance(choice, Response):
            return choice
        try:
            config = presets.preset(choice.name)
        except KeyError as exc:
            return _error(422, str(exc.args[0]))
        self.emulator.configure(config)
        return self._config()

    async def keys(self, request: Request) -> Response:
        """POST /keys: set one key's concurrency, rate and credits (and refill its balance)."""
        limits = await _parse(request, KeyLimits)
        if isinstance(limits, Response):
            return limits
        knobs = limits.model_dump(include={"concurrency", "rate_per_s", "credits"})
        self.emulator.spent.pop(limits.kid, None)
        return self._apply({"keys": {limits.kid: knobs}})

    async def accept(self, request: Request) -> Response:
        """POST /accept: the keys a provider accepts (null: any)."""
        choice = await _parse(request, AcceptedKeys)
        if isinstance(choice, Response):
            return choice
        ids: list[str] | None = None
        if choice.keys is not None or choice.key_ids is not None:
            ids = [key_id(key) for key in choice.keys or []] + list(choice.key_ids or [])
        return self._apply({"providers": {choice.provider.value: {"accepted_key_ids": ids}}})

    async def rate_limit(self, request: Request) -> Response:
        """POST /inject/rate-limit: 429 for the key's next requests."""
        burst = await _parse(request, RateLimitBurst)
        if isinstance(burst, Response):
            return burst
        self.emulator.injections.rate_limit(burst.kid, burst.count, burst.retry_after_s)
        return JSONResponse({"key_id": burst.kid, "count": burst.count})

    async def maintenance(self, request: Request) -> Response:
        """POST /inject/maintenance: a maintenance window starting now."""
        window = await _parse(request, Maintenance)
        if isinstance(window, Response):
            return window
        providers = [window.provider] if window.provider else list(ProviderName)
        until = self.emulator.clock() + window.duration_s
        self.emulator.injections.maintenance(providers, until, window.retry_after)
        return JSONResponse({"providers": [p.value for p in providers], "until": until})

    async def jobs(self, request: Request) -> Response:
        """GET /jobs: every kept remote job, without its input or output."""
        now = self.emulator.clock()
        listing = [
            {
                "id": job.id,
                "provider": job.provider.value,
                "key_id": job.key_id,
                "state": phase_at(job, now).value,
                "idempotency_key": job.idempotency_key,
                "created_at": job.created_at,
                "duration_s": job.duration_s,
                "started_at": job.started_at,
                "finished_at": job.finished_at,
            }
            for job in self.emulator.store
        ]
        return JSONResponse({"jobs": listing})
