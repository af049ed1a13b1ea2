"""Fixtures of the store fault suites: a private Redis per test, settings on it, ``serve``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from config.web import stored_form
from redisconn.client import redis_client
from tests.integration.entrypoints import ServeProcess
from tests.integration.store_faults import BOUND_S, OPERATOR_TOKEN, PRODUCER_KEY
from tests.redis_server import RedisServer
from web.auth import hash_secret


@pytest.fixture(scope="module")
def hashes() -> dict[str, str]:
    return {
        "producer": stored_form(PRODUCER_KEY, hash_secret(PRODUCER_KEY)),
        "operator": stored_form(OPERATOR_TOKEN, hash_secret(OPERATOR_TOKEN)),
    }


@pytest.fixture
def server(make_redis_server: Callable[..., RedisServer]) -> RedisServer:
    return make_redis_server(appendonly=True)


@pytest.fixture
def admin(server: RedisServer) -> Iterator[redis.Redis]:
    client = redis_client(server.url, timeout_s=30, retries=0)
    yield client
    client.close()


@pytest.fixture
def ordercmd_env(ordercmd_env: dict[str, str], server: RedisServer, hashes) -> dict[str, str]:
    return ordercmd_env | {
        "ORDERCMD_REDIS_URL": server.url,
        "ORDERCMD_STORE_TIMEOUT_S": str(BOUND_S),
        "ORDERCMD_WEB__SECURE_COOKIES": "false",
        "ORDERCMD_WEB__PRODUCERS__SHOP__KEY_HASH": hashes["producer"],
        "ORDERCMD_WEB__OPERATORS__OPS__ROLE": "viewer",
        "ORDERCMD_WEB__OPERATORS__OPS__TOKEN_HASH": hashes["operator"],
    }


@pytest.fixture
def serve(ordercmd_env: dict[str, str], tmp_path: Path) -> Iterator[ServeProcess]:
    process = ServeProcess(ordercmd_env, tmp_path / "serve.log")
    yield process
    process.stop()
    print(f"--- serve.log ---\n{process.log()[-3000:]}")
