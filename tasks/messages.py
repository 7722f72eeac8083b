"""Every message restyle publishes: the first submit of each job, and the next step a pipeline
`Decision` asks for. Messages carry a job id only."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from celery import Celery, current_app

from jobs.clips.record import Clip
from jobs.limits.limiter import Handover
from jobs.models import Job, Priority
from pipeline.decisions import ClipNext, ClipStep, Decision, Done, Step, Then

TASK_NAMES = {
    Step.SUBMIT: "restyle.submit",
    Step.POLL: "restyle.poll",
    Step.ARCHIVE: "restyle.archive",
}
FRAMES_TASK = "restyle.frames"
"""Takes a stored job's frames (routed to the ``media`` queue, like every CPU-heavy step)."""
CLIP_TASK_NAMES = {
    ClipStep.CUT: "restyle.cut",
    ClipStep.ANCHOR: "restyle.anchor",
    ClipStep.STITCH: "restyle.stitch",
}


def submit_queue(priority: Priority) -> str:
    """Interactive submits have their own queue, so bulk backlogs never hide them."""
    return "submit.interactive" if priority is Priority.INTERACTIVE else "submit"


SubmitNow = Callable[[Handover], None]
"""Runs a handed job's submit step in this worker, now (`tasks.handing.submit_handed`)."""


def follow(
    task: Any,
    decision: Decision,
    job_id: str,
    own_step: Step,
    submit_now: SubmitNow | None = None,
) -> str:
    """Act on ``decision``: nothing, retry ``task`` itself, or send the next step's task.

    Parked jobs the step handed a limiter slot to get their submits, on their priority's queue;
    with ``submit_now``, the first one is submitted here instead, once the step's own next
    message is out (see `hand_over`).
    """
    if isinstance(decision, Then) and decision.step is own_step and own_step is not Step.POLL:
        send_handovers(decision.handovers)
        # A retry of the same step keeps the message's queue (and so its priority).
        raise task.retry(countdown=decision.countdown_s, max_retries=None)
    queue = _queue_for(decision.step, task) if isinstance(decision, Then) else None
    send_next(decision, job_id, queue)
    hand_over(decision.handovers, submit_now)
    return decision.reason


def send_next(decision: Decision, job_id: str, submit_queue_name: str | None = None) -> None:
    """Publish what ``decision`` asks for next (a submit on ``submit_queue_name`` if given)."""
    if isinstance(decision, Done):
        if decision.clip_next is not None:
            send_clip_step(decision.clip_next)
        if decision.frames_due:
            current_app.send_task(FRAMES_TASK, args=[job_id])
        return
    queue = submit_queue_name if decision.step is Step.SUBMIT else None
    send_step(decision.step, job_id, decision.countdown_s, queue=queue)


INLINE_HANDOVERS = 1
"""Handed jobs a step submits itself (`hand_over`): a finished job frees one slot, so one."""


def hand_over(handovers: Sequence[Handover], submit_now: SubmitNow | None) -> None:
    """The submits of the jobs handed a slot: the first `INLINE_HANDOVERS` run here and now
    when ``submit_now`` is given, the others are sent.

    A message to the submit queue waits there behind whatever the workers are busy with
    (archives, other polls: measured up to 1.9 s a wave on an idle box in `bench.routing`),
    and the slot stays empty at the provider all that time; submitting in the worker that saw
    the slot free starts the next remote job one POST after the end was seen (issue 25).
    """
    here, sent = inline_first(handovers, submit_now is not None)
    send_handovers(sent)
    for handover in here:
        assert submit_now is not None
        submit_now(handover)


def inline_first(
    handovers: Sequence[Handover], inline: bool
) -> tuple[Sequence[Handover], Sequence[Handover]]:
    """The handovers to submit here and those to send (pure): the first `INLINE_HANDOVERS`
    here when ``inline``, in the order the step handed them."""
    if not inline:
        return (), handovers
    return handovers[:INLINE_HANDOVERS], handovers[INLINE_HANDOVERS:]


def send_handovers(handovers: Iterable[Handover]) -> None:
    """Send the submit of each job handed a slot, at once."""
    for handover in handovers:
        send_step(Step.SUBMIT, handover.holder, queue=submit_queue(handover.priority))


def send_step(step: Step, job_id: str, countdown_s: float = 0.0, queue: str | None = None) -> None:
    """Publish ``step`` for ``job_id``."""
    options: dict[str, Any] = {"countdown": countdown_s} if countdown_s > 0 else {}
    if queue:
        options["queue"] = queue
    current_app.send_task(TASK_NAMES[step], args=[job_id], **options)


def send_clip_step(next_step: ClipNext) -> None:
    """Publish a clip's media step (routed to the ``media`` queue)."""
    current_app.send_task(CLIP_TASK_NAMES[next_step.step], args=[next_step.clip_id])


def _queue_for(step: Step, task: Any) -> str | None:
    if step is not Step.SUBMIT:
        return None
    delivered = getattr(task.request, "delivery_info", None) or {}
    routing_key = delivered.get("routing_key")
    return (
        routing_key if isinstance(routing_key, str) and routing_key.startswith("submit") else None
    )


def dispatch_jobs(app: Celery, jobs: Sequence[Job]) -> int:
    """Send one ``restyle.submit`` per job on one broker connection; return how many."""
    with app.producer_or_acquire() as producer:
        for job in jobs:
            app.send_task(
                TASK_NAMES[Step.SUBMIT],
                args=[job.id],
                queue=submit_queue(job.priority),
                producer=producer,
            )
    return len(jobs)


def dispatch_clips(app: Celery, clips: Sequence[Clip]) -> int:
    """Send one ``restyle.cut`` per clip (routed to the ``media`` queue); return how many."""
    with app.producer_or_acquire() as producer:
        for clip in clips:
            app.send_task(CLIP_TASK_NAMES[ClipStep.CUT], args=[clip.id], producer=producer)
    return len(clips)
