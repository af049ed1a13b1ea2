"""Thin Celery tasks with stable, explicit names."""

from tasks.commands import execute_command

__all__ = ["execute_command"]
