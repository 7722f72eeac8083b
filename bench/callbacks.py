"""``python -m bench.callbacks``: crun (or ``--provider openrouter``: signed webhooks) jobs with
callbacks against the same jobs polled only.

Two runs in one stack (Redis, moto, the emulator, a real worker), each of ``--jobs`` crun jobs
of 3-18 s (the polling bench's 30-180 s compressed by 10, typical 10 s, poll cap 6 s):

- baseline: no ``RESTYLE_PUBLIC_URL``, so restyle only polls;
- callbacks: ``RESTYLE_PUBLIC_URL`` points at a real ``restyle web`` (uvicorn, in this
  process), the emulator POSTs each finished task to its job's callback URL, and the web app
  wakes the job's poll.

Per run: the emulator's status GETs per job, and the detection delay from the remote job's
end to the poll that saw it (p50, p95). Goals: <= 2 GETs per job and p95 <= 1 s with callbacks.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn
from pydantic import SecretStr

from bench.polling import observe, status_gets
from bench.rig import (
    UNLIMITED,
    Producer,
    bench_stack,
    configure_emulator,
    emulator_client,
    emulator_stats,
    make_jobs,
    percentile,
    provider_env,
    source_urls,
    wait_for_batch,
)
from config.settings import ProviderName, WebSettings
from devstack import Stack, free_port, wait_for
from devstack.stack import ALL_QUEUES
from emulator.config import DEV_WEBHOOK_SECRET
from web.app import create_web_app

MIN_S, MAX_S, TYPICAL_S, POLL_CAP_S = 3.0, 18.0, 10.0, 6.0
GOAL_GETS, GOAL_P95_S = 2.0, 1.0


@contextmanager
def web_server(producer: Producer) -> Iterator[str]:
    """A real ``restyle web`` for the callbacks; yields its URL."""
    secret = SecretStr(DEV_WEBHOOK_SECRET)  # what the emulator signs OpenRouter's webhooks with
    update = {"web": WebSettings(tokens=["bench"]), "openrouter_webhook_secret": secret}
    settings = producer.settings.model_copy(update=update)
    port = free_port()
    config = uvicorn.Config(create_web_app(settings), "127.0.0.1", port, log_level="error")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: httpx.get(f"{url}/healthz").status_code == 200, 20, "restyle web")
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(10)


def one_run(
    stack: Stack,
    producer: Producer,
    jobs: int,
    public_url: str | None,
    provider: ProviderName = ProviderName.CRUN,
) -> dict[str, Any]:
    """Start a worker (with or without callbacks), run ``jobs`` jobs on ``provider``, measure."""
    env = {
        "RESTYLE_POLL_MAX_INTERVAL_S": str(POLL_CAP_S),
        **provider_env(TYPICAL_DURATION_S=str(TYPICAL_S), **UNLIMITED),
        **({"RESTYLE_PUBLIC_URL": public_url} if public_url else {}),
    }
    with emulator_client(stack) as client:
        client.post("/_emulator/reset").raise_for_status()
    configure_emulator(stack, {"processing": {"min_s": MIN_S, "max_s": MAX_S}})
    worker = stack.start_worker(ALL_QUEUES, 8, f"cb{uuid.uuid4().hex[:4]}", env=env)
    try:
        batch = f"callbacks-{uuid.uuid4().hex[:8]}"
        made = make_jobs(batch, source_urls(stack, jobs))
        crun = [job.model_copy(update={"provider": provider}) for job in made]
        producer.ledger.add(crun)
        from tasks.messages import dispatch_jobs

        dispatch_jobs(producer.app, crun)
        wait_for_batch(producer.ledger, batch, jobs, timeout_s=2 * MAX_S + 240)
        finished = producer.ledger.get_many([job.id for job in crun])
        with emulator_client(stack) as client:
            listing = client.get("/_emulator/jobs").json()["jobs"]
        stats = emulator_stats(stack)
    finally:
        worker.stop()
        stack.workers.remove(worker)
    seen = observe(finished, {item["idempotency_key"]: item for item in listing}, 1.0)
    delays = [item.delay_s for item in seen]
    return {
        "stored": len(seen),
        "status_gets_per_job": round(status_gets(stats) / max(len(seen), 1), 2),
        "ledger_polls_per_job": round(statistics.fmean(i.polls for i in seen), 2) if seen else 0,
        "delay_s_p50": round(percentile(delays, 0.5), 3),
        "delay_s_p95": round(percentile(delays, 0.95), 3),
        "callbacks_sent": stats.get("callbacks_sent", 0),
        "callbacks_failed": stats.get("callbacks_failed", 0),
    }


def run(jobs: int, provider: ProviderName = ProviderName.CRUN) -> dict[str, Any]:
    with bench_stack("callbacks") as stack:
        stack.start_redis()
        stack.start_s3()
        stack.start_emulator("--preset", "calm")
        producer = Producer.of(stack)
        baseline = one_run(stack, producer, jobs, None, provider)
        with web_server(producer) as url:
            called = one_run(stack, producer, jobs, url, provider)
    gets = called["status_gets_per_job"]
    return {
        "bench": "callbacks", "provider": provider.value, "jobs": jobs,
        "job_s": [MIN_S, MAX_S], "typical_s": TYPICAL_S,
        "poll_cap_s": POLL_CAP_S, "with_callbacks": called, "polling_only": baseline,
        "gets_ratio": round(gets / max(baseline["status_gets_per_job"], 1e-9), 3),
        "meets_gets_goal": gets <= GOAL_GETS,
        "meets_delay_goal": called["delay_s_p95"] <= GOAL_P95_S,
    }  # fmt: skip


def main(argv: Sequence[str] | None = None) -> None:
    import json

    parser = argparse.ArgumentParser(prog="python -m bench.callbacks")
    parser.add_argument("--jobs", type=int, default=40)
    parser.add_argument(
        "--provider", choices=[ProviderName.CRUN.value, ProviderName.OPENROUTER.value],
        default=ProviderName.CRUN.value,
    )  # fmt: skip
    args = parser.parse_args(argv)
    print(json.dumps(run(args.jobs, ProviderName(args.provider))))


if __name__ == "__main__":
    main()
