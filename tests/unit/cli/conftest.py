"""Fixtures of the CLI tests: ``ordercmd`` run in-process against a private Redis, its store."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import redis
from click.testing import Result

from store.command_store import CommandStore, StoreLimits
from tests.builders import invoke_cli

ACCOUNTS = {
    "ACME": {"PROVIDER": "backd", "PUBLIC_KEY": "pk_acme", "SECRET_KEY": "sk_live_TOPSECRET"},
    "STORE": {"PROVIDER": "shoplazza", "ACCESS_TOKEN": "shp_TOPSECRET"},
    "POD": {"PROVIDER": "fastpod", "TOKEN": "pod_TOPSECRET"},
}

Run = Callable[..., Result]


@pytest.fixture
def run(redis_url: str, use_settings: Callable[..., None]) -> Run:
    """Invoke ``ordercmd ARGS...`` in this process, with three accounts and the private Redis."""
    base_url = {"BASE_URL": "http://provider.invalid"}
    use_settings(redis_url, {name: base_url | fields for name, fields in ACCOUNTS.items()})
    return invoke_cli


@pytest.fixture
def store(redis_client: redis.Redis) -> CommandStore:
    return CommandStore(
        redis_client, StoreLimits(retention_s=3600, guard_ms=60_000, lease_ms=30_000)
    )
