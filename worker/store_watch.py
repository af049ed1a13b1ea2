"""Loud reports of a store that lost data: evictions seen by the scheduler, missing commands."""

from __future__ import annotations

import redis
import structlog

from redisconn.client import evicted_keys
from store import keys

log = structlog.get_logger("ordercmd.store")

MISSING_COUNTER = "missing"  # field of the {ordercmd}:stats hash (ordercmd_deliveries_missing)


def report_missing(client: redis.Redis, command_id: str) -> None:
    """A message arrived for a command the store does not hold: an ERROR and a counter.

    The usual cause is an evicting Redis (``maxmemory-policy`` other than ``noeviction``);
    a message older than the key retention is the other.
    """
    log.error(
        "command missing from the store: it was evicted or expired, and will not run",
        command_id=command_id,
        evicted_keys=_evicted_or_none(client),
    )
    try:
        client.hincrby(keys.stats(), MISSING_COUNTER, 1)
    except redis.RedisError as exc:
        log.warning("missing command not counted", command_id=command_id, error=repr(exc))


class EvictionWatch:
    """Called on each scheduler tick: an ERROR whenever the server's ``evicted_keys`` grows."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.seen = 0  # a server that evicted before this worker started is reported at once

    def __call__(self) -> int:
        """Check once.

        Returns:
            Keys evicted since the last check (0 when none, or when INFO is refused).
        """
        count = evicted_keys(self.client)
        if count is None:
            return 0
        grown, self.seen = count - self.seen, count
        if grown > 0:
            log.error(
                "Redis evicted keys: admitted commands may be lost; set maxmemory-policy "
                "noeviction (then CONFIG RESETSTAT)",
                evicted_keys=count,
                new=grown,
            )
        return max(0, grown)


def _evicted_or_none(client: redis.Redis) -> int | None:
    try:
        return evicted_keys(client)
    except redis.RedisError:
        return None
