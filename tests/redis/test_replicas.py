"""What too few replicas mean to a step: stop before a costly act, log once after one."""

from __future__ import annotations

import pytest

from jobs.replicas import NotReplicated, Replicas, Shortfalls, after_the_fact


def test_too_few_acknowledgements_raise_with_what_was_written() -> None:
    replicas = Replicas(count=2, timeout_ms=50)
    replicas.check(2, "enough")
    with pytest.raises(NotReplicated, match="1 of 2 replica") as caught:
        replicas.check(1, "job j -> SUBMITTING", written="the job")
    assert caught.value.written == "the job"


def test_a_write_recording_an_act_already_done_goes_on_with_the_primary_s_copy() -> None:
    def short() -> str | None:
        raise NotReplicated("job j -> STORED: 0 of 1", "stored job")

    assert after_the_fact(short) == "stored job"
    assert after_the_fact(lambda: "fine") == "fine"


def test_shortfalls_are_logged_once_a_minute_with_their_count() -> None:
    shortfalls = Shortfalls(every_s=60)

    logged = [shortfalls.note("short", now=t) for t in (0, 1, 30, 59, 61, 62)]

    assert logged == [True, False, False, False, True, False]
    assert shortfalls.unlogged == 1
