"""crun.ai: ``POST /api/v1/client/job/CreateTask``, ``GET /api/v1/client/job/TaskInfo?task_id=``
and ``POST /api/v1/client/job/estimate-credits``. ``x-api-key``; every answer is the envelope
``{code, message, data}`` whose code is also the HTTP status (402 credits, 422 validation,
455 maintenance, 501 generation failed, 505 disabled). The Aleph ``input`` schema is unknown,
so any keys are accepted and ``prompt``, ``video_url``, ``aspect_ratio``, ``seed`` and
``img_urls`` are read. On completion the task's ``data`` object is POSTed to ``callback_url``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from config.settings import ProviderName
from emulator.engine import Accepted
from emulator.gateway import accept, api_route
from emulator.jobs import Cause, EditSpec, Phase, RemoteJob, phase_at
from emulator.protocols.base import Call, EditBody, FriendlyRatio, Wire, parse_ratio

MODEL = "runway/gen-4-aleph"
CREDITS = 6
STATUS: dict[Phase, str] = {
    Phase.THROTTLED: "pending",
    Phase.QUEUED: "pending",
    Phase.RUNNING: "running",
    Phase.SUCCEEDED: "success",
    Phase.FAILED: "failed",
    Phase.CANCELLED: "failed",
}
FAILURES: dict[Cause, str] = {
    Cause.MODERATION: "Generation failed: the content was rejected by moderation.",
    Cause.GENERATION: "Generation failed.",
    Cause.ASSET: "Generation failed: the input video could not be processed.",
}


class AlephInput(BaseModel):
    """The keys of ``input`` the emulator reads; any others are kept and ignored."""

    model_config = ConfigDict(extra="allow")

    prompt: str = Field(min_length=1, max_length=1000)
    video_url: str = Field(min_length=1)
    aspect_ratio: FriendlyRatio | None = None
    seed: int | None = None
    img_urls: list[str] | None = None


class CreateTask(EditBody):
    """The CreateTask envelope."""

    model: Literal["runway/gen-4-aleph"]
    callback_url: str | None = Field(default=None, pattern=r"^https?://")
    input: AlephInput

    def spec(self) -> EditSpec:
        """The edit in the emulator's terms."""
        return EditSpec(
            prompt=self.input.prompt,
            video_url=self.input.video_url,
            ratio=parse_ratio(self.input.aspect_ratio),
            seed=self.input.seed,
            reference_url=self.input.img_urls[0] if self.input.img_urls else None,
            callback_url=self.callback_url,
        )


def envelope(code: int, message: str, data: Any) -> JSONResponse:
    """``{code, message, data}`` with the code as the HTTP status too."""
    return JSONResponse({"code": code, "message": message, "data": data}, status_code=code)


class CrunWire(Wire):
    """crun's wire protocol."""

    name = ProviderName.CRUN
    maintenance_status = 455
    disabled_status = 505
    body_status = 422
    not_an_object = "Validation error: the body must be a JSON object."
    invalid_prefix = "Validation error: "

    def api_key(self, request: Request) -> str | None:
        return request.headers.get("x-api-key") or None

    def error(self, status: int, message: str, request: Request) -> Response:
        return envelope(status, message, None)

    def routes(self) -> list[BaseRoute]:
        return [
            api_route(self, "/api/v1/client/job/CreateTask", ["POST"], self._create),
            api_route(self, "/api/v1/client/job/TaskInfo", ["GET"], self._info),
            api_route(self, "/api/v1/client/job/estimate-credits", ["POST"], self._estimate),
        ]

    async def _create(self, request: Request, call: Call) -> Response:
        outcome = await accept(self, request, call, CreateTask)
        if not isinstance(outcome, Accepted):
            return outcome
        return envelope(200, "success", {"task_id": outcome.job.id})

    async def _estimate(self, request: Request, call: Call) -> Response:
        parsed = await self.read_body(request, CreateTask)
        if isinstance(parsed, Response):
            return parsed
        return envelope(200, "success", {"credits": CREDITS, "estimated": True})

    async def _info(self, request: Request, call: Call) -> Response:
        task_id = request.query_params.get("task_id")
        if not task_id:
            return self.error(422, "Validation error: task_id is required.", request)
        job = self.emulator.find(call, task_id)
        if job is None:
            return self.error(404, "Task not found.", request)
        return envelope(200, "success", self.task_data(job, call.now, call))

    def callback_body(self, job: RemoteJob) -> dict[str, Any] | None:
        now = self.emulator.clock()
        return self.task_data(job, now, Call(job.provider, job.key_id, now, job.base_url))

    def task_data(self, job: RemoteJob, now: float, call: Call) -> dict[str, Any]:
        """The ``data`` object of TaskInfo (and of the callback)."""
        phase = phase_at(job, now)
        body = job.body
        data: dict[str, Any] = {
            "task_id": job.id,
            "provider": "runway",
            "model_version": "gen-4-aleph",
            "status": STATUS[phase],
            "param": {
                "model": body.get("model"),
                "callback_url": body.get("callback_url"),
                "input": body.get("input"),
            },
            "create_at": int(job.created_at),
            "complete_at": int(job.finished_at) if job.finished_at else None,
            "duration_s": None,
            "source": "api",
            "result": None,
        }
        if job.finished_at is not None:
            data["duration_s"] = round(job.finished_at - job.created_at)
        if phase is Phase.SUCCEEDED:
            urls = list(self.emulator.output_urls(call, job))
            data["credits"] = CREDITS
            data["result"] = {"code": 200, "message": "success", "media_urls": urls}
        elif phase.terminal:
            message = job.message or FAILURES[job.cause or Cause.GENERATION]
            data["result"] = {"code": 501, "message": message}
        return data
