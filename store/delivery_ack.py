"""A broker delivery acked by the script that records its command's outcome.

kombu emulates acks on Redis: a delivered message waits as a field of a hash (and a member of
a sorted set indexing it by time) until the worker acks it, which removes both. When the broker
is the store's own Redis, the script that records the outcome can remove them too, in the same
atomic write: no crash can then separate "outcome recorded" from "message acked".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DeliveryAck:
    """Where a delivery waits unacked: a field of ``hash_key`` and a member of ``index_key``."""

    hash_key: str
    index_key: str
    tag: str
