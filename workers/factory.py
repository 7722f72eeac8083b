"""`create_app(settings)`: a Celery app, and everything it sends or runs, from one `Settings`.

Nothing is built at import: the CLI, the web service, benchmarks and tests build the app from
the settings they hold (`sender` for the CLI's and web service's one way of sending work), and
``workers.app`` builds the worker's from the environment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from celery import Celery
from celery.signals import worker_process_init, worker_process_shutdown, worker_ready
from redbeat.schedulers import REDBEAT_REDIS_KEY

from config.redis import redbeat_client, redis_client
from config.settings import Settings
from jobs.clips.record import Clip
from jobs.models import Job
from pipeline.decisions import ClipNext
from pipeline.operations.sends import Sends
from tasks.messages import CLIP_TASK_NAMES, dispatch_clips, dispatch_jobs
from tasks.runtime import Runtime
from tasks.schedule_entries import connect_beat_sync
from workers.celery_config import celery_config
from workers.logging import setup_celery_logging
from workers.signals import connect_worker_signals
from workers.task_events import connect_task_events

TASK_MODULES = ["tasks.steps", "tasks.maintenance", "tasks.nightly", "tasks.media"]

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
    connect_task_events()

    def fresh_context(**_: Any) -> None:
        # Connections must not be shared across fork: each child builds its own clients,
        # before it reports itself up (Celery kills a child not up within 4 s; building takes
        # 0.1-0.2 s of CPU and opens no connection).
        runtime.warm_up()

    def close_context(**_: Any) -> None:
        runtime.close()

    def learn_tiers(**_: Any) -> None:
        # Once per worker, before it takes work: the provider's own limits beat the catalogue's.
        from pipeline.routing.tier_reading import learn_tiers as read_tiers

        read_tiers(settings, redis_client(settings))

    uid = f"restyle.{id(celery)}"
    worker_process_init.connect(fresh_context, weak=False, dispatch_uid=uid)
    worker_process_shutdown.connect(close_context, weak=False, dispatch_uid=uid)
    worker_ready.connect(learn_tiers, weak=False, dispatch_uid=uid)
    return celery


@dataclass(frozen=True)
class Outbox:
    """The one way the CLI, the web service and the demo send work: on an app of their own."""

    app: Celery

    def jobs(self, jobs: Sequence[Job]) -> int:
        """The first message (a submit) of each job."""
        return dispatch_jobs(self.app, jobs)

    def clips(self, clips: Sequence[Clip]) -> int:
        """The first message (a cut) of each clip."""
        return dispatch_clips(self.app, clips)

    def clip_steps(self, steps: Iterable[ClipNext]) -> None:
        """The media step each clip needs now (a reopened clip's anchor or stitch)."""
        for step in steps:
            self.app.send_task(CLIP_TASK_NAMES[step.step], args=[step.clip_id])


def publish(send: Outbox, sends: Sends) -> None:
    """Send what an operation (`pipeline.operations`) left to send."""
    if sends.jobs:
        send.jobs(sends.jobs)
    if sends.clip_steps:
        send.clip_steps(sends.clip_steps)


def outbox(settings: Settings) -> Outbox:
    """An `Outbox` on an app built from ``settings``."""
    return Outbox(create_app(settings))


def sender(settings: Settings) -> Sender:
    """Send jobs' first messages: ``send(jobs)`` (see `Outbox`)."""
    return outbox(settings).jobs
