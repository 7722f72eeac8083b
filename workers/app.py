"""The Celery app: ``celery -A workers.app worker`` and ``celery -A workers.app flower``."""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.signals import worker_process_init
from redbeat.schedulers import REDBEAT_REDIS_KEY

from config.celery import celery_config
from config.redis import redbeat_client
from config.settings import Settings, load_settings
from workers.beat import connect_beat_sync
from workers.logging import setup_celery_logging
from workers.signals import connect_worker_signals

TASK_MODULES = ["tasks.steps", "tasks.maintenance", "tasks.schedules"]


def create_app(settings: Settings | None = None) -> Celery:
    """A Celery app configured from ``settings`` (the environment's by default)."""
    settings = settings or load_settings()
    celery = Celery("restyle", include=TASK_MODULES)
    celery.conf.update(celery_config(settings))
    # RedBeat builds its own client unless one is there: give it the factory's, which
    # reconnects (through the sentinels) and retries like every other restyle client.
    setattr(celery, REDBEAT_REDIS_KEY, redbeat_client(settings))
    setup_celery_logging(settings)
    connect_beat_sync(settings)
    connect_worker_signals()
    return celery


@worker_process_init.connect
def _fresh_context(**_: Any) -> None:
    # Connections must not be shared across fork: each child builds its own clients, before it
    # reports itself up (Celery kills a child not up within 4 s; building takes 0.1-0.2 s of CPU
    # and opens no connection).
    from tasks.runtime import warm_up

    warm_up()


app = create_app()
