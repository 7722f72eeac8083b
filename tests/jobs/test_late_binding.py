"""Late binding: a job handed a freed slot takes that slot, not the policy's other pick, and the
step that freed it submits it itself (pure)."""

from __future__ import annotations

from config.settings import ProviderName
from jobs.limits.limiter import Handover
from jobs.models import Priority
from jobs.routes import Option, Policy, choose
from pipeline.routing.pooling import bound_option
from tasks.messages import INLINE_HANDOVERS, inline_first

P = ProviderName


def test_a_job_handed_runways_freed_slot_binds_there_though_spread_prefers_another() -> None:
    # Runway and aimlapi freed a slot at the same moment; the job was handed Runway's.
    options = [Option(P.RUNWAY, 8.40, 20, 4, 3), Option(P.AIMLAPI, 1.00, 20, 4, 3)]
    assert choose(Policy.SPREAD, options) == options[1]  # the tie goes to the cheaper one
    assert bound_option(P.RUNWAY, options) == options[0]


def test_a_handed_slot_taken_meanwhile_leaves_the_choice_to_the_policy() -> None:
    options = [Option(P.RUNWAY, 8.40, 20, 4, 4), Option(P.AIMLAPI, 1.00, 20, 4, 3)]
    assert bound_option(P.RUNWAY, options) is None
    assert bound_option(P.COMFY, options) is None  # not among the job's options at all


def test_the_poll_that_frees_a_slot_submits_the_job_handed_it_and_sends_the_rest() -> None:
    handed = [Handover("a", Priority.BULK), Handover("b", Priority.INTERACTIVE)]

    assert INLINE_HANDOVERS == 1
    assert inline_first(handed, inline=True) == (handed[:1], handed[1:])
    assert inline_first(handed, inline=False) == ((), handed)
    assert inline_first([], inline=True) == ([], [])
