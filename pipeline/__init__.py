"""What each task decides, without Celery: submit, poll, archive, reconcile."""
