"""The Celery task that executes a command; the logic is ``worker.executor.execute``."""

from __future__ import annotations

from worker.app import EXECUTE_TASK, app, get_runtime
from worker.executor import execute


@app.task(name=EXECUTE_TASK, ignore_result=True, acks_late=True)  # type: ignore[untyped-decorator]
def execute_command(command_id: str) -> str:
    """Execute one delivery of a command by id (the message carries nothing else)."""
    return execute(command_id, get_runtime())
