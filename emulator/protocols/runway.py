"""Runway's own API (api.dev.runwayml.com): ``POST /v1/video_to_video``, ``GET`` and ``DELETE
/v1/tasks/{id}``, ``GET /v1/organization``. Bearer key plus ``X-Runway-Version: 2024-11-06``;
errors are ``{"error": ...}`` (validation adds ``issues``, unconfirmed); over the key's
concurrency a task waits as THROTTLED; over its daily cap a submit is a 429; not enough credits
is a 400. Aleph is ``aleph2``: ``gen4_aleph`` left Runway's API in 2026 and is refused."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from config.settings import ProviderName
from emulator.engine import Accepted, Emulator
from emulator.gateway import accept, api_route
from emulator.jobs import Cause, EditSpec, Phase, RemoteJob, phase_at, progress_at
from emulator.protocols.base import (
    Body,
    Call,
    EditBody,
    OutputClock,
    Wire,
    iso,
    json_object,
    parse_ratio,
)
from emulator.protocols.runway_inputs import check_input_url

API_VERSION = "2024-11-06"
MODEL = "aleph2"
CREDITS_PER_JOB = 140  # a balance unit for the credits knob: 5 s at aleph2's 28 credits/s
CREDITS_PER_SECOND = 28  # aleph2 at about $0.28/s (third-party, unconfirmed)
MAX_SECONDS = 30  # aleph2's window: estimatedCost is the most a task may charge
CREDIT_USD = 0.01
MONTHLY_CREDIT_SPEND = 10_000  # tier 1's $100 a month
UNLIMITED_CREDITS = 1_000_000  # a key without a credits knob
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


class _Keyframe(BaseModel):
    seconds: float = Field(ge=0)
    uri: str = Field(min_length=1)


class _Moderation(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    public_figure_threshold: Literal["auto", "low"] | None = Field(
        default=None, alias="publicFigureThreshold"
    )


class VideoToVideo(EditBody):
    """The ``POST /v1/video_to_video`` body for ``aleph2``."""

    model_config = ConfigDict(populate_by_name=True)

    model: Literal["aleph2"]
    video_uri: str = Field(min_length=1, max_length=2048 * 16, alias="videoUri")
    prompt_text: str | None = Field(default=None, min_length=1, alias="promptText")
    ratio: str | None = None  # deprecated, ignored
    seed: int | None = Field(default=None, ge=0, le=4_294_967_295)
    keyframes: list[_Keyframe] | None = Field(default=None, max_length=5)
    content_moderation: _Moderation | None = Field(default=None, alias="contentModeration")
    output_format: Literal["mp4", "prores", "png_sequence", "sdr_rec709_10bit"] | None = Field(
        default=None, alias="outputFormat"
    )
    target_aspect_ratio: (
        Literal["16:9", "4:3", "3:2", "1:1", "2:3", "3:4", "9:16", "21:9"] | None
    ) = Field(default=None, alias="targetAspectRatio")

    @field_validator("prompt_text")
    @classmethod
    def _utf16_length(cls, value: str | None) -> str | None:
        if value is not None and len(value.encode("utf-16-le")) // 2 > 1000:
            raise ValueError("must be at most 1000 UTF-16 code units")
        return value

    def spec(self) -> EditSpec:
        """The edit in the emulator's terms (a keyframe stands in for the reference image)."""
        reference = self.keyframes[0].uri if self.keyframes else None
        return EditSpec(
            prompt=self.prompt_text or "",
            video_url=self.video_uri,
            ratio=parse_ratio(self.target_aspect_ratio),
            seed=self.seed,
            reference_url=reference,
            model=self.model,
            keyframes=len(self.keyframes or ()),
        )


