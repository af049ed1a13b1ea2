"""The quarantine of refused broker messages: bounded in count, age and bytes, counted by reason."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import redis

from schemas.quarantine import QuarantinedMessage, QuarantineReason
from store import keys


@dataclass(frozen=True)
class QuarantineLimits:
    """How much of the refused traffic the store keeps.

    Attributes:
        max_count: entries kept; the oldest go first.
        max_age_s: entries older than this are dropped at the next add.
        max_raw_bytes: bytes of each message kept; the rest is cut (``raw_truncated``).
    """

    max_count: int = 1000
    max_age_s: int = 7 * 24 * 3600
    max_raw_bytes: int = 4096


class Quarantine:
    """Refused broker messages in Redis: a sorted set by arrival time and a counter per reason."""

    def __init__(self, client: redis.Redis, limits: QuarantineLimits | None = None) -> None:
        self.client = client
        self.limits = limits or QuarantineLimits()

    def add(self, entry: QuarantinedMessage) -> None:
        """Keep ``entry`` (its raw bytes cut to the limit), count it and trim the set; one MULTI."""
        if len(entry.raw) > self.limits.max_raw_bytes:
            entry = entry.model_copy(
                update={"raw": entry.raw[: self.limits.max_raw_bytes], "raw_truncated": True}
            )
        at_ms = int(entry.received_at.timestamp() * 1000)
        pipe = self.client.pipeline(transaction=True)
        pipe.zadd(keys.quarantine(), {entry.model_dump_json(): at_ms})
        pipe.zremrangebyscore(keys.quarantine(), "-inf", at_ms - self.limits.max_age_s * 1000)
        pipe.zremrangebyrank(keys.quarantine(), 0, -self.limits.max_count - 1)
        pipe.expire(keys.quarantine(), self.limits.max_age_s)
        pipe.hincrby(keys.quarantine_counts(), entry.reason.value, 1)
        pipe.execute()

    def count(self) -> int:
        """How many entries the quarantine holds now."""
        return int(self.client.zcard(keys.quarantine()))

    def page(self, *, offset: int = 0, limit: int = 50) -> list[QuarantinedMessage]:
        """Entries, newest first."""
        if limit <= 0:
            return []
        rows = self.client.zrevrange(keys.quarantine(), offset, offset + limit - 1)
        return [QuarantinedMessage.model_validate_json(cast(str, row)) for row in rows]

    def totals(self) -> dict[QuarantineReason, int]:
        """All-time count of quarantined messages per reason (kept when entries are trimmed)."""
        counts = self.client.hgetall(keys.quarantine_counts())
        known = {reason.value: reason for reason in QuarantineReason}
        return {
            known[str(name)]: int(value) for name, value in counts.items() if str(name) in known
        }
