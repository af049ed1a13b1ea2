"""The runtime: settings, Celery app, command store, retry schedule, dead letters, executor."""
