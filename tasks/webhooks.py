"""The Celery task that delivers webhooks for one subscription; the logic is in ``worker``."""

from __future__ import annotations

from worker.app import app, send_deliver
from worker.webhook_runtime import DELIVER_TASK, deliver


@app.task(name=DELIVER_TASK, ignore_result=True, acks_late=True)  # type: ignore[untyped-decorator]
def deliver_webhooks(subscription_id: str) -> str:
    """Deliver a batch of outcome events to one subscription, in order."""
    return deliver(subscription_id, send_deliver)
