"""`Job.derive`: a job made from another keeps the edit and starts its own life."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from config.settings import ProviderName
from jobs.failures import FailureKind
from jobs.models import DERIVED_FIELDS, Job, Priority, job_id_for
from jobs.request import EditRequest
from jobs.states import JobState

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_derived_job_keeps_the_edit_and_none_of_the_life() -> None:
    old = Job(
        id=job_id_for("b", "clip"),
        batch="b",
        item="clip",
        provider=ProviderName.CRUN,
        request=EditRequest(video_url="https://cdn.example.com/a.mp4", prompt="snow"),
        source="s3://in/a.mp4",
        priority=Priority.INTERACTIVE,
        output_prefix="s3://out/",
        estimated_cost_usd=1.5,
        source_seconds=4.0,
        state=JobState.STORED,
        attempt=3,
        remote_id="r-1",
        key_id="k",
        failure_kind=FailureKind.PROVIDER,
        version=9,
        created_at=T0,
        updated_at=T0,
    )
    later = T0 + timedelta(hours=1)
    request = old.request.model_copy(update={"prompt": "rain"})
    new = old.derive("clip.rerun1", later, request=request)
    assert new.id == job_id_for("b", "clip.rerun1") and new.item == "clip.rerun1"
    assert {name: getattr(new, name) for name in DERIVED_FIELDS if name != "request"} == {
        name: getattr(old, name) for name in DERIVED_FIELDS if name != "request"
    }
    assert new.request.prompt == "rain" and old.request.prompt == "snow"
    assert (new.state, new.attempt, new.remote_id, new.key_id, new.version) == (
        JobState.QUEUED,
        0,
        None,
        None,
        0,
    )
    assert new.failure_kind is None and new.events == ()
    assert new.created_at == new.updated_at == later
