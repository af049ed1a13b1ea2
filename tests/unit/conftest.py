"""Fixtures most unit tests share: a command store on fakeredis, and the messages it sent."""

from __future__ import annotations

import fakeredis
import pytest

from store.command_store import CommandStore, StoreLimits


@pytest.fixture
def store() -> CommandStore:
    """A command store on a fresh fakeredis: 1 h retention, 60 s dispatch guard, 30 s lease."""
    client = fakeredis.FakeRedis(decode_responses=True)
    return CommandStore(client, StoreLimits(retention_s=3600, guard_ms=60_000, lease_ms=30_000))


@pytest.fixture
def published() -> list[str]:
    """The command ids a test's publisher was asked to send (pass ``published.extend``)."""
    return []
