"""The shape of one submit: the POST close under its task, and no failover for one provider.

The step runs in this process against the emulator, Redis and S3; an httpx request hook (a
public httpx feature, the request still goes out) records the call stack of the POST, and a
profile hook the modules the step ran.
"""

from __future__ import annotations

import ast
import inspect
import sys
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

from config.settings import ProviderName, Settings
from devstack import Stack
from jobs.ledger import Ledger
from pipeline.context import Context, utcnow
from pipeline.decisions import Step, Then
from pipeline.submitting import submit_job
from tests.pipeline.conftest import make_job, unique_batch

ROOT = Path(__file__).resolve().parents[2]
MAX_FRAMES_TASK_TO_POST = 5


def test_the_submit_task_calls_the_step_directly() -> None:
    # The frame count below starts at submit_job; the task adds exactly one frame above it.
    tree = ast.parse((ROOT / "tasks" / "steps.py").read_text())
    (task,) = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "submit"]
    called = {
        c.func.id
        for c in ast.walk(task)
        if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)
    }
    assert "submit_job" in called


def test_a_one_provider_submit_posts_near_its_task_and_runs_no_failover(
    services: Stack,
    worker_settings: Settings,
    ledger: Ledger,
    source_url: str,
    emulator: httpx.Client,  # reset: an earlier test's daily cap must not refuse this POST
) -> None:
    ctx = Context.from_settings(worker_settings)
    provider = ProviderName.RUNWAY
    stacks: list[list[str]] = []

    def record(request: httpx.Request) -> None:
        stacks.append([frame.function for frame in inspect.stack()])

    ctx.adapter(provider, ctx.key_ids(provider)[0]).transport.client.event_hooks["request"].append(
        record
    )
    job = make_job(worker_settings, unique_batch("shape"), "one", provider, source_url)
    ledger.add([job])
    ran: set[str] = set()

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call":
            ran.add(frame.f_code.co_filename)

    sys.setprofile(profile)
    try:
        decision = submit_job(ctx, job.id, utcnow())
    finally:
        sys.setprofile(None)
        ctx.close()
    assert isinstance(decision, Then) and decision.step is Step.POLL, decision
    (stack,) = stacks
    below = stack.index("submit_job") - stack.index("request")  # httpx.Client.request
    assert below + 1 <= MAX_FRAMES_TASK_TO_POST, list(reversed(stack))
    failover = str(ROOT / "pipeline" / "routing" / "failover.py")
    assert failover not in ran
    assert str(ROOT / "pipeline" / "routing" / "route.py") in ran  # the profile saw routing
