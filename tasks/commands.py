"""The Celery task that executes a command; the logic is ``worker.executor.execute``."""

from __future__ import annotations

from typing import Any

from worker.app import EXECUTE_TASK, app, get_runtime
from worker.executor import execute
from worker.folded_acks import DELIVERY_TAG_HEADER


@app.task(name=EXECUTE_TASK, ignore_result=True, acks_late=True, bind=True)  # type: ignore[untyped-decorator]
def execute_command(self: Any, command_id: str) -> str:
    """Execute one delivery of a command by id (the message carries nothing else)."""
    delivery_tag = getattr(self.request, DELIVERY_TAG_HEADER, None)
    return execute(command_id, get_runtime(), delivery_tag=delivery_tag)
