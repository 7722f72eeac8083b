"""Comfy Router's queued delivery of ``runway/aleph2`` (api.comfy.org).

``POST /v2/models/runway/aleph2/requests`` takes Runway's aleph2 body without ``model`` (the
path names it; sending it is a 422) and answers 201 with ``request_id`` and its URLs;
``GET .../requests/{id}/status`` and ``GET .../requests/{id}`` (the native Runway output) and
``POST .../requests/{id}/cancel``. ``X-API-Key`` (or Bearer); errors are ``{"detail": ...}``
with ``X-Comfy-Error-Type``. ``Idempotency-Key`` is always honoured, as documented: a repeat
with the same body gets the first run with ``Idempotent-Replayed: true`` and no new charge; a
repeat with another body is a 409 ``invalid_input``. A run is charged on completion (the
input's seconds at the catalogue's price; a failed run is not charged: unconfirmed)."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from config.catalogue import CATALOGUE
from config.settings import ProviderName
from emulator.engine import Accepted
from emulator.gateway import accept, api_route
from emulator.jobs import Cause, Phase, RemoteJob, phase_at
from emulator.protocols.base import Call, OutputClock, Wire, bearer, json_object
from emulator.protocols.runway import FAILURES, VideoToVideo

MODEL_PATH = "/v2/models/runway/aleph2"
STATUS: dict[Phase, str] = {
    Phase.THROTTLED: "queued",
    Phase.QUEUED: "queued",
    Phase.RUNNING: "in_progress",
    Phase.SUCCEEDED: "completed",
    Phase.FAILED: "failed",
    Phase.CANCELLED: "cancelled",
}
ERROR_TYPES = {401: "unauthenticated", 402: "insufficient_credits", 404: "not_found",
               409: "invalid_input", 422: "invalid_input", 429: "rate_limited",
               503: "service_unavailable"}  # fmt: skip


class RouterAleph2(VideoToVideo):
    """Runway's aleph2 body on Comfy's model route: ``model`` comes from the path."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    model: None = Field(default=None, exclude=True)  # type: ignore[assignment]


class ComfyWire(Wire):
    """Comfy Router's wire protocol for runway/aleph2."""

    name = ProviderName.COMFY
    credits_status = 402
    body_status = 422
    output_clock = OutputClock.FINISH
    honours_idempotency = True

    def api_key(self, request: Request) -> str | None:
        return request.headers.get("x-api-key") or bearer(request)

    def error(self, status: int, message: str, request: Request) -> Response:
        kind = ERROR_TYPES.get(status, "internal_error")
        return JSONResponse({"detail": message}, status_code=status,
                            headers={"x-comfy-error-type": kind})  # fmt: skip

    def charge_at_submit(self, job: RemoteJob) -> float:
        return 0.0  # "the same charge on completion"

    def charge_at_finish(self, job: RemoteJob) -> float:
        if job.final is not Phase.SUCCEEDED:
            return 0.0
        spec = CATALOGUE[self.name]
        return spec.effective_price.estimate(min(job.source_seconds, spec.output_seconds))

    def routes(self) -> list[BaseRoute]:
        return [
            api_route(self, f"{MODEL_PATH}/requests", ["POST"], self._submit),
            api_route(self, f"{MODEL_PATH}/requests/{{request_id}}/status", ["GET"], self._status),
            api_route(self, f"{MODEL_PATH}/requests/{{request_id}}", ["GET"], self._result),
            api_route(self, f"{MODEL_PATH}/requests/{{request_id}}/cancel", ["POST"], self._cancel),
        ]

    async def _submit(self, request: Request, call: Call) -> Response:
        outcome = await accept(self, request, call, RouterAleph2)
        if not isinstance(outcome, Accepted):
            return outcome
        job = outcome.job
        if outcome.replayed and job.body != await json_object(request):
            return self.error(409, "The request differs from the key's original request.", request)
        headers = {"idempotent-replayed": "true"} if outcome.replayed else {}
        status = 200 if outcome.replayed else 201
        return JSONResponse(_handle(call, job), status_code=status, headers=headers)

    async def _status(self, request: Request, call: Call) -> Response:
        job = self.emulator.find(call, request.path_params["request_id"])
        if job is None:
            return self.error(404, "Request not found.", request)
        phase = phase_at(job, call.now)
        body: dict[str, Any] = {"request_id": job.id, "status": STATUS[phase]}
        if phase is Phase.FAILED:
            body["error"] = job.message or FAILURES[job.cause or Cause.GENERATION][1]
        return JSONResponse(body)

    async def _result(self, request: Request, call: Call) -> Response:
        job = self.emulator.find(call, request.path_params["request_id"])
        if job is None:
            return self.error(404, "Request not found.", request)
        if phase_at(job, call.now) is not Phase.SUCCEEDED:
            return self.error(409, "The request has no result.", request)
        urls = list(self.emulator.output_urls(call, job))
        return JSONResponse({"id": job.id, "status": "SUCCEEDED", "output": urls})

    async def _cancel(self, request: Request, call: Call) -> Response:
        job = self.emulator.find(call, request.path_params["request_id"])
        if job is None:
            return self.error(404, "Request not found.", request)
        self.emulator.cancel(job)
        return Response(status_code=202)


def _handle(call: Call, job: RemoteJob) -> dict[str, Any]:
    base = f"{call.base_url}{MODEL_PATH}/requests/{job.id}"
    return {"request_id": job.id, "status_url": f"{base}/status", "response_url": base,
            "cancel_url": f"{base}/cancel"}  # fmt: skip
