"""Whole-clip pricing: a clip costs the runs each provider's window needs (pure)."""

from __future__ import annotations

import pytest

from config.catalogue import CATALOGUE
from config.settings import ProviderName
from jobs.routes import Option, Policy, choose, one_run_route, quote

P = ProviderName


def test_a_5_3_s_clip_is_two_runs_on_a_5_s_reseller_and_one_on_runway() -> None:
    aimlapi = quote(CATALOGUE[P.AIMLAPI], 5.3)
    runway = quote(CATALOGUE[P.RUNWAY], 5.3)
    assert (aimlapi.runs, aimlapi.cost_usd) == (2, 2.00)
    # Two runs of 2.65 s each: the seconds billed are the clip's (to a frame), the runs double.
    assert aimlapi.billed_seconds == pytest.approx(5.3, abs=1 / 24)
    assert (runway.runs, runway.cost_usd) == (1, pytest.approx(1.484, abs=0.003))


def test_cheapest_picks_the_one_run_provider_for_the_5_3_s_clip() -> None:
    options = [
        Option(spec.name, quote(spec, 5.3).cost_usd, spec.typical_duration_s, 4, 0)
        for spec in CATALOGUE.values()
    ]
    picked = choose(Policy.CHEAPEST, options)
    assert picked is not None and picked.provider is P.RUNWAY


def test_a_5_s_clip_is_still_one_cheap_run_on_a_reseller() -> None:
    options = [
        Option(spec.name, quote(spec, 5.0).cost_usd, spec.typical_duration_s, 4, 0)
        for spec in CATALOGUE.values()
    ]
    picked = choose(Policy.CHEAPEST, options)
    assert picked is not None and picked.provider is P.AIMLAPI
    assert quote(CATALOGUE[P.AIMLAPI], 5.0).runs == 1


def test_a_minimum_charge_is_paid_per_run() -> None:
    vibedream = quote(CATALOGUE[P.VIBEDREAM], 12.0)  # three 4 s runs at $0.18/s, $1.00 minimum
    assert (vibedream.runs, vibedream.cost_usd) == (3, 3.00)


def test_max_seconds_prices_only_the_kept_part() -> None:
    assert quote(CATALOGUE[P.SEGMIND], 17.0).runs == 4
    assert quote(CATALOGUE[P.SEGMIND], 17.0, max_seconds=5.0).runs == 1


def test_a_one_job_source_may_go_only_where_one_run_edits_all_of_it() -> None:
    route = (P.RUNWAY, P.AIMLAPI, P.SEGMIND, P.COMFY, P.OPENROUTER)
    assert one_run_route(route, CATALOGUE, 5.3) == (P.RUNWAY, P.COMFY, P.OPENROUTER)
    assert one_run_route(route, CATALOGUE, 5.0) == route
    assert one_run_route(route, CATALOGUE, 5.3, max_seconds=5.0) == route
