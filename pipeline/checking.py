"""QC of an archived output, before it is STORED: decode it, judge it, act on the verdict.

Runs in the archive step, right after the streamed copy, because that is the one place every
output (a whole job's or a segment's) passes before STORED, while the step still holds the
job (ARCHIVING): a failed check can re-run or fail it before anything downstream (the fan-in,
the stitch, the report) sees it. It reads the object just stored in S3 (the very bytes that
would be kept, through a presigned URL, not the provider's expiring one) and the input the
provider was sent, both as streams: memory stays bounded (`media.qc_measure`). A media worker
would mean another state and another hop for every job; the decode of a 5 s render costs
about what the copy does (bench/qc.py).

A failing output is re-run while the job's `QcPolicy` allows (a new paid try: the submit
reserves its cost against the budget again, and the history says so), then FAILED (kind
``qc``) or STORED flagged. Every verdict, with its numbers, goes on the job's history.
"""

from __future__ import annotations

from datetime import datetime

from config.catalogue import EditWindow
from jobs.failures import FailureKind
from jobs.models import Job
from jobs.quality import QcNext, after_check
from jobs.states import JobState
from media.errors import ProbeError
from media.qc import Expected, Verdict, judge
from media.qc_measure import measure
from pipeline.context import Context
from pipeline.decisions import Decision, Done, Step, Then
from pipeline.failing import fail_job
from pipeline.operations.retrying import fresh_try
from producer.safety import UnreachableSource, UnsafeSource, guarded_client
from storage.errors import S3Unavailable
from storage.objects import StoredObject
from storage.presign import presign_get


def expected_seconds(job: Job, window: EditWindow) -> float | None:
    """How long the render should be: its input's length, up to what the model edits."""
    seconds = job.segment_seconds or job.source_seconds
    return None if seconds is None else min(seconds, window.max_seconds)


def check_stored(ctx: Context, job: Job, stored: StoredObject) -> Verdict:
    """The verdict on ``job``'s stored output against the input it was sent.

    Raises `S3Unavailable` when the stored object could not be read for now: the archive
    step retries (a read failure is no verdict, and must not cost a paid re-run).
    """
    url = presign_get(ctx.s3, stored.bucket, stored.key, ctx.settings.presign_ttl_s)
    settings = ctx.settings
    endpoint = [settings.s3_endpoint_url] if settings.s3_endpoint_url else []
    # The input may be a user's URL: read it through preflight's guard (public hosts only,
    # addresses checked at connect), never a plain client a DNS answer could point inward.
    with guarded_client(
        settings.allow_private_sources, endpoint, settings.http_read_timeout_s
    ) as http:
        try:
            try:
                render, source = measure(url, job.request.video_url, http=http)
            except (UnsafeSource, UnreachableSource):
                render, source = measure(url, None, http=http)
        except ProbeError as exc:
            message = f"the stored output could not be read back to check it: {exc}"
            raise S3Unavailable(message) from exc
    window = ctx.spec(job.provider).window
    seconds = expected_seconds(job, window)
    if seconds is None:
        seconds = len(render.frames) / float(render.fps)
    # gen4_aleph's output is "fixed at 5 s" (aimlapi's duration enum): a whole window for a
    # shorter input is not a fault, the stitch trims it; a shorter render is.
    longest = window.max_seconds if window.output_size == "ratio" else None
    return judge(render, Expected(seconds, source, longest))


def act_on(ctx: Context, job: Job, verdict: Verdict, now: datetime) -> tuple[QcNext, Decision]:
    """What the verdict makes of ``job`` (ARCHIVING): the next step and, unless the output is to
    be stored, the decision already carried out (a re-run queued, or the job failed)."""
    step = after_check(verdict.passed, job.qc_reruns, job.qc)
    if step is QcNext.RERUN:
        return step, _rerun(ctx, job, verdict, now)
    if step is QcNext.FAIL:
        reruns = f" after {job.qc_reruns} re-run(s)" if job.qc_reruns else ""
        fail_job(ctx, job, now, FailureKind.QC, f"{verdict.describe()}{reruns}")
        return step, Done("the output failed its checks")
    return step, Done("checked")


def _rerun(ctx: Context, job: Job, verdict: Verdict, now: datetime) -> Decision:
    number = job.qc_reruns + 1
    detail = (
        f"{verdict.describe()}; QC re-run {number} of {job.qc.retries}: a new paid try "
        f"(about ${job.estimated_cost_usd:.2f})"
    )
    queued = ctx.ledger.transition(
        job,
        JobState.QUEUED,
        expect={JobState.ARCHIVING},
        now=now,
        detail=detail,
        qc_reruns=number,
        **fresh_try(job),
    )
    if queued is None:
        return Done("job moved while its output was checked")
    return Then(Step.SUBMIT, 0.0, f"QC re-run {number}")
