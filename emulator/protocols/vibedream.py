"""vibedream (api.vibedream.ai): ``POST /api/v1/models/gen4-aleph/generate`` and
``GET /api/v1/predictions/{id}``, both answering the same flat prediction object. Bearer key;
errors are ``{"error": ...}`` (undocumented: an assumption); out of credits is 402."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from config.settings import ProviderName
from emulator.engine import Accepted
from emulator.gateway import accept, api_route
from emulator.jobs import Cause, EditSpec, Phase, RemoteJob, phase_at
from emulator.protocols.base import Call, EditBody, Wire, iso, parse_ratio

MODEL_ID = "gen4-aleph"
MODEL_NAME = "RunwayML Gen4 Aleph"
COST_CENTS = 100  # "from $1.00/run"
STATUS: dict[Phase, str] = {
    Phase.THROTTLED: "processing",
    Phase.QUEUED: "processing",
    Phase.RUNNING: "processing",
    Phase.SUCCEEDED: "completed",
    Phase.FAILED: "failed",
    Phase.CANCELLED: "failed",
}
FAILURES: dict[Cause, str] = {
    Cause.MODERATION: "Your request was flagged by content moderation. Please modify your prompt.",
    Cause.GENERATION: "Generation failed. Please try again.",
    Cause.ASSET: "The input video could not be processed.",
}


class GenerateParams(EditBody):
    """The gen4-aleph generate body."""

    prompt: str = Field(min_length=1, max_length=1000)
    video: str = Field(min_length=1)
    aspect_ratio: Literal["16:9", "4:3", "1:1", "3:4", "9:16"] = "16:9"
    reference_image: str | None = None

    def spec(self) -> EditSpec:
        """The edit in the emulator's terms."""
        return EditSpec(
            prompt=self.prompt,
            video_url=self.video,
            ratio=parse_ratio(self.aspect_ratio),
            reference_url=self.reference_image,
        )


class VibedreamWire(Wire):
    """vibedream's wire protocol."""

    name = ProviderName.VIBEDREAM

    def error(self, status: int, message: str, request: Request) -> Response:
        return JSONResponse({"error": message}, status_code=status)

    def routes(self) -> list[BaseRoute]:
        return [
            api_route(self, f"/api/v1/models/{MODEL_ID}/generate", ["POST"], self._generate),
            api_route(self, "/api/v1/predictions/{prediction_id}", ["GET"], self._prediction),
        ]

    async def _generate(self, request: Request, call: Call) -> Response:
        outcome = await accept(self, request, call, GenerateParams)
        if not isinstance(outcome, Accepted):
            return outcome
        return JSONResponse(self._flat(call, outcome.job))

    async def _prediction(self, request: Request, call: Call) -> Response:
        job = self.emulator.find(call, request.path_params["prediction_id"])
        if job is None:
            return self.error(404, "Prediction not found.", request)
        return JSONResponse(self._flat(call, job))

    def _flat(self, call: Call, job: RemoteJob) -> dict[str, Any]:
        phase = phase_at(job, call.now)
        outputs = list(self.emulator.output_urls(call, job)) if phase is Phase.SUCCEEDED else None
        error = None
        if phase in (Phase.FAILED, Phase.CANCELLED):
            error = job.message or FAILURES[job.cause or Cause.GENERATION]
        return {
            "id": job.id,
            "modelId": MODEL_ID,
            "modelName": MODEL_NAME,
            "status": STATUS[phase],
            "outputs": outputs,
            "error": error,
            "statusUrl": f"{call.base_url}/api/v1/predictions/{job.id}",
            "estimatedTime": "5-15s",
            "costCents": COST_CENTS,
            "createdAt": iso(job.created_at),
            "completedAt": iso(job.finished_at) if phase.terminal else None,
        }
