"""``/health``: Redis reachability and the workers whose schedulers ticked recently."""

from __future__ import annotations

import fakeredis
from starlette.testclient import TestClient

from config.settings import Settings
from store.command_store import CommandStore, StoreLimits
from web import create_app
from worker.scheduler import Scheduler


def test_health_counts_the_workers_seen_and_names_no_host():
    store = CommandStore(
        fakeredis.FakeRedis(decode_responses=True), StoreLimits(3600, 60_000, 60_000)
    )
    Scheduler(store, lambda ids: None, tick_s=1, name="w1@host").run_once()
    with TestClient(create_app(Settings(), store, lambda ids: None)) as client:
        response = client.get("/health")
    assert (response.status_code, response.json()) == (
        200,
        {"redis": "ok", "evicted_keys": None, "workers_seen": 1},
    )
    assert "host" not in response.text


def test_health_is_503_when_redis_is_down():
    server = fakeredis.FakeServer()
    server.connected = False
    store = CommandStore(
        fakeredis.FakeRedis(server=server, decode_responses=True), StoreLimits(3600, 1, 1)
    )
    with TestClient(create_app(Settings(), store, lambda ids: None)) as client:
        response = client.get("/health")
    assert response.status_code == 503
    assert response.json()["redis"].startswith("unreachable")
