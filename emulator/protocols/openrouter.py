"""OpenRouter's video API (openrouter.ai): ``POST /api/v1/videos`` and ``GET
/api/v1/videos/{id}`` for ``runway/aleph-2``, with signed webhooks.

Bearer key; errors are ``{"error": {"code", "message"}}``; not enough credits is a 402. A job
is ``pending``, ``in_progress``, ``completed`` or ``failed``; a completed one has ``urls``
(signed) and ``usage.cost`` in USD (a failed one costs 0). With ``callback_url`` the finished
job is POSTed there, signed ``X-OpenRouter-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
"<t>,<raw body>">`` with the workspace's secret (the ``openrouter_webhook_secret`` knob), and
``X-OpenRouter-Idempotency-Key: <job id>-<status>``. The source video as ``input_references``
is unconfirmed, as in the catalogue."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, Literal

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from config.catalogue import CATALOGUE
from config.settings import ProviderName
from emulator.engine import Accepted
from emulator.gateway import accept, api_route
from emulator.jobs import Cause, EditSpec, Phase, RemoteJob, phase_at
from emulator.protocols.base import Call, EditBody, FriendlyRatio, OutputClock, Wire, parse_ratio

MODEL = "runway/aleph-2"
PATH = "/api/v1/videos"
STATUS: dict[Phase, str] = {
    Phase.THROTTLED: "pending",
    Phase.QUEUED: "pending",
    Phase.RUNNING: "in_progress",
    Phase.SUCCEEDED: "completed",
    Phase.FAILED: "failed",
    Phase.CANCELLED: "cancelled",
}
FAILURES: dict[Cause, str] = {
    Cause.MODERATION: "The request was rejected by the provider's content policy.",
    Cause.GENERATION: "Video generation failed.",
    Cause.ASSET: "The input video could not be used.",
}


class _VideoUrl(BaseModel):
    url: str = Field(min_length=1)


class _Reference(BaseModel):
    type: Literal["video_url"]
    video_url: _VideoUrl


class VideoRequest(EditBody):
    """The ``POST /api/v1/videos`` body for runway/aleph-2."""

    model: Literal["runway/aleph-2"]
    prompt: str = Field(min_length=1)
    input_references: list[_Reference] = Field(min_length=1, max_length=1)
    aspect_ratio: FriendlyRatio | None = None
    seed: int | None = Field(default=None, ge=0, le=4_294_967_295)
    callback_url: str | None = Field(default=None, pattern=r"^https?://")

    def spec(self) -> EditSpec:
        """The edit in the emulator's terms."""
        return EditSpec(
            prompt=self.prompt,
            video_url=self.input_references[0].video_url.url,
            ratio=parse_ratio(self.aspect_ratio),
            seed=self.seed,
            callback_url=self.callback_url,
            model=self.model,
        )


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """``t=<ts>,v1=<hex>``: HMAC-SHA256 of ``"<ts>,<raw body>"``."""
    mac = hmac.new(secret.encode(), f"{timestamp},".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


class OpenRouterWire(Wire):
    """OpenRouter's video wire protocol."""

    name = ProviderName.OPENROUTER
    credits_status = 402
    output_clock = OutputClock.FINISH

    def error(self, status: int, message: str, request: Request) -> Response:
        return JSONResponse({"error": {"code": status, "message": message}}, status_code=status)

    def charge_at_submit(self, job: RemoteJob) -> float:
        return 0.0  # usage.cost is set once the job completes; failed jobs cost nothing

    def charge_at_finish(self, job: RemoteJob) -> float:
        return cost_of(job)

    def routes(self) -> list[BaseRoute]:
        return [
            api_route(self, PATH, ["POST"], self._submit),
            api_route(self, f"{PATH}/{{job_id}}", ["GET"], self._get),
        ]

    def callback_body(self, job: RemoteJob) -> dict[str, Any] | None:
        return video_json(self, job, job.base_url, job.final or Phase.FAILED)

    def callback_headers(self, job: RemoteJob, body: bytes, now: float) -> dict[str, str]:
        secret = self.emulator.config.openrouter_webhook_secret
        status = STATUS[job.final or Phase.FAILED]
        return {
            "x-openrouter-signature": signature(secret, int(now), body),
            "x-openrouter-idempotency-key": f"{job.id}-{status}",
        }

    async def _submit(self, request: Request, call: Call) -> Response:
        outcome = await accept(self, request, call, VideoRequest)
        if not isinstance(outcome, Accepted):
            return outcome
        job = outcome.job
        return JSONResponse({"id": job.id, "polling_url": f"{PATH}/{job.id}", "status": "pending"})

    async def _get(self, request: Request, call: Call) -> Response:
        job = self.emulator.find(call, request.path_params["job_id"])
        if job is None:
            return self.error(404, "Video generation job not found.", request)
        return JSONResponse(video_json(self, job, call.base_url, phase_at(job, call.now)))


def cost_of(job: RemoteJob) -> float:
    """What a finished job costs: its input's seconds at the catalogue price; 0 unless done."""
    if job.final is not Phase.SUCCEEDED:
        return 0.0
    spec = CATALOGUE[ProviderName.OPENROUTER]
    return spec.effective_price.estimate(min(job.source_seconds, spec.output_seconds))


def video_json(wire: Wire, job: RemoteJob, base_url: str, phase: Phase) -> dict[str, Any]:
    """A job as ``GET /api/v1/videos/{id}`` (and a webhook) shows it."""
    body: dict[str, Any] = {"id": job.id, "polling_url": f"{PATH}/{job.id}",
                            "status": STATUS[phase]}  # fmt: skip
    if phase is Phase.SUCCEEDED:
        emulator = wire.emulator
        call = Call(job.provider, job.key_id, emulator.clock(), base_url)
        urls = list(emulator.output_urls(call, job))
        body.update(generation_id=f"gen-{job.id}", urls=urls,
                    unsigned_urls=[f"{base_url}{PATH}/{job.id}/content?index=0"],
                    usage={"cost": cost_of(job), "is_byok": False})  # fmt: skip
    elif phase is Phase.FAILED:
        body.update(error=job.message or FAILURES[job.cause or Cause.GENERATION],
                    usage={"cost": 0.0, "is_byok": False})  # fmt: skip
    return body
