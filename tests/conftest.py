"""Fixtures for every test: a clean ``ORDERCMD_*`` environment and a private Redis per session."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis

from config.settings import get_settings
from providers.errors import ConfigError
from redisconn import client as clients
from store.tally import flush_all
from tests.redis_server import RedisServer


@pytest.fixture(autouse=True)
def _clean_ordercmd_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's ``ORDERCMD_*`` settings never leak into a test."""
    for name in list(os.environ):
        if name.startswith("ORDERCMD_"):
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def _counts_stay_in_their_test() -> Iterator[None]:
    """The outcome counts a test made reach its Redis before the next test flushes it.

    The process's flushing thread would otherwise add them up to a second later, into the next
    test's store (``store/tally.py``).
    """
    yield
    flush_all()


@pytest.fixture
def use_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Factory: make a Redis URL and accounts this process's settings, as ``ORDERCMD_*`` would.

    Call it as ``use_settings(redis_url, {"acme": {"provider": "backd", ...}})``; the cached
    settings are rebuilt now and again after the test.
    """

    def use(redis_url: str, accounts: Mapping[str, Mapping[str, object]] | None = None) -> None:
        monkeypatch.setenv("ORDERCMD_REDIS_URL", redis_url)
        for name, fields in (accounts or {}).items():
            for field, value in fields.items():
                variable = f"ORDERCMD_ACCOUNTS__{name.upper()}__{field.upper()}"
                monkeypatch.setenv(variable, str(value))
        get_settings.cache_clear()

    yield use
    get_settings.cache_clear()


def redis_unavailable(reason: str) -> NoReturn:
    """Skip the test, or fail it when ``CI`` is set: CI must always have a Redis."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this fails instead of skipping)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of this session's Redis: ``TEST_REDIS_URL``, else a private server.

    Under pytest-xdist each worker gets its own private server, or with ``TEST_REDIS_URL``
    its own DB index (the URL's DB plus the worker number).
    """
    shared = os.environ.get("TEST_REDIS_URL")
    if shared:
        url = _worker_db(shared)
        client = clients.redis_client(url, retries=0)
        try:
            client.ping()
        except redis.RedisError as exc:
            redis_unavailable(f"TEST_REDIS_URL={clients.redact_url(url)} does not answer: {exc}")
        finally:
            client.close()
        yield url
        return
    try:
        server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    except (ConfigError, RuntimeError) as exc:
        redis_unavailable(f"no Redis for tests (set TEST_REDIS_URL, or install one): {exc}")
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server: str) -> str:
    """The session's Redis URL, its DB flushed before this test."""
    client = clients.redis_client(redis_server)
    try:
        client.flushdb()
    finally:
        client.close()
    return redis_server


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    """A client (``redisconn.client.redis_client``) of the flushed test DB."""
    client = clients.redis_client(redis_url)
    yield client
    client.close()


@pytest.fixture
def make_redis_server(tmp_path: Path) -> Iterator[Callable[..., RedisServer]]:
    """Factory of private servers for this test alone (restart, kill); all stopped after it."""
    servers: list[RedisServer] = []

    def make(*, appendonly: bool = True, binary: Path | None = None) -> RedisServer:
        directory = tmp_path / f"redis-{len(servers)}"
        try:
            server = RedisServer(directory, appendonly=appendonly, binary=binary).start()
        except (ConfigError, RuntimeError) as exc:
            redis_unavailable(f"no Redis for tests (set TEST_REDIS_URL, or install one): {exc}")
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


def _worker_db(url: str) -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    offset = int(worker.removeprefix("gw")) if worker.removeprefix("gw").isdigit() else 0
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        return url  # unix socket URLs name the DB in the query string; leave them as given
    db = int(parts.path.strip("/") or 0) + offset
    return urlunsplit(parts._replace(path=f"/{db}"))
