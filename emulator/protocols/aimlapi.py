"""aimlapi (api.aimlapi.com): the universal ``/v2/video/generations`` and the legacy
``/v2/generate/video/runway/generation``, POST to submit and GET ``?generation_id=`` to poll.
Bearer key; errors are ``{message, path, requestId, statusCode, timestamp}``; out of credits is
403. A finished job shows ``video`` as an object on the universal path and as a list on the
legacy one; a failed job's ``error`` is ``{name, message}`` or a string likewise."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from config.settings import ProviderName
from emulator.engine import Accepted
from emulator.gateway import accept, api_route
from emulator.jobs import Cause, EditSpec, Phase, RemoteJob, phase_at
from emulator.protocols.base import Call, EditBody, PixelRatio, Wire, iso, parse_ratio

UNIVERSAL = "/v2/video/generations"
LEGACY = "/v2/generate/video/runway/generation"
CREDITS_USED = 120_000
STATUS: dict[Phase, str] = {
    Phase.THROTTLED: "queued",
    Phase.QUEUED: "queued",
    Phase.RUNNING: "generating",
    Phase.SUCCEEDED: "completed",
    Phase.FAILED: "error",
    Phase.CANCELLED: "error",
}
FAILURES: dict[Cause, tuple[str, str]] = {
    Cause.MODERATION: ("ContentModerationError", "The prompt was rejected by content moderation."),
    Cause.GENERATION: ("GenerationError", "The generation failed."),
    Cause.ASSET: ("InvalidInputError", "The input video could not be processed."),
}


class _Reference(BaseModel):
    type: Literal["image"]
    url: str = Field(min_length=1)


class GenerationParams(EditBody):
    """The ``runway/gen4_aleph`` body on both paths."""

    model: Literal["runway/gen4_aleph"]
    prompt: str = Field(min_length=1, max_length=1000)
    video_url: str = Field(min_length=1)
    frame_size: PixelRatio = "1280:720"
    duration: Literal[5] = 5
    seed: int | None = Field(default=None, ge=0, le=4_294_967_295)
    references: list[_Reference] | None = None

    def spec(self) -> EditSpec:
        """The edit in the emulator's terms."""
        reference = self.references[0].url if self.references else None
        return EditSpec(
            prompt=self.prompt,
            video_url=self.video_url,
            ratio=parse_ratio(self.frame_size),
            seed=self.seed,
            reference_url=reference,
        )


class AimlapiWire(Wire):
    """aimlapi's wire protocol."""

    name = ProviderName.AIMLAPI
    credits_status = 403
    not_an_object = "Body validation error! The body must be a JSON object."
    invalid_prefix = "Body validation error! "

    def error(self, status: int, message: str, request: Request) -> Response:
        body = {
            "message": message,
            "path": request.url.path.removeprefix(f"/{self.name.value}"),
            "requestId": str(uuid.uuid4()),
            "statusCode": str(status),
            "timestamp": iso(self.emulator.clock()),
        }
        return JSONResponse(body, status_code=status)

    def routes(self) -> list[BaseRoute]:
        return [
            api_route(self, UNIVERSAL, ["POST"], self._create),
            api_route(self, UNIVERSAL, ["GET"], self._fetch),
            api_route(self, LEGACY, ["POST"], self._create),
            api_route(self, LEGACY, ["GET"], self._fetch),
        ]

    async def _create(self, request: Request, call: Call) -> Response:
        outcome = await accept(self, request, call, GenerationParams)
        if not isinstance(outcome, Accepted):
            return outcome
        return JSONResponse({"id": outcome.job.id, "status": "queued"})

    async def _fetch(self, request: Request, call: Call) -> Response:
        generation_id = request.query_params.get("generation_id")
        if not generation_id:
            return self.error(400, "Query validation error! generation_id is required.", request)
        job = self.emulator.find(call, generation_id)
        if job is None:
            return self.error(404, "Generation not found.", request)
        legacy = request.url.path.endswith(LEGACY)
        return JSONResponse(self._generation(call, job, legacy))

    def _generation(self, call: Call, job: RemoteJob, legacy: bool) -> dict[str, Any]:
        phase = phase_at(job, call.now)
        body: dict[str, Any] = {"id": job.id, "status": STATUS[phase]}
        if phase is Phase.SUCCEEDED:
            url = self.emulator.output_urls(call, job)[0]
            body["video"] = [url] if legacy else {"url": url}
            body["error"] = None
            if not legacy:
                body["meta"] = {"usage": {"credits_used": CREDITS_USED}}
        elif phase.terminal:
            name, message = FAILURES[job.cause or Cause.GENERATION]
            text = job.message or message
            body["error"] = text if legacy else {"name": name, "message": text}
            body["video"] = None
        return body
