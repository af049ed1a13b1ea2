"""The runtime: the Celery app, the executor and its decisions, backoff, the scheduler."""
