"""Which broker queue a command's messages go to: live traffic and bulk batches apart.

The queue follows from the command id (``store.ids``), and re-sent messages have a queue of
their own. Workers consume every queue and kombu takes them in turn.
Within one provider account, bulk yields to live at the flow gate: a bulk
command gets a message only when its account has a slot for it soon (``store.backlog``), so the
bulk queue stays short and a live command waits for about one slot, never behind the batch.
"""

from __future__ import annotations

from store.ids import is_bulk

LIVE_QUEUE = "ordercmd"
BULK_QUEUE = "ordercmd.bulk"


# Re-sends (a wait or retry come due, a dead lease) of live and bulk commands alike: workers
# take it in turn with the others, so a parked command's slot is not spent behind first
# deliveries. Every worker consuming commands consumes it (``ordercmd worker`` adds it).
RESEND_QUEUE = "ordercmd.resend"


def queue_for(command_id: str, *, resend: bool = False) -> str:
    """The queue for ``command_id``'s messages (``resend``: a re-sent one's)."""
    if resend:
        return RESEND_QUEUE
    return BULK_QUEUE if is_bulk(command_id) else LIVE_QUEUE


WEBHOOK_QUEUE = "ordercmd.webhooks"  # webhook deliveries: never in the way of commands' queues
