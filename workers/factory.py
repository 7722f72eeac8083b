"""`create_app(settings)`: a Celery app, and everything it sends or runs, from one `Settings`.

Nothing is built at import: the CLI, the web service, benchmarks and tests build the app from
the settings they hold (`sender` for the CLI's and web service's one way of sending work), and
``workers.app`` builds the worker's from the environment.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from celery import Celery
from celery.signals import worker_process_init
from redbeat.schedulers import REDBEAT_REDIS_KEY

from config.celery import celery_config
from config.redis import redbeat_client
from config.settings import Settings
from jobs.models import Job
from tasks.runtime import Runtime
from workers.beat import connect_beat_sync
from workers.dispatch import dispatch_jobs
from workers.logging import setup_celery_logging
from workers.signals import connect_worker_signals

TASK_MODULES = ["tasks.steps", "tasks.maintenance", "tasks.schedules"]

Sender = Callable[[Sequence[Job]], int]


def create_app(settings: Settings) -> Celery:
    """A Celery app configured from ``settings``, with its own `Runtime` (tasks' context)."""
    celery = Celery("restyle", include=TASK_MODULES)
    celery.conf.update(celery_config(settings))
    runtime = Runtime(settings)
    celery.restyle_runtime = runtime
    # RedBeat builds its own client unless one is there: give it the factory's, which
    # reconnects (through the sentinels) and retries like every other restyle client.
    setattr(celery, REDBEAT_REDIS_KEY, redbeat_client(settings))
    setup_celery_logging(settings)
    connect_beat_sync(settings)
    connect_worker_signals()

    def fresh_context(**_: Any) -> None:
        # Connections must not be shared across fork: each child builds its own clients,
        # before it reports itself up (Celery kills a child not up within 4 s; building takes
        # 0.1-0.2 s of CPU and opens no connection).
        runtime.warm_up()

    worker_process_init.connect(fresh_context, weak=False, dispatch_uid=f"restyle.{id(celery)}")
    return celery


def sender(settings: Settings) -> Sender:
    """How the CLI and the web service send jobs' first messages: ``send(jobs)``."""
    app = create_app(settings)
    return lambda jobs: dispatch_jobs(app, jobs)
