"""Which broker queue a command's messages go to: live traffic and bulk batches apart.

The queue follows from the command id (``store.ids``). Workers consume both queues and kombu
takes them in turn. Within one provider account, bulk yields to live at the flow gate: a bulk
command gets a message only when its account has a slot for it soon (``store.backlog``), so the
bulk queue stays short and a live command waits for about one slot, never behind the batch.
"""

from __future__ import annotations

from store.ids import is_bulk

LIVE_QUEUE = "ordercmd"
BULK_QUEUE = "ordercmd.bulk"


def queue_for(command_id: str) -> str:
    """The queue for ``command_id``'s messages."""
    return BULK_QUEUE if is_bulk(command_id) else LIVE_QUEUE


WEBHOOK_QUEUE = "ordercmd.webhooks"  # webhook deliveries: never in the way of commands' queues
