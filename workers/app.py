"""The Celery app: ``celery -A workers.app worker`` and ``celery -A workers.app flower``."""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.signals import worker_process_init, worker_process_shutdown, worker_ready

from config.settings import Settings, load_settings
from tasks.schedule_entries import connect_beat_sync
from workers.celery_config import celery_config
from workers.logging import setup_celery_logging
from workers.signals import connect_worker_signals

TASK_MODULES = ["tasks.steps", "tasks.maintenance", "tasks.schedules", "tasks.media"]


def create_app(settings: Settings | None = None) -> Celery:
    """A Celery app configured from ``settings`` (the environment's by default)."""
    settings = settings or load_settings()
    celery = Celery("restyle", include=TASK_MODULES)
    celery.conf.update(celery_config(settings))
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


@worker_process_shutdown.connect
def _close_context(**_: Any) -> None:
    from tasks.runtime import close_context

    close_context()


@worker_ready.connect
def _learn_tiers(**_: Any) -> None:
    # Once per worker, before it takes work: the provider's own limits beat the catalogue's.
    import redis

    from pipeline.tiers import learn_tiers

    settings = load_settings()
    learn_tiers(settings, redis.Redis.from_url(settings.redis_url))


app = create_app()
