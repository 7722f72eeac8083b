"""The provider boundary says, by class, whether a refused request made a remote job and what
it says of the key; nothing later reads the status (tests/architecture)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from jobs.limits.breaker import Outcome
from pipeline.routing.breaker_outcomes import breaker_outcome
from providers.errors import (
    AnswerLost,
    FatalFailure,
    Maintenance,
    ProviderError,
    ProviderFailure,
    ProviderUnavailable,
    RateLimited,
    RefusedBeforeAcceptance,
    RetryRefused,
    ServiceDown,
    refused_before_acceptance,
)
from providers.http import failure_for

NOW = datetime(2026, 1, 1, tzinfo=UTC)
WAIT = {"Retry-After": "60"}


@pytest.mark.parametrize(
    ("status", "headers", "cls", "clean", "outcome"),
    [
        (455, {}, Maintenance, True, Outcome.MAINTENANCE),
        (503, WAIT, Maintenance, True, Outcome.MAINTENANCE),
        (503, {}, ServiceDown, True, Outcome.SERVER_ERROR),
        (502, {}, ServiceDown, True, Outcome.SERVER_ERROR),
        (504, {}, ServiceDown, True, Outcome.SERVER_ERROR),
        (408, {}, ServiceDown, True, Outcome.SERVER_ERROR),
        (429, {}, RateLimited, True, None),
        (500, {}, ProviderError, False, Outcome.SERVER_ERROR),
        (401, {"x-should-retry": "true"}, RetryRefused, True, Outcome.SERVER_ERROR),
        (402, {}, FatalFailure, True, Outcome.CREDITS),
        (503, {"x-should-retry": "false"}, FatalFailure, True, None),
    ],
)
def test_the_class_chosen_at_the_boundary_carries_every_later_decision(
    status: int,
    headers: dict[str, str],
    cls: type[ProviderFailure],
    clean: bool,
    outcome: Outcome | None,
) -> None:
    error = failure_for("crun", status, headers, "refused", NOW)
    assert isinstance(error, cls)
    assert refused_before_acceptance(error) is clean
    assert isinstance(error, RefusedBeforeAcceptance | FatalFailure) is clean
    assert breaker_outcome(error) is outcome


def test_no_answer_may_hide_a_remote_job() -> None:
    for error in (ProviderUnavailable("crun", "ConnectTimeout"), AnswerLost("crun", "ReadTimeout")):
        assert not refused_before_acceptance(error)
        assert breaker_outcome(error) is Outcome.TIMEOUT
