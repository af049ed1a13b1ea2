"""The one wall-clock read in ordercmd; leases and schedules use Redis time instead."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Now, timezone-aware, in UTC."""
    return datetime.now(UTC)


def from_ms(epoch_ms: int | float) -> datetime:
    """A UTC datetime from milliseconds since the epoch (Redis ``TIME`` as our scripts use it)."""
    return datetime.fromtimestamp(epoch_ms / 1000, UTC)
