"""Why a job ended FAILED: one vocabulary for the provider's failures and restyle's own."""

from __future__ import annotations

from enum import StrEnum


class FailureKind(StrEnum):
    """Why a job ended FAILED; stored on the job and shown in reports."""

    VALIDATION = "validation"
    AUTH = "auth"
    CREDITS = "credits"
    MODERATION = "moderation"
    GENERATION = "generation"
    FEATURE_DISABLED = "feature_disabled"
    EXPIRED = "expired"
    PROVIDER_UNAVAILABLE = "provider_unavailable"
    PROVIDER = "provider"
    BUDGET = "budget"
    CANCELLED = "cancelled"
    STORAGE = "storage"
    UNSAFE_OUTPUT = "unsafe_output"
    """The output URL pointed inside the network, or its bytes were not a video (or too many)."""
    QC = "qc"
    """The output failed its checks (`media.qc`) on every paid run the QC policy allowed."""
