"""Which broker queue a command's messages go to: live traffic and bulk batches apart.

The queue follows from the command id (``store.ids``). Workers consume both queues and kombu
takes them in turn, so a 10,000-command batch waits behind live commands, never the reverse.
"""

from __future__ import annotations

from store.ids import is_bulk

LIVE_QUEUE = "ordercmd"
BULK_QUEUE = "ordercmd.bulk"


def queue_for(command_id: str) -> str:
    """The queue for ``command_id``'s messages."""
    return BULK_QUEUE if is_bulk(command_id) else LIVE_QUEUE


WEBHOOK_QUEUE = "ordercmd.webhooks"  # webhook deliveries: never in the way of commands' queues
