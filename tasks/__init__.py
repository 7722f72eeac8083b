"""Celery tasks: thin wrappers that turn pipeline decisions into retries and next tasks."""
