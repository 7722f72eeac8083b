"""Passing limiter slots on: whenever a step may have left a slot of a key free, the parked jobs
next in line get it at once (`Limiter.hand_over`), and their submits travel with the decision."""

from __future__ import annotations

import logging
from dataclasses import replace

from config.settings import ProviderName
from jobs.limits.limiter import Handover
from pipeline.context import Context
from pipeline.decisions import Decision
from pipeline.routing.pooling import take_for_free_slots

log = logging.getLogger(__name__)


def hand_on(ctx: Context, provider: ProviderName, key: str, decision: Decision) -> Decision:
    """``decision`` plus the parked jobs handed the key's free slots, then the jobs waiting
    for a slot of any key (`pipeline.routing.pooling`) for those still free."""
    handovers = hand_over_free_slots(ctx, provider, key)
    handovers += take_for_free_slots(ctx, provider, key)
    return (
        replace(decision, handovers=decision.handovers + tuple(handovers))
        if handovers
        else decision
    )


def hand_over_free_slots(ctx: Context, provider: ProviderName, key: str) -> list[Handover]:
    """Hand the key's free slots (freed, or reaped from dead leases) to parked jobs."""
    handovers = ctx.limiter.hand_over(provider, key, ctx.limits(provider, key), ctx.slot_lease_s())
    for handover in handovers:
        log.info(
            "job %s handed a %s slot on key %s",
            handover.holder, provider, key,
            extra={"job_id": handover.holder, "provider": str(provider), "key_id": key},
        )  # fmt: skip
    return handovers


def sweep(ctx: Context) -> list[Handover]:
    """Every configured key's free slots to parked jobs (the reconciler's safety net)."""
    return [
        handover
        for provider in ProviderName
        for key in ctx.key_ids(provider)
        for handover in (
            *hand_over_free_slots(ctx, provider, key),
            *take_for_free_slots(ctx, provider, key),
        )
    ]
