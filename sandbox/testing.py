"""Test helpers: a settable clock and each provider's default request headers."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from sandbox.config import (
    DEFAULT_BACKD_PUBLIC_KEY,
    DEFAULT_BACKD_SECRET_KEY,
    DEFAULT_FASTPOD_TOKEN,
    DEFAULT_SHOPLAZZA_TOKEN,
)

# Thursday 2026-04-16 10:00 in Chicago (15:00 UTC): a Backd refund made now locks at 17:00.
THURSDAY_MORNING = datetime(2026, 4, 16, 15, 0, tzinfo=UTC)


class FakeClock:
    """A clock for ``SandboxState(clock=...)`` that only moves when told to."""

    def __init__(self, start: datetime = THURSDAY_MORNING) -> None:
        self.now_s = start.timestamp()

    def __call__(self) -> float:
        """The current fake time in epoch seconds."""
        return self.now_s

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now_s += seconds


def backd_headers(
    public_key: str = DEFAULT_BACKD_PUBLIC_KEY, secret_key: str = DEFAULT_BACKD_SECRET_KEY
) -> dict[str, str]:
    """HTTP Basic ``Authorization`` header for a Backd key pair."""
    token = base64.b64encode(f"{public_key}:{secret_key}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def shoplazza_headers(token: str = DEFAULT_SHOPLAZZA_TOKEN) -> dict[str, str]:
    """Shoplazza ``Access-Token`` header."""
    return {"Access-Token": token}


def fastpod_headers(token: str = DEFAULT_FASTPOD_TOKEN) -> dict[str, str]:
    """FastPOD bearer token plus the required ``Accept: application/json``."""
    return {"Authorization": f"Bearer {token}", "Accept": "application/json"}
