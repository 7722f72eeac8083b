"""A job handed a freed slot is submitted by the worker that freed it, at once.

The poll that sees a remote job end frees its slot and hands it to the next waiting job
(`pipeline.routing.slots`); sending that job's submit as a message would leave the slot empty
at the provider until a worker takes the message, behind the archives and polls already queued
(`tasks.messages.hand_over`). So the poll runs the submit step itself, after its own next
message (the archive) is out. Anything that goes wrong here falls back to the message: the
submit step is safe to run again (`pipeline.submitting`), so nothing is lost or sent twice.
"""

from __future__ import annotations

import logging

from jobs.limits.limiter import Handover
from pipeline.context import utcnow
from pipeline.decisions import Step
from pipeline.submitting import submit_job
from tasks.messages import send_handovers, send_next, send_step, submit_queue
from tasks.runtime import context

log = logging.getLogger(__name__)


def submit_handed(handover: Handover) -> None:
    """Run the submit step of the job handed a slot; send it as a message if that fails."""
    queue = submit_queue(handover.priority)
    try:
        decision = submit_job(context(), handover.holder, utcnow())
    except Exception:
        # A Redis outage, a ledger conflict, a bug: the submit task retries and reports these.
        log.warning(
            "submitting handed job %s at once failed; sending its submit instead",
            handover.holder,
            exc_info=True,
            extra={"job_id": handover.holder},
        )
        send_step(Step.SUBMIT, handover.holder, queue=queue)
        return
    send_next(decision, handover.holder, queue)
    # Slots it left (a move to another key) go on as messages: one inline submit per step.
    send_handovers(decision.handovers)
