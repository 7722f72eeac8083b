"""`restyle rerun`: the CLI's call of `pipeline.operations.rerunning`, the one the dashboard
makes, against the session's Redis (the new job's first message waits in the broker)."""

from __future__ import annotations

from datetime import UTC, datetime

import redis
from typer.testing import CliRunner

from cli.main import app
from config.settings import ProviderName
from jobs.ledger import Ledger
from jobs.models import Job, job_id_for
from jobs.request import EditRequest
from jobs.states import JobState
from storage.objects import StoredObject
from tests.cli.test_cli import cli_env, flushed

__all__ = ["cli_env", "flushed"]  # fixtures of the CLI tests


def test_rerun_queues_a_new_job_on_the_same_route_and_refuses_a_rerun_that_changes_nothing(
    cli_env: dict[str, str], flushed: redis.Redis
) -> None:
    now = datetime.now(UTC)
    stored = Job(
        id=job_id_for("rr", "shot-1"), batch="rr", item="shot-1", provider=ProviderName.SEGMIND,
        route=(ProviderName.SEGMIND, ProviderName.AIMLAPI), policy="fastest",
        request=EditRequest(video_url="https://cdn.example.com/a.mp4", prompt="winter", seed=3),
        source="https://cdn.example.com/a.mp4", state=JobState.STORED, remote_id="r1",
        estimated_cost_usd=1.125, created_at=now, updated_at=now,
        output=StoredObject(bucket="o", key="rr/shot-1.mp4", size=9, sha256="ab" * 32,
                            content_type="video/mp4"),
    )  # fmt: skip
    ledger = Ledger(flushed)
    ledger.add([stored])

    same = CliRunner().invoke(app, ["rerun", stored.id, "--prompt", "winter"], env=cli_env)
    again = CliRunner().invoke(app, ["rerun", stored.id, "--seed", "11"], env=cli_env)

    assert same.exit_code == 2 and "give a new prompt or a new seed" in same.output
    assert again.exit_code == 0, again.output
    assert "queued shot-1.rerun1 (about $1.12)" in again.output
    new = ledger.get(job_id_for("rr", "shot-1.rerun1"))
    assert new is not None and new.state is JobState.QUEUED
    assert (new.route, new.policy, new.request.seed, new.request.prompt) == (
        stored.route, "fastest", 11, "winter")  # fmt: skip
    nothing = CliRunner().invoke(app, ["rerun", "no-such-id", "--seed", "1"], env=cli_env)
    assert nothing.exit_code == 1 and "no job or clip no-such-id" in nothing.output
