"""Thin Celery tasks with stable, explicit names."""

from tasks.commands import execute_command
from tasks.webhooks import deliver_webhooks

__all__ = ["deliver_webhooks", "execute_command"]
