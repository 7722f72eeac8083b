"""crun.ai: POST /api/v1/client/job/CreateTask, GET /api/v1/client/job/TaskInfo?task_id=.

Quirks: every answer is a ``{code, message, data}`` envelope whose ``code`` mirrors the HTTP
status, including the non-standard 455 (maintenance), 501 (generation failed) and 505 (feature
disabled); a 2xx whose envelope code is an error is read by the envelope code. A failed task
carries ``result: {code, message}``; its code is classified with the same table. The keys of
``input`` for Aleph are undocumented: ``prompt`` and ``video_url`` follow crun's sibling models,
the rest are guesses. Callbacks POST the ``data`` object alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from config.catalogue import ProviderSpec
from config.redaction import Redactor
from config.settings import ProviderName
from jobs.failures import FailureKind
from jobs.request import EditRequest
from providers.adapter import Clock, ProviderAdapter, present, utcnow
from providers.base import RemoteJob, RemoteState, RemoteStatus
from providers.errors import ProviderError, ProviderFailure, RetryableFailure
from providers.http import SUBMIT_ERRORS, decode, error_class, failure_for, read_answer
from providers.results import expires_at, failed, remote_job, succeeded
from providers.validation import check_against_spec

NAME = ProviderName.CRUN
SUBMIT_PATH = "/api/v1/client/job/CreateTask"
INFO_PATH = "/api/v1/client/job/TaskInfo"
OK = 200
MAX_UNIX_S = 253_402_300_799  # 9999-12-31: beyond it datetime cannot represent the stamp

_STATES: dict[str, RemoteState] = {
    "pending": RemoteState.QUEUED,
    "running": RemoteState.RUNNING,
    "success": RemoteState.SUCCEEDED,
    "failed": RemoteState.FAILED,
}


class _Result(BaseModel):
    model_config = ConfigDict(extra="ignore")

    code: int | None = None
    message: str | None = None
    media_urls: list[str] | None = None


class _Param(BaseModel):
    model_config = ConfigDict(extra="ignore")

    callback_url: str | None = None


class _Task(BaseModel):
    model_config = ConfigDict(extra="ignore")

    task_id: str = Field(min_length=1)
    param: _Param | None = None
    """What the task was created with: its ``callback_url`` names the job that created it."""
    status: Literal["pending", "running", "success", "failed"] | None = None
    result: _Result | None = None
    complete_at: int | None = Field(default=None, ge=0, le=MAX_UNIX_S)


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="ignore")

    code: int = OK
    message: str | None = None
    data: _Task | None = None


validate_request = check_against_spec
"""Refuse what crun cannot take: the catalogue's checks."""


def build_submit_body(
    request: EditRequest, spec: ProviderSpec, callback_url: str | None = None
) -> dict[str, Any]:
    """The JSON body of CreateTask: ``{model, input, callback_url?}``."""
    validate_request(request, spec)
    reference = request.reference_image_url
    optional = present(
        aspect_ratio=request.aspect_ratio,
        seed=request.seed,
        img_urls=[reference] if reference else None,
    )
    inputs = {"prompt": request.prompt, "video_url": request.video_url, **optional}
    return {"model": spec.model, "input": inputs, **present(callback_url=callback_url)}


def parse_submit(
    status: int, headers: Mapping[str, str], body: bytes, *, spec: ProviderSpec, now: datetime
) -> RemoteJob:
    """``{"code":200,"data":{"task_id":...}}`` -> `RemoteJob`."""
    task = _open(status, headers, body, now, SUBMIT_ERRORS)
    return remote_job(task.task_id, spec, now)


def parse_poll(
    status: int, headers: Mapping[str, str], body: bytes, *, spec: ProviderSpec, now: datetime
) -> RemoteStatus:
    """A TaskInfo envelope -> `RemoteStatus`."""
    return task_status(_open(status, headers, body, now), spec, now)


