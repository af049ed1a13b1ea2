"""Which broker queue a command's messages go to: live traffic and bulk batches apart.

Bulk commands get ids that say so, so every re-send (scheduler, lane release, replay) finds
the same queue from the id alone, with no extra read. Workers consume both queues and kombu
takes them in turn, so a 10,000-command batch waits behind live commands, never the reverse.
"""

from __future__ import annotations

import uuid

LIVE_QUEUE = "ordercmd"
BULK_QUEUE = "ordercmd.bulk"
BULK_ID_PREFIX = "b-"


def new_command_id(source: str) -> str:
    """A fresh command id for an envelope from ``source``; bulk commands' ids start with ``b-``."""
    prefix = BULK_ID_PREFIX if source.startswith("bulk:") else ""
    return prefix + uuid.uuid4().hex


def queue_for(command_id: str) -> str:
    """The queue for ``command_id``'s messages."""
    return BULK_QUEUE if command_id.startswith(BULK_ID_PREFIX) else LIVE_QUEUE
