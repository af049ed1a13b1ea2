"""The one wall-clock read in ordercmd, and Redis time, which leases and schedules use instead."""

from __future__ import annotations

from datetime import UTC, datetime

import redis


def utcnow() -> datetime:
    """Now, timezone-aware, in UTC."""
    return datetime.now(UTC)


def from_ms(epoch_ms: int | float) -> datetime:
    """A UTC datetime from milliseconds since the epoch (Redis ``TIME`` as our scripts use it)."""
    return datetime.fromtimestamp(epoch_ms / 1000, UTC)


def redis_now_ms(client: redis.Redis) -> int:
    """Redis ``TIME`` in whole milliseconds, the clock the Lua scripts' ``now_ms`` read."""
    seconds, micros = client.time()
    return int(seconds) * 1000 + int(micros) // 1000