def parse_task_callback_url(
    status: int, headers: Mapping[str, str], body: bytes, *, spec: ProviderSpec, now: datetime
) -> str:
    """A TaskInfo envelope -> the ``callback_url`` the task was created with ("" for none)."""
    task = _open(status, headers, body, now)
    return (task.param.callback_url if task.param else None) or ""


def parse_callback_body(
    body: dict[str, Any], *, spec: ProviderSpec, now: datetime
) -> tuple[str, RemoteStatus]:
    """A callback (the bare ``data`` object) -> the task id and its `RemoteStatus`."""
    task = decode(NAME.value, body, _Task)
    return task.task_id, task_status(task, spec, now)


def _open(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
    overrides: Mapping[int, type[ProviderFailure]] | None = None,
) -> _Task:
    envelope = read_answer(NAME.value, status, headers, body, now, _Envelope, overrides)
    if envelope.code != OK:
        message = envelope.message or f"code {envelope.code}"
        raise failure_for(NAME.value, envelope.code, headers, message, now, overrides)
    if envelope.data is None:
        raise ProviderError(NAME.value, "the answer has no data")
    return envelope.data


def task_status(task: _Task, spec: ProviderSpec, now: datetime) -> RemoteStatus:
    """Restyle's status of a crun task object."""
    raw = task.model_dump(exclude_none=True)
    if task.status is None:
        raise ProviderError(NAME.value, "the task has no status")
    state = _STATES[task.status]
    result = task.result or _Result()
    if state is RemoteState.SUCCEEDED:
        completed = _from_unix(task.complete_at)
        return succeeded(spec, result.media_urls or [], expires_at(spec, now, completed), raw)
    if state is RemoteState.FAILED:
        return failed(result_kind(result.code), result.message, raw)
    return RemoteStatus(state=state, raw=raw)


def result_kind(code: int | None) -> FailureKind:
    """The failure kind of a failed task's ``result.code`` (501 and unknown: generation)."""
    if code is None or code == OK:
        return FailureKind.GENERATION
    cls = error_class(code)
    return FailureKind.PROVIDER if issubclass(cls, RetryableFailure) else cls.kind


def _from_unix(stamp: int | None) -> datetime | None:
    return datetime.fromtimestamp(stamp, UTC) if stamp is not None else None


class CrunAdapter(ProviderAdapter):
    """crun.ai's task API; optionally asks crun to POST the final state to ``callback_url``."""

    name = NAME

    def __init__(
        self,
        spec: ProviderSpec,
        client: httpx.Client,
        clock: Clock = utcnow,
        callback_url: str | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        super().__init__(spec, client, clock, redactor)
        self.callback_url = callback_url

    @staticmethod
    def auth_headers(api_key: SecretStr) -> dict[str, str]:
        """``x-api-key``."""
        return {"x-api-key": api_key.get_secret_value()}

    def submit(self, request: EditRequest, client_request_id: str) -> RemoteJob:
        """POST CreateTask once; raises `InvalidRequest` before sending a bad request."""
        body = build_submit_body(request, self.spec, self.callback_url)
        return self.post_edit(parse_submit, SUBMIT_PATH, body, client_request_id)

    def poll(self, remote_id: str, *, submitted_at: datetime | None = None) -> RemoteStatus:
        """GET TaskInfo?task_id=..."""
        return self.exchange(parse_poll, "GET", INFO_PATH, params={"task_id": remote_id})

    def task_callback_url(self, remote_id: str) -> str:
        """The callback URL task ``remote_id`` of this key was created with ("" for none);
        raises the `ProviderFailure` tree (`NotFound`-like failures for another key's task)."""
        return self.exchange(
            parse_task_callback_url, "GET", INFO_PATH, params={"task_id": remote_id}
        )

    def parse_callback(self, body: dict[str, Any]) -> tuple[str, RemoteStatus]:
        """The task id and status of a callback body (its message scrubbed of keys).

        Raises `ProviderError` if unreadable.
        """
        with self.transport.guard():
            remote_id, status = parse_callback_body(body, spec=self.spec, now=self.clock())
        return remote_id, self.transport.clean(status)