class RunwayWire(Wire):
    """Runway's wire protocol."""

    name = ProviderName.RUNWAY
    credits_status = 400
    output_clock = OutputClock.FETCH
    not_an_object = "The request body must be a JSON object."
    input_limit_bytes: ClassVar[int] = 32 * 1024 * 1024  # by URL (docs.dev.runwayml.com)

    def charge_at_submit(self, job: RemoteJob) -> float:
        return 0.0  # Runway bills a task when it ends: ``cost``, 0 when refunded

    def charge_at_finish(self, job: RemoteJob) -> float:
        return task_credits(job) * CREDIT_USD

    def check_headers(self, request: Request) -> str | None:
        version = request.headers.get("x-runway-version")
        if version != API_VERSION:
            return f"The X-Runway-Version header must be set to {API_VERSION}."
        return None

    def error(self, status: int, message: str, request: Request) -> Response:
        return JSONResponse({"error": message}, status_code=status)

    async def read_body(
        self, request: Request, model: type[Body]
    ) -> tuple[Body, dict[str, Any]] | Response:
        """The body, or Runway's validation answer: ``{"error", "issues": [...]}``."""
        body = await json_object(request)
        if body is None:
            return self.error(400, self.not_an_object, request)
        try:
            return model.model_validate(body), body
        except ValidationError as exc:
            return validation_error(exc)

    def routes(self) -> list[BaseRoute]:
        return [
            api_route(self, "/v1/video_to_video", ["POST"], self._create),
            api_route(self, "/v1/tasks/{task_id}", ["GET", "DELETE"], self._task),
            api_route(self, "/v1/organization", ["GET"], self._organization),
        ]

    async def _create(self, request: Request, call: Call) -> Response:
        problem = await self._input_problem(request)
        if problem is not None:
            return problem
        outcome = await accept(self, request, call, VideoToVideo)
        if not isinstance(outcome, Accepted):
            return outcome
        return JSONResponse({"id": outcome.job.id, "estimatedCost": {"credits": MAX_CREDITS}})

    async def _input_problem(self, request: Request) -> Response | None:
        if not self.emulator.config.provider(self.name).check_input_url:
            return None
        body = await json_object(request)
        uri = body.get("videoUri") if body else None
        if not isinstance(uri, str) or not uri:
            return None  # the body's validation says what is wrong
        problem = await check_input_url(uri, self.emulator.http, self.input_limit_bytes)
        return None if problem is None else self.error(400, f"videoUri: {problem}", request)

    async def _organization(self, request: Request, call: Call) -> Response:
        return JSONResponse(organization_json(self.emulator, call))

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
        body["estimatedCost"] = {"credits": MAX_CREDITS}
    elif phase is Phase.SUCCEEDED:
        body["output"] = list(emulator.output_urls(call, job))
        body["cost"] = {"credits": task_credits(job)}
    elif phase is Phase.FAILED:
        code, failure = FAILURES[job.cause or Cause.GENERATION]
        body.update(failure=job.message or failure, failureCode=code, cost={"credits": 0})
    else:
        body["cost"] = {"credits": task_credits(job)}
    return body


MAX_CREDITS = CREDITS_PER_SECOND * MAX_SECONDS


def task_credits(job: RemoteJob) -> int:
    """What a finished task costs: its output's seconds at aleph2's rate. A failed task is
    refunded in full (0), a cancelled one too unless it was RUNNING ("Cancelling a RUNNING
    task does not refund", the SDK's docstring)."""
    paid = job.final is Phase.SUCCEEDED or (
        job.final is Phase.CANCELLED and job.cancelled_in is Phase.RUNNING
    )
    if not paid:
        return 0
    seconds = job.output_seconds or job.source_seconds
    return round(CREDITS_PER_SECOND * min(seconds, MAX_SECONDS))


def validation_error(exc: ValidationError) -> Response:
    """Runway's 400 for a body that fails validation (the ``issues`` shape is unconfirmed)."""
    issues = [
        {"path": [str(part) for part in error["loc"]], "message": error["msg"]}
        for error in exc.errors(include_url=False)
    ]
    first = issues[0]
    where = ".".join(first["path"]) or "body"
    message = f"Validation of body failed: {where}: {first['message']}"
    if first["path"][:1] == ["model"]:
        message = f"Validation of body failed: model: Invalid model. Expected '{MODEL}'."
    return JSONResponse({"error": message, "issues": issues}, status_code=400)


def organization_json(emulator: Emulator, call: Call) -> dict[str, Any]:
    """``GET /v1/organization`` for the calling key: tier limits, today's usage, credits."""
    config = emulator.config
    knobs = config.key(call.kid)
    balance = UNLIMITED_CREDITS
    if knobs.credits is not None:
        balance = max(knobs.credits - emulator.spent[call.kid], 0) * CREDITS_PER_JOB
    limits = {
        "maxConcurrentGenerations": config.concurrency_for(call.provider, call.kid),
        "maxDailyGenerations": config.daily_cap_for(call.provider, call.kid),
    }
    used = emulator.daily_usage(call.provider, call.kid, call.now)
    return {
        "creditBalance": balance,
        "tier": {"maxMonthlyCreditSpend": MONTHLY_CREDIT_SPEND, "models": {MODEL: limits}},
        "usage": {"models": {MODEL: {"dailyGenerations": used}}},
    }
