"""Segmind (api.segmind.com): async ``POST /v2/runway-gen4-aleph``, ``GET /v2/requests/{id}/status``
and ``GET /v2/requests/{id}`` (also the legacy ``/v1/requests/{id}``), and the blocking
``POST /v1/runway-gen4-aleph`` that answers with the MP4 itself. ``x-api-key``; errors are
``{"error": ...}``; FAILED is served as HTTP 422; status URLs are absolute and point back here;
unknown ids and ids older than the retention (1 hour) are 404."""

from __future__ import annotations

from typing import Any

from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from config.settings import ProviderName
from emulator.engine import Accepted
from emulator.gateway import accept, api_route
from emulator.jobs import Cause, EditSpec, Phase, RemoteJob, phase_at
from emulator.protocols.base import Call, EditBody, FriendlyRatio, OutputClock, Wire, parse_ratio

SLUG = "runway-gen4-aleph"
STATUS: dict[Phase, str] = {
    Phase.THROTTLED: "QUEUED",
    Phase.QUEUED: "QUEUED",
    Phase.RUNNING: "PROCESSING",
    Phase.SUCCEEDED: "COMPLETED",
    Phase.FAILED: "FAILED",
    Phase.CANCELLED: "FAILED",
}
FAILURES: dict[Cause, str] = {
    Cause.MODERATION: "Content moderation: the request was blocked by the safety filter.",
    Cause.GENERATION: "Inference failed: the model returned no output.",
    Cause.ASSET: "Invalid input video.",
}


class Gen4AlephParams(EditBody):
    """The runway-gen4-aleph body."""

    prompt: str = Field(min_length=1, max_length=1000)
    video: str = Field(min_length=1)
    aspect_ratio: FriendlyRatio = "16:9"
    reference_image: str | None = None
    seed: int | None = None

    def spec(self) -> EditSpec:
        """The edit in the emulator's terms."""
        return EditSpec(
            prompt=self.prompt,
            video_url=self.video,
            ratio=parse_ratio(self.aspect_ratio),
            seed=self.seed,
            reference_url=self.reference_image,
        )


class SegmindWire(Wire):
    """Segmind's wire protocol."""

    name = ProviderName.SEGMIND
    credits_status = 406
    output_clock = OutputClock.SUBMIT

    def api_key(self, request: Request) -> str | None:
        return request.headers.get("x-api-key") or None

    def error(self, status: int, message: str, request: Request) -> Response:
        return JSONResponse({"error": message}, status_code=status)

    def routes(self) -> list[BaseRoute]:
        return [
            api_route(self, "/v2/{slug}", ["POST"], self._submit),
            api_route(self, "/v1/{slug}", ["POST"], self._run_sync),
            api_route(self, "/v2/requests/{request_id}/status", ["GET"], self._status),
            api_route(self, "/v2/requests/{request_id}", ["GET"], self._result),
            api_route(self, "/v1/requests/{request_id}", ["GET"], self._result),
        ]

    async def _accept(self, request: Request, call: Call) -> Accepted | Response:
        if request.path_params["slug"] != SLUG:
            return self.error(404, "Model not found.", request)
        return await accept(self, request, call, Gen4AlephParams)

    async def _submit(self, request: Request, call: Call) -> Response:
        outcome = await self._accept(request, call)
        if not isinstance(outcome, Accepted):
            return outcome
        job = outcome.job
        body = {"request_id": job.id, "status": "QUEUED", **_urls(call, job)}
        body["poll_url"] = f"{call.base_url}/v1/requests/{job.id}"
        return JSONResponse(body)

    async def _run_sync(self, request: Request, call: Call) -> Response:
        outcome = await self._accept(request, call)
        if not isinstance(outcome, Accepted):
            return outcome
        job = outcome.job
        await self.emulator.wait(job, job.duration_s + 120)
        if job.final is Phase.SUCCEEDED and job.output is not None:
            return Response(job.output, media_type="video/mp4")
        if job.final is None:
            return self.error(504, "Request timed out.", request)
        return self.error(422, _failure(job), request)

    async def _status(self, request: Request, call: Call) -> Response:
        job = self.emulator.find(call, request.path_params["request_id"])
        if job is None:
            return self.error(404, "Request not found or expired.", request)
        phase = phase_at(job, call.now)
        if phase.terminal:
            return _finished(job, {"request_id": job.id})
        return _pending(call, job, phase)

    async def _result(self, request: Request, call: Call) -> Response:
        job = self.emulator.find(call, request.path_params["request_id"])
        if job is None:
            return self.error(404, "Request not found or expired.", request)
        phase = phase_at(job, call.now)
        if not phase.terminal:
            return _pending(call, job, phase)
        urls = self.emulator.output_urls(call, job)
        return _finished(job, {"error": None, "output": urls[0] if urls else None})


def _urls(call: Call, job: RemoteJob) -> dict[str, str]:
    return {
        "status_url": f"{call.base_url}/v2/requests/{job.id}/status",
        "response_url": f"{call.base_url}/v2/requests/{job.id}",
    }


def _pending(call: Call, job: RemoteJob, phase: Phase) -> Response:
    body = {"status": STATUS[phase], "request_id": job.id, **_urls(call, job), "metrics": {}}
    return JSONResponse(body)


def _metrics(job: RemoteJob) -> dict[str, Any]:
    started = job.started_at or job.created_at
    return {"inference_time": round((job.finished_at or started) - started, 2)}


def _failure(job: RemoteJob) -> str:
    return job.message or FAILURES[job.cause or Cause.GENERATION]


def _finished(job: RemoteJob, extra: dict[str, Any]) -> Response:
    if job.final is Phase.SUCCEEDED:
        return JSONResponse({"status": "COMPLETED", **extra, "metrics": _metrics(job)})
    failed = {
        "status": "FAILED",
        "error": _failure(job),
        "metrics": _metrics(job),
        "request_id": job.id,
    }
    return JSONResponse(failed, status_code=422)
