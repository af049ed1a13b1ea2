"""Each provider's timestamp format (and Backd's America/Chicago wall clock)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

CHICAGO = ZoneInfo("America/Chicago")
BACKD_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def backd_time(at: datetime) -> str:
    """Backd's zone-less Chicago timestamp (``2026-04-16 10:30:00``)."""
    return at.astimezone(CHICAGO).strftime(BACKD_TIME_FORMAT)


def shoplazza_time(at: datetime) -> str:
    """Shoplazza's timestamp format: ``2026-04-16T10:31:00Z``."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def fastpod_time(at: datetime) -> str:
    """FastPOD's Laravel timestamp format: ``2023-12-07T07:54:35.000000Z``."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
