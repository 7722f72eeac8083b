"""Late binding: a job handed a freed slot takes that slot, not the policy's other pick (pure)."""

from __future__ import annotations

from config.settings import ProviderName
from jobs.routes import Option, Policy, choose
from pipeline.routing.pooling import bound_option

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
