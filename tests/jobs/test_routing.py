"""Routes: parsing a provider spec, the eligible set with every refusal, and the three policies."""

from __future__ import annotations

import pytest

from config.catalogue import CATALOGUE
from config.settings import ProviderName
from jobs.routes import (
    Need,
    Option,
    Policy,
    RouteError,
    choose,
    eligible,
    parse_route,
    price_per_second,
    refusals,
)

P = ProviderName
ALL = tuple(ProviderName)


def test_a_spec_is_one_name_an_ordered_list_or_auto() -> None:
    assert parse_route("segmind", ALL) == (P.SEGMIND,)
    assert parse_route(" Runway , segmind,runway", ALL) == (P.RUNWAY, P.SEGMIND)
    assert parse_route("auto", [P.CRUN, P.AIMLAPI]) == (P.AIMLAPI, P.CRUN)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "names no provider"),
        ("runway,replicate", "unknown provider 'replicate'"),
        ("auto,runway", "auto stands alone"),
    ],
)
def test_a_bad_spec_says_what_is_wrong(text: str, words: str) -> None:
    with pytest.raises(RouteError, match=words):
        parse_route(text, ALL)


def test_auto_with_nothing_configured_is_an_error() -> None:
    with pytest.raises(RouteError, match="no provider has an API key"):
        parse_route("auto", [])


def test_each_limit_refuses_with_its_field_and_reason() -> None:
    vibedream = CATALOGUE[P.VIBEDREAM]
    need = Need(aspect_ratio="21:9", seed=True, size_bytes=40 * 2**20, container="avi",
                duration_s=900.0)  # fmt: skip
    found = {(r.field, r.reason) for r in refusals(vibedream, need, configured=False)}
    assert ("provider", "has no API key configured") in found
    assert ("aspect_ratio", "takes 16:9, 9:16, 4:3, 3:4, 1:1, not 21:9") in found
    assert ("seed", "takes no seed") in found
    assert ("source", "takes at most 32 MiB, not 40.0 MiB") in found
    assert ("source", "takes mp4, mov, webm, not avi") in found
    assert ("source", "edits at most 600 s, not 900.0 s") in found
    assert refusals(CATALOGUE[P.RUNWAY], Need(aspect_ratio="21:9", seed=True)) == []


def test_the_price_cap_compares_price_per_second_of_output() -> None:
    # segmind: $1.125 a run of 5 s; vibedream: $0.18/s with a $1 floor
    assert price_per_second(CATALOGUE[P.SEGMIND]) == pytest.approx(0.225)
    assert price_per_second(CATALOGUE[P.VIBEDREAM], 2.0) == pytest.approx(0.5)
    found = eligible(ALL, CATALOGUE, Need(duration_s=5.0), configured=ALL,
                     max_price_per_second=0.2)  # fmt: skip
    # runway: aleph2 at $0.28/s (unconfirmed)
    assert found.providers == (P.AIMLAPI, P.VIBEDREAM, P.CRUN)
    assert [str(r) for r in found.refused] == [
        "runway: costs $0.280/s, over --max-price-per-second $0.2",
        "segmind: costs $0.225/s, over --max-price-per-second $0.2",
        "openrouter: costs $0.280/s, over --max-price-per-second $0.2",
        "comfy: costs $0.280/s, over --max-price-per-second $0.2",
    ]


def test_eligible_keeps_route_order_and_reports_every_refusal() -> None:
    found = eligible((P.VIBEDREAM, P.SEGMIND, P.RUNWAY), CATALOGUE, Need(aspect_ratio="21:9"),
                     configured=(P.SEGMIND, P.VIBEDREAM))  # fmt: skip
    assert found.providers == (P.SEGMIND,)
    assert [str(r) for r in found.refused] == [
        "vibedream: takes 16:9, 9:16, 4:3, 3:4, 1:1, not 21:9",
        "runway: has no API key configured",
    ]


def option(
    provider: ProviderName, price: float, typical: float, capacity: int, queued: int
) -> Option:
    return Option(provider, price, typical, capacity, queued)


def test_cheapest_takes_the_lowest_price_even_when_busy() -> None:
    options = [option(P.SEGMIND, 1.125, 170, 4, 0), option(P.CRUN, 1.0, 200, 4, 9),
               option(P.AIMLAPI, 1.0, 210, 4, 3)]  # fmt: skip
    picked = choose(Policy.CHEAPEST, options)
    assert picked is not None and picked.provider is P.AIMLAPI  # same price: the less loaded


def test_fastest_takes_the_shortest_typical_time() -> None:
    options = [option(P.RUNWAY, 0.75, 180, 2, 0), option(P.VIBEDREAM, 1.0, 60, 4, 8)]
    picked = choose(Policy.FASTEST, options)
    assert picked is not None and picked.provider is P.VIBEDREAM


def test_spread_takes_the_least_loaded_per_slot_then_the_most_free_slots() -> None:
    options = [option(P.RUNWAY, 0.75, 180, 2, 1), option(P.SEGMIND, 1.1, 170, 8, 4),
               option(P.CRUN, 1.0, 200, 4, 1)]  # fmt: skip
    picked = choose(Policy.SPREAD, options)
    assert picked is not None and picked.provider is P.CRUN  # load 0.25 beats 0.5 and 0.5
    tied = [option(P.RUNWAY, 0.75, 180, 2, 0), option(P.SEGMIND, 1.1, 170, 8, 0)]
    picked = choose(Policy.SPREAD, tied)
    assert picked is not None and picked.provider is P.SEGMIND  # more free slots


def test_no_option_no_pick() -> None:
    assert choose(Policy.SPREAD, []) is None
