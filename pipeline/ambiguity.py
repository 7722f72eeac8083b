"""Submits whose outcome is unknown, and the re-sends that may pay twice (pure decisions).

A POST whose answer was lost (`providers.errors.AnswerLost`), or one a worker may have sent
before it died in SUBMITTING, may have created and been charged for a remote job restyle never
heard of. No provider documents honouring ``Idempotency-Key``, so a re-send can be a second
charge. Where the provider can announce such a job (crun's callback URL names the job), the
re-send waits for that first; everywhere else the job is re-sent and flagged as possibly paid
twice: in its history and in ``Job.possible_double_charges``, which reports and budgets count.
Where the lost POST's own callback comes later (crun, OpenRouter), it confirms or clears the
flag (`pipeline.double_charges`); elsewhere (Runway and the other resellers) nothing can.
"""

from __future__ import annotations

from datetime import datetime

from jobs.models import Job

POSSIBLY_PAID_TWICE = "possibly paid twice"


def callback_wait_s(job: Job, now: datetime, grace_s: float, announces: bool) -> float | None:
    """Seconds a re-send of ``job`` should still wait for a callback to announce the job its
    lost POST may have created; None to re-send now.

    ``announces``: the lost request carried a callback URL naming the job (crun). The wait runs
    from the lost answer (the job's last change); a job the callback found is no longer
    waiting to be submitted, so it never gets here.
    """
    if not (job.answer_lost and announces and job.remote_id is None):
        return None
    left = grace_s - (now - job.updated_at).total_seconds()
    return left if left > 0 else None


PAID_ONCE = "paid once"


def resend_after_lost_answer(
    job: Job, honours_idempotency: bool = False
) -> tuple[dict[str, object], str]:
    """The changes and history note of a re-send that follows ``job``'s lost answer.

    ``honours_idempotency``: the provider documents that a re-send with the same key collects
    the first job instead of paying again (Comfy), so the re-send is not flagged.
    """
    if honours_idempotency:
        note = (f"{PAID_ONCE}: the answer to the previous POST was lost; re-sent with the same "
                f"Idempotency-Key {job.client_request_id}, which the provider honours")  # fmt: skip
        return {"answer_lost": False}, note
    note = f"{POSSIBLY_PAID_TWICE}: the answer to the previous POST was lost"
    return {"answer_lost": False, "possible_double_charges": job.possible_double_charges + 1}, note
