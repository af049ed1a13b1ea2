"""The durations the command store needs, taken from settings once per process."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StoreLimits:
    """Durations the store needs, from settings."""

    retention_s: int
    guard_ms: int  # re-send a dispatched message not claimed within this
    lease_ms: int
    bulk_guard_ms: int | None = None  # the same for bulk commands (default: guard_ms)
    outcomes_max_len: int = 100_000  # the outcome stream is trimmed to about this many events

    @property
    def bulk_guard(self) -> int:
        """The guard of bulk commands, which wait behind long backlogs by design."""
        return self.guard_ms if self.bulk_guard_ms is None else self.bulk_guard_ms
