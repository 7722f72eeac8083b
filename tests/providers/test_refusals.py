"""The provider boundary says, by class, whether a refused request made a remote job and what
it says of the key; nothing later reads the status (tests/architecture)."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import httpx
import pytest

from jobs.limits.breaker import Outcome
from pipeline.routing.breaker_outcomes import breaker_outcome
from providers.errors import (
    AnswerLost,
    FatalFailure,
    Maintenance,
    NotSent,
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
from providers.transport import Transport

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


def test_no_answer_may_hide_a_remote_job_unless_nothing_was_sent() -> None:
    for error in (ProviderUnavailable("crun", "WriteTimeout"), AnswerLost("crun", "ReadTimeout")):
        assert not refused_before_acceptance(error)
        assert breaker_outcome(error) is Outcome.TIMEOUT
    unsent = NotSent("crun", "ConnectError: connection refused")
    assert refused_before_acceptance(unsent) and breaker_outcome(unsent) is Outcome.TIMEOUT


def test_a_closed_port_is_not_sent() -> None:
    # A port nobody listens on: the connection is refused, the request never leaves.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    transport = Transport("crun", httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=2))
    with pytest.raises(NotSent):
        transport.send("POST", "/v1/tasks", json={})
