"""The Celery task that delivers webhooks for one subscription; the logic is in ``worker``."""

from __future__ import annotations

from worker.app import app, send_deliver
from worker.webhook_runtime import DELIVER_TASK, deliver


# no task events (received, started, succeeded): a delivery task is plumbing, its deliveries
# are counted in /metrics, and three more broker publishes a batch cost the worker's GIL
@app.task(  # type: ignore[untyped-decorator]
    name=DELIVER_TASK, ignore_result=True, acks_late=True, send_events=False
)
def deliver_webhooks(subscription_id: str) -> str:
    """Deliver a batch of outcome events to one subscription, in order."""
    return deliver(subscription_id, send_deliver)
