"""Liveness leases: what a lease says (pure, with a given now), and the store's Redis semantics."""

from __future__ import annotations

import time

import redis

from jobs import redis_keys
from jobs.liveness.heartbeat import Heartbeat
from jobs.liveness.lease import (
    LAPSED_FIELD,
    Holder,
    LeaseView,
    holder_of,
    needs_redrive,
    resume_wait_s,
)
from jobs.liveness.store import Leases, job_subject

NOW = 1_700_000_000_000


def test_a_lease_in_its_period_is_a_live_holder() -> None:
    assert holder_of({"w1": NOW + 1}, NOW) is Holder.LIVE
    # One live holder is enough, whatever dead ones the hash still names.
    assert holder_of({"w1": NOW - 5000, "w2": NOW + 8000}, NOW) is Holder.LIVE
    assert holder_of({LAPSED_FIELD: 1, "w2": NOW + 8000}, NOW) is Holder.LIVE


def test_no_lease_is_nobody_and_leaves_the_stall_timers_to_decide() -> None:
    assert holder_of({}, NOW) is Holder.NONE
    assert not needs_redrive(LeaseView({}, NOW))


def test_a_lease_past_its_period_is_a_dead_holder() -> None:
    assert holder_of({"w1": NOW}, NOW) is Holder.LAPSED
    assert holder_of({"w1": NOW - 1}, NOW) is Holder.LAPSED
    view = LeaseView({"w1": NOW - 1, "w2": NOW - 2}, NOW)
    assert needs_redrive(view)
    assert sorted(view.dead_tokens()) == ["w1", "w2"]


def test_a_lapse_already_re_driven_is_not_re_driven_again() -> None:
    view = LeaseView({LAPSED_FIELD: 1_700_000_000}, NOW)
    assert view.holder is Holder.LAPSED
    assert not needs_redrive(view)


def test_a_live_holder_is_never_re_driven() -> None:
    assert not needs_redrive(LeaseView({"w1": NOW - 1, "w2": NOW + 1}, NOW))


def test_a_job_found_mid_post_waits_for_a_live_holder_and_not_for_a_dead_one() -> None:
    # Dead holder: re-send now, 3 s into the 125 s grace.
    assert resume_wait_s(Holder.LAPSED, waited_s=3.0, grace_s=125.0, lease_s=8.0) is None
    # Live holder: look again one lease period later, even long past the grace.
    assert resume_wait_s(Holder.LIVE, waited_s=3.0, grace_s=125.0, lease_s=8.0) == 8.0
    assert resume_wait_s(Holder.LIVE, waited_s=500.0, grace_s=125.0, lease_s=8.0) == 8.0
    # No lease (leases off, an older worker): the grace of before, unchanged.
    assert resume_wait_s(Holder.NONE, waited_s=25.0, grace_s=125.0, lease_s=8.0) == 100.0
    assert resume_wait_s(Holder.NONE, waited_s=125.0, grace_s=125.0, lease_s=8.0) is None


def test_store_take_lapse_and_mark_once(redis_client: redis.Redis[bytes]) -> None:
    leases = Leases(redis_client)
    subject = job_subject("lease-store")
    leases.take(subject, "dead", 0.05)
    leases.take(subject, "live", 30.0)
    time.sleep(0.1)  # a real TTL in Redis's clock, which no `now` can stand in for
    view = leases.view(subject)
    assert view.holder is Holder.LIVE and view.dead_tokens() == ["dead"]
    leases.drop(subject, "live")
    view = leases.view(subject)
    assert needs_redrive(view)
    # Two reconcile passes: only the first one re-drives.
    assert leases.mark_lapsed(subject, view.dead_tokens())
    assert not leases.mark_lapsed(subject, view.dead_tokens())
    assert leases.view(subject).holder is Holder.LAPSED
    # The re-driven step's hold clears the mark; its end leaves no lease at all.
    leases.take(subject, "next", 30.0)
    assert set(leases.view(subject).fields) == {"next"}
    leases.drop(subject, "next")
    assert redis_client.exists(redis_keys.lease(subject)) == 0


def test_a_renewal_never_brings_back_a_dropped_hold(redis_client: redis.Redis[bytes]) -> None:
    leases = Leases(redis_client)
    subject = job_subject("lease-renew")
    leases.take(subject, "w1", 30.0)
    leases.drop(subject, "w1")
    leases.take(subject, "w1", 30.0, first=False)  # the heartbeat thread, one beat late
    assert leases.view(subject).holder is Holder.NONE


def test_heartbeat_holds_while_the_block_runs(redis_client: redis.Redis[bytes]) -> None:
    heartbeat = Heartbeat(Leases(redis_client), lease_s=0.4)
    subject = job_subject("lease-beat")
    try:
        with heartbeat.hold(subject, max_hold_s=60.0):
            time.sleep(1.0)  # 2.5 periods: only the renewals keep it alive
            assert heartbeat.leases.view(subject).holder is Holder.LIVE
        assert heartbeat.leases.view(subject).holder is Holder.NONE
    finally:
        heartbeat.stop()
