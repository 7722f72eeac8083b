"""What a job does after its output's checks (`media.qc`): the user's QC policy, and the
decision it gives (pure)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class QcEnd(StrEnum):
    """How a job ends when its output still fails its checks after every re-run."""

    FAIL = "fail"
    """FAILED, kind ``qc``: the bad output is never STORED as a result."""
    FLAG = "flag"
    """STORED, flagged with the checks it failed (`Job.qc_flags`)."""


class QcPolicy(BaseModel):
    """``--qc-retries`` (paid re-runs of an output that fails its checks) and ``--qc-policy``."""

    model_config = ConfigDict(frozen=True)

    retries: int = Field(default=1, ge=0, le=5)
    end: QcEnd = QcEnd.FAIL


class QcNext(StrEnum):
    """What the archive step does with a checked output."""

    STORE = "store"
    RERUN = "rerun"
    FAIL = "fail"
    FLAG = "flag"


def after_check(passed: bool, reruns: int, policy: QcPolicy) -> QcNext:
    """STORE a passing output; RERUN a failing one while ``reruns`` (done so far) is under the
    policy's; then FAIL or FLAG it as the policy says."""
    if passed:
        return QcNext.STORE
    if reruns < policy.retries:
        return QcNext.RERUN
    return QcNext.FLAG if policy.end is QcEnd.FLAG else QcNext.FAIL
