"""The media tasks, on the ``media`` queue: a clip's cut, anchor frame and stitch, and the
frames kept next to a stored job's output.

Each is idempotent and re-driven by the reconciler when its message is lost (a worker killed
with kill -9 mid-cut: the redelivered or re-sent message cuts again from the start). Failures
that may pass (S3, the network) are retried with backoff; anything else fails the clip.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from celery import shared_task

from jobs.clips.record import ClipState
from jobs.models import Job
from jobs.timing import POLICY
from media.errors import ProbeError
from media.plan import PlanError
from pipeline.context import utcnow
from pipeline.decisions import Step
from storage.errors import StorageError
from tasks.messages import send_step, submit_queue
from tasks.runtime import context

log = logging.getLogger(__name__)


@shared_task(name="restyle.cut", bind=True, max_retries=None)
def cut(self: Any, clip_id: str) -> str:
    """Cut the clip into segments and send their submits."""

    # The media steps are imported in the task: they bring PyAV, which the submit, poll and
    # archive workers (the same app) never need.
    from pipeline.clips.cutting import cut_clip, finish_cut

    def run() -> str:
        outcome = cut_clip(context(), clip_id, utcnow())
        _submit(outcome.submit)
        finish_cut(context(), clip_id, utcnow())
        return outcome.reason

    return _guarded(self, clip_id, "cut", run)


@shared_task(name="restyle.anchor", bind=True, max_retries=None)
def anchor(self: Any, clip_id: str) -> str:
    """Give the clip's waiting segments segment 1's frame, and send their submits."""

    from pipeline.clips.anchoring import release_anchor

    def run() -> str:
        outcome = release_anchor(context(), clip_id, utcnow())
        _submit(outcome.submit)
        return outcome.reason

    return _guarded(self, clip_id, "anchor", run)


@shared_task(name="restyle.stitch", bind=True, max_retries=None)
def stitch(self: Any, clip_id: str) -> str:
    """Stitch the clip's stored segments and store the result."""
    from pipeline.clips.stitching import stitch_clip

    return _guarded(self, clip_id, "stitch", lambda: stitch_clip(context(), clip_id, utcnow()))


@shared_task(name="restyle.frames")
def frames(job_id: str) -> str:
    """Take a stored job's before/after frames and keep them next to its output (best effort:
    a lost message or a frame that cannot be taken leaves the page to take it on first view)."""
    from pipeline.thumbnails import take_job_frames

    return take_job_frames(context(), job_id)


def _submit(jobs: Iterable[Job]) -> None:
    for job in jobs:
        send_step(Step.SUBMIT, job.id, queue=submit_queue(job.priority))


def _guarded(task: Any, clip_id: str, what: str, run: Callable[[], str]) -> str:
    """Run one media step: retry what may pass, fail the clip on what will not."""
    try:
        return run()
    except StorageError as exc:
        if exc.retryable:
            raise _retry(task, what, exc.message, exc.retry_after) from exc
        return _fail(clip_id, f"{what}: {exc.message}")
    except ProbeError as exc:
        if exc.temporary:
            raise _retry(task, what, str(exc), None) from exc
        return _fail(clip_id, f"{what}: {exc}")
    except PlanError as exc:
        return _fail(clip_id, f"{what}: {exc}")


def _retry(task: Any, what: str, message: str, after: float | None) -> Exception:
    log.warning("clip %s failed, retrying: %s", what, message)
    countdown = POLICY.retry_delay(task.request.retries, after)
    retry: Exception = task.retry(countdown=countdown, max_retries=None)
    return retry


def _fail(clip_id: str, message: str) -> str:
    ctx, now = context(), utcnow()
    failed = ctx.clips.move(
        clip_id,
        ClipState.FAILED,
        expect={ClipState.CUTTING, ClipState.EDITING, ClipState.STITCHING},
        now=now,
        detail=message,
        failure_message=message,
    )
    ctx.clips.unwatch(clip_id)
    return f"failed: {message}" if failed else "clip moved"
