"""Runway's own API (api.dev.runwayml.com): ``POST /v1/video_to_video``, ``GET`` and ``DELETE
/v1/tasks/{id}``. Bearer key plus ``X-Runway-Version: 2024-11-06``; errors are ``{"error": ...}``;
over the key's concurrency a task waits as THROTTLED; not enough credits is a 400."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from config.settings import ProviderName
from emulator.engine import Accepted, Emulator
from emulator.gateway import accept, api_route
from emulator.jobs import Cause, EditSpec, Phase, RemoteJob, phase_at, progress_at
from emulator.protocols.base import Call, EditBody, OutputClock, PixelRatio, Wire, iso, parse_ratio

API_VERSION = "2024-11-06"
CREDITS_PER_JOB = 75  # 5 s at 15 credits/s
STATUS: dict[Phase, str] = {
    Phase.THROTTLED: "THROTTLED",
    Phase.QUEUED: "PENDING",
    Phase.RUNNING: "RUNNING",
    Phase.SUCCEEDED: "SUCCEEDED",
    Phase.FAILED: "FAILED",
    Phase.CANCELLED: "CANCELLED",
}
FAILURES: dict[Cause, tuple[str, str]] = {
    Cause.MODERATION: ("SAFETY.INPUT.TEXT", "Your prompt was flagged by our content moderation."),
    Cause.GENERATION: ("INTERNAL.BAD_OUTPUT.CODE01", "The generation failed. Please try again."),
    Cause.ASSET: ("ASSET.INVALID", "The input video could not be used."),
}


class _Reference(BaseModel):
    type: Literal["image"]
    uri: str = Field(min_length=1)


class _Moderation(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    public_figure_threshold: Literal["auto", "low"] | None = Field(
        default=None, alias="publicFigureThreshold"
    )


class VideoToVideo(EditBody):
    """The ``POST /v1/video_to_video`` body for ``gen4_aleph``."""

    model_config = ConfigDict(populate_by_name=True)

    model: Literal["gen4_aleph"]
    video_uri: str = Field(min_length=1, max_length=2048 * 16, alias="videoUri")
    prompt_text: str = Field(min_length=1, alias="promptText")
    ratio: PixelRatio | None = None
    seed: int | None = Field(default=None, ge=0, le=4_294_967_295)
    references: list[_Reference] | None = Field(default=None, max_length=1)
    content_moderation: _Moderation | None = Field(default=None, alias="contentModeration")

    @field_validator("prompt_text")
    @classmethod
    def _utf16_length(cls, value: str) -> str:
        if len(value.encode("utf-16-le")) // 2 > 1000:
            raise ValueError("must be at most 1000 UTF-16 code units")
        return value

    def spec(self) -> EditSpec:
        """The edit in the emulator's terms."""
        reference = self.references[0].uri if self.references else None
        return EditSpec(
            prompt=self.prompt_text,
            video_url=self.video_uri,
            ratio=parse_ratio(self.ratio),
            seed=self.seed,
            reference_url=reference,
        )


class RunwayWire(Wire):
    """Runway's wire protocol."""

    name = ProviderName.RUNWAY
    credits_status = 400
    output_clock = OutputClock.FETCH
    not_an_object = "The request body must be a JSON object."

    def check_headers(self, request: Request) -> str | None:
        version = request.headers.get("x-runway-version")
        if version != API_VERSION:
            return f"The X-Runway-Version header must be set to {API_VERSION}."
        return None

    def error(self, status: int, message: str, request: Request) -> Response:
        return JSONResponse({"error": message}, status_code=status)

    def routes(self) -> list[BaseRoute]:
        return [
            api_route(self, "/v1/video_to_video", ["POST"], self._create),
            api_route(self, "/v1/tasks/{task_id}", ["GET", "DELETE"], self._task),
        ]

    async def _create(self, request: Request, call: Call) -> Response:
        outcome = await accept(self, request, call, VideoToVideo)
        if not isinstance(outcome, Accepted):
            return outcome
        return JSONResponse({"id": outcome.job.id})

    async def _task(self, request: Request, call: Call) -> Response:
        job = self.emulator.find(call, request.path_params["task_id"])
        if job is None:
            return self.error(404, "Task not found.", request)
        if request.method == "DELETE":
            self.emulator.cancel(job)
            return Response(status_code=204)
        return JSONResponse(task_json(self.emulator, call, job))


def task_json(emulator: Emulator, call: Call, job: RemoteJob) -> dict[str, Any]:
    """A task as ``GET /v1/tasks/{id}`` shows it."""
    phase = phase_at(job, call.now)
    body: dict[str, Any] = {"id": job.id, "status": STATUS[phase], "createdAt": iso(job.created_at)}
    if phase is Phase.RUNNING:
        body["progress"] = progress_at(job, call.now)
    if not phase.terminal:
        body["estimatedCost"] = {"credits": CREDITS_PER_JOB}
    elif phase is Phase.SUCCEEDED:
        body["output"] = list(emulator.output_urls(call, job))
        body["cost"] = {"credits": CREDITS_PER_JOB}
    elif phase is Phase.FAILED:
        code, failure = FAILURES[job.cause or Cause.GENERATION]
        body.update(failure=job.message or failure, failureCode=code, cost={"credits": 0})
    return body
