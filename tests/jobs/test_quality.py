"""What a job does after its output's checks (pure)."""

from __future__ import annotations

import pytest

from jobs.quality import QcEnd, QcNext, QcPolicy, after_check


@pytest.mark.parametrize(
    ("passed", "reruns", "policy", "step"),
    [
        (True, 0, QcPolicy(), QcNext.STORE),
        (True, 1, QcPolicy(), QcNext.STORE),
        (False, 0, QcPolicy(), QcNext.RERUN),
        (False, 1, QcPolicy(), QcNext.FAIL),
        (False, 1, QcPolicy(end=QcEnd.FLAG), QcNext.FLAG),
        (False, 0, QcPolicy(retries=0, end=QcEnd.FLAG), QcNext.FLAG),
        (False, 1, QcPolicy(retries=2), QcNext.RERUN),
        (False, 2, QcPolicy(retries=2), QcNext.FAIL),
    ],
)
def test_a_failed_check_reruns_then_ends_by_the_policy(
    passed: bool, reruns: int, policy: QcPolicy, step: QcNext
) -> None:
    assert after_check(passed, reruns, policy) is step


def test_the_policy_defaults_to_one_rerun_then_fail() -> None:
    assert QcPolicy() == QcPolicy(retries=1, end=QcEnd.FAIL)
