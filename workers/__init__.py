"""The Celery app (`workers.app:app`), worker boot, logging and signals."""
