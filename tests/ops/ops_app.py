"""A minimal Celery app for the operations tests (Flower, worker logging), on RESTYLE_REDIS_URL.

Started by real ``celery -A ops_app`` processes with this directory on PYTHONPATH, so the tests
of Flower and logging do not depend on the pipeline's tasks.
"""

from __future__ import annotations

import logging

from celery import Celery

from config.settings import load_settings
from workers.logging import log_context, setup_celery_logging

settings = load_settings()
setup_celery_logging(settings)

app = Celery("restyle-ops", broker=settings.redis_url, set_as_current=True)
app.conf.update(
    task_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    worker_hijack_root_logger=False,
    worker_send_task_events=True,
    task_send_sent_event=True,
    broker_connection_retry_on_startup=True,
)
log = logging.getLogger("ops_app")


@app.task(name="restyle.ops_fail")
def fail(job_id: str) -> None:
    """Log and fail the way a provider call with a rejected key might, naming the key."""
    key = settings.runway.api_keys[0].get_secret_value()
    with log_context(provider="runway", batch="ops"):
        log.warning("calling runway with Authorization: Bearer %s", key)
        raise RuntimeError(f"401 Unauthorized for key {key}")
