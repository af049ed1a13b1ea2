"""The leaky bucket behind Shoplazza's per-store rate limit."""

from __future__ import annotations

import math


class LeakyBucket:
    """Each request adds one drop; drops leak at ``leak_per_s``; a full bucket refuses."""

    def __init__(self, size: int, leak_per_s: float, now: float) -> None:
        self.size = size
        self.leak_per_s = leak_per_s
        self.level = 0.0
        self._updated_at = now

    def _drain(self, now: float) -> None:
        elapsed_s = max(0.0, now - self._updated_at)
        self.level = max(0.0, self.level - elapsed_s * self.leak_per_s)
        self._updated_at = now

    def admit(self, now: float) -> float | None:
        """Add one request at ``now``.

        Args:
            now: current time in seconds.

        Returns:
            None when the request fits, else the seconds until it would fit.
        """
        self._drain(now)
        if self.level + 1 > self.size:
            return (self.level + 1 - self.size) / self.leak_per_s
        self.level += 1
        return None

    def header(self) -> str:
        """Value of the ``X-Shoplazza-Shop-Api-Call-Limit`` header (``used/size``)."""
        return f"{math.ceil(self.level)}/{self.size}"
