"""Acks a Redis broker delivery in the script that records its outcome: one round trip fewer.

kombu emulates acks on Redis: a delivered message waits in the ``unacked`` hash and its index
until the worker acks it, a round trip of its own after the task returns. When the broker is
the store's Redis and the process that received the message runs its task (a threads or solo
pool), the consumer stamps the task's request with the delivery tag (`DELIVERY_TAG_HEADER`),
``finish`` removes both entries in the same atomic write as the outcome
(`store.delivery_ack.DeliveryAck`), and the channel's ack of that delivery then skips its round
trip. A prefork child (another process), another broker, a retry or a parked delivery: the
channel acks as before.
"""

from __future__ import annotations

import os

from store.delivery_ack import DeliveryAck

# stamped on every task message by the consumer (worker.broker_consumer), replacing any value
# the message carried: Celery copies headers into the task's request
DELIVERY_TAG_HEADER = "ordercmd_delivery_tag"


class FoldedAcks:
    """This process's consuming channel's unacked keys, and the deliveries acked with outcomes."""

    def __init__(self) -> None:
        self._keys: tuple[str, str] | None = None
        self._pid = 0
        self._acked: set[str] = set()

    def consume_on(self, hash_key: str, index_key: str) -> None:
        """The consuming channel of this process keeps its unacked deliveries in these keys."""
        self._keys, self._pid = (hash_key, index_key), os.getpid()

    def ack_for(self, tag: object) -> DeliveryAck | None:
        """How ``finish`` acks delivery ``tag``; None unless this process's channel received it."""
        if not isinstance(tag, str) or not tag or self._keys is None or self._pid != os.getpid():
            return None
        return DeliveryAck(*self._keys, tag)

    def acked(self, tag: str) -> None:
        """Delivery ``tag`` was acked with its command's outcome."""
        self._acked.add(tag)

    def take(self, tag: object) -> bool:
        """Whether ``tag`` was acked with its outcome; forgotten after (a delivery acks once)."""
        try:
            self._acked.remove(tag)  # type: ignore[arg-type]
        except (KeyError, TypeError):
            return False
        return True


FOLDED_ACKS = FoldedAcks()
