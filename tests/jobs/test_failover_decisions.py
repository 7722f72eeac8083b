"""The submit step's routing decisions (`pipeline.routing.route`, `.outages`, `.failover`), real
Redis, a given now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import redis

from config.settings import ProviderName, Settings
from devstack import Service
from devstack.stack import dev_key
from jobs.clips.record import Clip, ClipState
from jobs.failures import FailureKind
from jobs.limits.breaker import BreakerPolicy, Circuit, Outcome, record
from jobs.limits.breaker_store import Breakers
from jobs.limits.limiter import Handover
from jobs.limits.tiers import KeyTier, TierStore
from jobs.models import Job, Priority, job_id_for
from jobs.request import EditRequest
from jobs.states import JobState
from pipeline.context import Context
from pipeline.decisions import Done, Step, Then
from pipeline.routing.outages import give_up_kind
from pipeline.routing.pooling import take_for_free_slots
from pipeline.routing.route import Route, route, sooner
from pipeline.submission.hooks import BreakerHook
from providers.base import RemoteJob
from providers.errors import (
    InsufficientCredits,
    Maintenance,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    refused_before_acceptance,
)
from tests.jobs.conftest import FakeClock

P = ProviderName
T0 = datetime.fromtimestamp(1_700_000_000, UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0.timestamp())


@pytest.fixture
def ctx(redis_server: Service, redis_client: redis.Redis[bytes], clock: FakeClock) -> Context:
    keys = {name.value: {"api_keys": [dev_key(name)]} for name in (P.SEGMIND, P.CRUN)}
    settings = Settings(redis_url=redis_server.url, job_deadline_s=600, **keys)  # type: ignore[arg-type]
    context = Context.from_settings(settings)
    context.breakers = Breakers(context.redis, BreakerPolicy(cooldown_s=10), clock)
    return context


def queued(ctx: Context, item: str, *route: ProviderName, **fields: object) -> Job:
    job = Job(id=job_id_for("b", item), batch="b", item=item, provider=route[0],
              route=route if len(route) > 1 else (), policy="cheapest",
              request=EditRequest(video_url="https://cdn.example.com/a.mp4", prompt="snow"),
              created_at=T0, updated_at=T0, estimated_cost_usd=1.125, **fields)  # fmt: skip
    assert ctx.ledger.add([job]) == [True]
    return job


def key(ctx: Context, provider: ProviderName) -> str:
    return ctx.key_ids(provider)[0]


def test_only_answers_that_create_no_remote_job_let_a_job_move() -> None:
    assert refused_before_acceptance(Maintenance("crun", "maintenance", 455))
    assert refused_before_acceptance(RateLimited("segmind", "busy", 429))
    assert refused_before_acceptance(InsufficientCredits("aimlapi", "no credits", 403))
    assert not refused_before_acceptance(ProviderUnavailable("crun", "ReadTimeout"))
    assert not refused_before_acceptance(ProviderError("crun", "half a body", 200))
    assert not refused_before_acceptance(ProviderError("crun", "oops", 500))


def test_an_open_circuit_moves_the_job_and_its_price_and_says_why(ctx: Context) -> None:
    job = queued(ctx, "a", P.SEGMIND, P.CRUN, key_id=None)
    first = route(ctx, job, T0)
    assert first.job is not None and first.job.provider is P.CRUN  # $1.00 beats $1.125
    job = queued(ctx, "b", P.SEGMIND, P.CRUN)
    pinned = ctx.ledger.update(job, expect=JobState.QUEUED, now=T0, key_id=key(ctx, P.SEGMIND))
    assert pinned is not None
    ctx.breakers.record(P.SEGMIND, key(ctx, P.SEGMIND), Outcome.MAINTENANCE, detail="HTTP 503")
    moved = route(ctx, pinned, T0)
    assert moved.job is not None
    assert (moved.job.provider, moved.job.key_id) == (P.CRUN, key(ctx, P.CRUN))
    assert moved.job.estimated_cost_usd == 1.0
    (line,) = moved.job.moves
    assert f"segmind/{key(ctx, P.SEGMIND)} -> crun/{key(ctx, P.CRUN)}: open for 10s more" in line
    assert "(maintenance: HTTP 503)" in line


def test_a_job_whose_submit_may_have_been_accepted_never_moves(ctx: Context) -> None:
    job = queued(ctx, "a", P.SEGMIND, P.CRUN, key_id="x", remote_possible=True)
    ctx.breakers.record(P.SEGMIND, "x", Outcome.MAINTENANCE)
    assert route(ctx, job, T0) == Route(job)


def test_with_nowhere_to_go_one_job_holds_the_timer_and_the_rest_wait_quietly(
    ctx: Context, clock: FakeClock
) -> None:
    for provider in (P.SEGMIND, P.CRUN):
        ctx.breakers.record(provider, key(ctx, provider), Outcome.MAINTENANCE)
    clock.advance(4)
    now = T0 + timedelta(seconds=4)
    prober = route(ctx, queued(ctx, "a", P.SEGMIND, P.CRUN), now)
    waits = prober.then
    assert isinstance(waits, Then) and waits.countdown_s == pytest.approx(6.05)
    assert "waiting out an outage" in waits.reason and "open for 6s more" in waits.reason
    quiet = route(ctx, queued(ctx, "b", P.SEGMIND, P.CRUN), now)
    assert isinstance(quiet.then, Done) and quiet.then.recheck_s is not None
    assert ctx.breakers.waiting() == 1
    clock.advance(6)
    probe = route(ctx, ctx.ledger.require(job_id_for("b", "a")), now + timedelta(seconds=6))
    assert probe.job is not None and probe.job.provider is P.CRUN
    woken = BreakerHook().after_accepted(ctx, probe.job, now, RemoteJob("r-1", 1.0, now))
    assert [handover.holder for handover in woken] == [job_id_for("b", "b")]


def test_past_its_deadline_a_waiting_job_fails_with_the_states_it_saw(ctx: Context) -> None:
    ctx.breakers.record(P.CRUN, key(ctx, P.CRUN), Outcome.CREDITS, detail="no credits left")
    job = queued(ctx, "a", P.CRUN, state=JobState.RETRY_WAIT)
    done = route(ctx, job, T0 + timedelta(seconds=600))
    assert done.job is None and isinstance(done.then, Done)
    failed = ctx.ledger.require(job.id)
    assert (failed.state, failed.failure_kind) == (JobState.FAILED, FailureKind.CREDITS)
    assert failed.failure_message is not None
    assert "deadline (600 s after it was queued)" in failed.failure_message
    assert "credits: no credits left" in failed.failure_message


def test_the_cause_of_giving_up_is_the_circuits_common_cause() -> None:
    policy = BreakerPolicy()
    credits = record(Circuit(), Outcome.CREDITS, 0.0, policy)
    maint = record(Circuit(), Outcome.MAINTENANCE, 0.0, policy)
    assert give_up_kind([credits, Circuit()], 1.0) is FailureKind.CREDITS
    assert give_up_kind([credits, maint], 1.0) is FailureKind.PROVIDER_UNAVAILABLE


def test_a_limiter_wait_is_cut_short_only_when_there_is_elsewhere_to_go(ctx: Context) -> None:
    job = queued(ctx, "a", P.SEGMIND, P.CRUN)
    wait = Then(Step.SUBMIT, 300.0, "limiter: cooldown 300s")
    cut, kept = sooner(wait, Route(job, alternatives=True)), sooner(wait, Route(job))
    assert isinstance(cut, Then) and isinstance(kept, Then)
    assert (cut.countdown_s, kept.countdown_s) == (0.5, 300.0)


def test_with_every_key_full_a_routable_job_waits_for_the_first_free_slot_of_any(
    ctx: Context,
) -> None:
    for provider in (P.SEGMIND, P.CRUN):
        for n in range(ctx.limits(provider).concurrency):
            grant = ctx.limiter.acquire_slot(provider, key(ctx, provider), f"h{n}",
                                             ctx.limits(provider), 60, batch="other",
                                             priority=Priority.BULK)  # fmt: skip
            assert grant.allowed
    job = queued(ctx, "a", P.SEGMIND, P.CRUN)
    waiting = route(ctx, job, T0)
    assert isinstance(waiting.then, Done) and waiting.then.recheck_s is not None
    assert "every key is full (segmind 4/4, crun 4/4)" in waiting.then.reason
    assert ctx.ledger.require(job.id).key_id is None  # bound to no key while it waits
    assert take_for_free_slots(ctx, P.SEGMIND, key(ctx, P.SEGMIND)) == []
    ctx.limiter.release(P.CRUN, key(ctx, P.CRUN), "h0")
    assert take_for_free_slots(ctx, P.CRUN, key(ctx, P.CRUN)) == [Handover(job.id, Priority.BULK)]
    routed = route(ctx, job, T0)
    assert routed.job is not None and routed.job.provider is P.CRUN


def clip_on(ctx: Context, provider: ProviderName, *route: ProviderName, mix: bool = False) -> Clip:
    clip = Clip(id="clip-1", batch="b", item="long", provider=provider, route=route,
                mix_providers=mix, state=ClipState.EDITING, source="s3://in/long.mp4",
                request=EditRequest(video_url="https://cdn.example.com/a.mp4", prompt="snow"),
                source_seconds=20.0, edit_seconds=20.0, planned_segments=4,
                created_at=T0, updated_at=T0)  # fmt: skip
    assert ctx.clips.add([clip]) == [True]
    return clip


def segment(ctx: Context, clip: Clip, n: int) -> Job:
    return queued(ctx, f"long#{n}", *clip.route, clip_id=clip.id, segment=n, source_seconds=5.0)


def test_a_clips_segments_stay_on_its_provider_while_it_serves_even_when_busy(
    ctx: Context,
) -> None:
    clip = clip_on(ctx, P.SEGMIND, P.SEGMIND, P.CRUN)  # crun is cheaper: a lone job goes there
    for n in range(ctx.limits(P.SEGMIND).concurrency):
        grant = ctx.limiter.acquire_slot(P.SEGMIND, key(ctx, P.SEGMIND), f"h{n}",
                                         ctx.limits(P.SEGMIND), 60, batch="other",
                                         priority=Priority.BULK)  # fmt: skip
        assert grant.allowed
    routed = route(ctx, segment(ctx, clip, 1), T0)
    assert routed.job is not None and routed.job.provider is P.SEGMIND, routed


def test_when_its_provider_goes_down_a_clips_unsubmitted_segments_move_together(
    ctx: Context, clock: FakeClock
) -> None:
    clip = clip_on(ctx, P.SEGMIND, P.SEGMIND, P.CRUN)
    first = route(ctx, segment(ctx, clip, 1), T0)
    assert first.job is not None and first.job.provider is P.SEGMIND
    ctx.breakers.record(P.SEGMIND, key(ctx, P.SEGMIND), Outcome.MAINTENANCE, detail="HTTP 455")

    second = route(ctx, segment(ctx, clip, 2), T0)

    assert second.job is not None and second.job.provider is P.CRUN
    moved = ctx.clips.get(clip.id)
    assert moved is not None and moved.provider is P.CRUN
    assert "segments fail over segmind -> crun" in moved.events[-1].detail
    assert "maintenance: HTTP 455" in moved.events[-1].detail
    # The circuit closing again does not split the clip: the rest follow it to crun.
    clock.advance(60)
    ctx.breakers.record(P.SEGMIND, key(ctx, P.SEGMIND), Outcome.SUCCESS)
    third = route(ctx, segment(ctx, clip, 3), T0 + timedelta(seconds=60))
    assert third.job is not None and third.job.provider is P.CRUN


def test_a_clip_that_allows_mixing_routes_each_segment_on_its_own(ctx: Context) -> None:
    clip = clip_on(ctx, P.SEGMIND, P.SEGMIND, P.CRUN, mix=True)
    routed = route(ctx, segment(ctx, clip, 1), T0)
    assert routed.job is not None and routed.job.provider is P.CRUN  # the cheaper
    assert (ctx.clips.get(clip.id) or clip).provider is P.SEGMIND


def test_a_clip_leaves_a_provider_whose_keys_made_their_daily_cap_and_stays_if_all_have(
    ctx: Context,
) -> None:
    store = TierStore(ctx.redis)
    clip = clip_on(ctx, P.SEGMIND, P.SEGMIND, P.CRUN)
    for provider in (P.SEGMIND, P.CRUN):
        store.save(provider, key(ctx, provider), KeyTier(daily_generations=1))
    store.record_generation(P.SEGMIND, key(ctx, P.SEGMIND), "earlier", T0.timestamp() - 60)

    moved = route(ctx, segment(ctx, clip, 1), T0)

    assert moved.job is not None and moved.job.provider is P.CRUN  # hours, not seconds
    assert (ctx.clips.get(clip.id) or clip).provider is P.CRUN
    store.record_generation(P.CRUN, key(ctx, P.CRUN), "earlier", T0.timestamp() - 60)
    stays = route(ctx, segment(ctx, clip, 2), T0)
    assert stays.job is not None and stays.job.provider is P.CRUN  # capped everywhere
