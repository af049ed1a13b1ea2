"""Shoplazza's and FastPOD's timestamp formats (Backd's, a dialect, are in ``sandbox.dialects``)."""

from __future__ import annotations

from datetime import UTC, datetime


def shoplazza_time(at: datetime) -> str:
    """Shoplazza's timestamp format: ``2026-04-16T10:31:00Z``."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def fastpod_time(at: datetime) -> str:
    """FastPOD's Laravel timestamp format: ``2023-12-07T07:54:35.000000Z``."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
