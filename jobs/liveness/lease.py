"""What a lease hash says about its subject's holder, decided from its fields and a given now.

A lease is one Redis hash per subject (a job or a clip). Each worker that holds the subject
writes one field, its token, whose value is the Redis-clock millisecond at which its hold ends
unless renewed; it deletes its field when the step ends. The reconciler, having re-driven a
subject whose holder died, replaces the dead holders' fields by one `LAPSED_FIELD`.

- a field whose time has not come: a live holder (`Holder.LIVE`), never raced;
- fields all past their time, or the lapsed mark: the holder died (`Holder.LAPSED`);
- no field: nobody holds it, or a worker that keeps no lease (`Holder.NONE`): the stall timers
  of before decide, unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

LAPSED_FIELD = "lapsed"
"""Written by the reconciler in place of dead holders' fields once it re-drove the subject."""


class Holder(StrEnum):
    LIVE = "live"
    LAPSED = "lapsed"
    NONE = "none"


@dataclass(frozen=True)
class LeaseView:
    """One subject's lease as read: token -> end (ms, Redis clock), and the Redis clock then."""

    fields: Mapping[str, int]
    now_ms: int

    @property
    def holder(self) -> Holder:
        return holder_of(self.fields, self.now_ms)

    def dead_tokens(self) -> list[str]:
        """The holders' fields that are past their time (not the lapsed mark)."""
        return [t for t, end in self.fields.items() if t != LAPSED_FIELD and end <= self.now_ms]


def holder_of(fields: Mapping[str, int], now_ms: int) -> Holder:
    """Who holds a subject whose lease hash has ``fields`` at ``now_ms`` (see the module doc)."""
    holders = {token: end for token, end in fields.items() if token != LAPSED_FIELD}
    if any(end > now_ms for end in holders.values()):
        return Holder.LIVE
    if holders or LAPSED_FIELD in fields:
        return Holder.LAPSED
    return Holder.NONE


def needs_redrive(view: LeaseView) -> bool:
    """The reconciler re-drives a subject now: a holder died and nobody has re-driven it yet.

    Once re-driven the dead fields become the lapsed mark, so later passes leave it to the
    re-driven message (and to the stall timers, should that message be lost too).
    """
    return view.holder is Holder.LAPSED and bool(view.dead_tokens())


def resume_wait_s(holder: Holder, waited_s: float, grace_s: float, lease_s: float) -> float | None:
    """Seconds a step finding its job mid-POST (SUBMITTING) should wait; None: re-send now.

    - the holder died (LAPSED): now, as the submit grace's expiry did before, only sooner;
    - a live holder: look again after one lease period (it is never raced);
    - no lease (a worker that keeps none): the submit grace of before, unchanged.
    """
    if holder is Holder.LAPSED:
        return None
    if holder is Holder.LIVE:
        return lease_s
    left = grace_s - waited_s
    return left if left > 0 else None
