"""How many messages wait on the broker, per queue: Celery's Redis lists; unknown on AMQP.

On a Redis broker a queue is a list per priority step (kombu: the name, then the name, a
separator and the step) and messages delivered but not yet acked wait in the ``unacked``
hash. On any other transport the depth is reported unknown rather than opening a connection
that may hang a page.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

import redis

from redisconn.client import redis_client
from worker.queues import BULK_QUEUE, LIVE_QUEUE, RESEND_QUEUE, WEBHOOK_QUEUE

QUEUE_NAMES = (LIVE_QUEUE, RESEND_QUEUE, BULK_QUEUE, WEBHOOK_QUEUE)
PRIORITY_SEP = "\x06\x16"  # kombu's Redis channel: queue name, separator, priority step
# kombu's default steps (step 0 is the bare name). ordercmd's channels use step 0 alone
# (worker.app), but a client on kombu's defaults that sets a priority writes to the others:
# they are counted, so such messages show as waiting rather than being invisible
PRIORITY_STEPS = ("", "3", "6", "9")
UNACKED = "unacked"  # kombu's Redis channel: delivered, not yet acked (all queues)
TIMEOUT_S = 1.0  # a broker apart from the store answers within this or is reported unreachable


@dataclass(frozen=True)
class BrokerDepths:
    """Messages per queue (``None``: unknown) and a word on how they were read."""

    transport: str
    queues: dict[str, int | None]
    unacked: int | None
    note: str = ""

    def to_json(self) -> dict[str, object]:
        """Plain JSON values."""
        return {"transport": self.transport, "queues": self.queues, "unacked": self.unacked,
                "note": self.note}  # fmt: skip


def broker_depths(store_client: redis.Redis, broker_url: str | None) -> BrokerDepths:
    """The depth of every ordercmd queue, in one round trip.

    Args:
        store_client: the store's Redis, which is the broker when ``broker_url`` is ``None``.
        broker_url: the broker apart from the store (``ORDERCMD_BROKER_URL``), if any.
    """
    scheme = urlsplit(broker_url).scheme if broker_url else "redis"
    if scheme not in ("redis", "rediss", "unix"):
        unknown: dict[str, int | None] = dict.fromkeys(QUEUE_NAMES)
        note = f"unknown on {scheme}: see the broker's own tools"
        return BrokerDepths(scheme, unknown, None, note)
    client = _broker_client(broker_url) if broker_url else store_client
    pipe = client.pipeline(transaction=False)
    for name in QUEUE_NAMES:
        for step in PRIORITY_STEPS:
            pipe.llen(name + (PRIORITY_SEP + step if step else ""))
    pipe.hlen(UNACKED)
    try:
        lengths = pipe.execute()
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        down: dict[str, int | None] = dict.fromkeys(QUEUE_NAMES)
        return BrokerDepths("redis", down, None, f"broker unreachable ({type(exc).__name__})")
    steps = len(PRIORITY_STEPS)
    queues: dict[str, int | None] = {
        name: sum(lengths[i * steps : (i + 1) * steps]) for i, name in enumerate(QUEUE_NAMES)
    }
    return BrokerDepths("redis", queues, int(lengths[-1]))


@lru_cache(maxsize=4)
def _broker_client(url: str) -> redis.Redis:
    """One client per broker URL for the process (the store's client serves a shared Redis)."""
    return redis_client(url, timeout_s=TIMEOUT_S, retries=0)
