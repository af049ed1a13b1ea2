"""The test Redis fixtures (a private, flushed server; restarts keep AOF data) and config checks."""

from __future__ import annotations

import os
from contextlib import closing
from urllib.parse import urlsplit

import pytest
import redis

from redisconn.client import check_redis_config, redis_client

pytestmark = pytest.mark.integration


def test_session_server_is_private(redis_client, tmp_path_factory):
    if os.environ.get("TEST_REDIS_URL"):
        pytest.skip("TEST_REDIS_URL names a shared server by choice")

    info = redis_client.info("server")

    assert info["tcp_port"] != 6379
    assert redis_client.config_get("dir")["dir"].startswith(str(tmp_path_factory.getbasetemp()))


@pytest.mark.parametrize("run", ["first", "second"])
def test_each_test_starts_with_an_empty_db(redis_client, run):
    assert redis_client.dbsize() == 0  # whichever runs second sees the other's key flushed

    redis_client.set(f"ordercmd:test:{run}", run)


def test_client_decodes_and_speaks_resp2(redis_client):
    redis_client.set("ordercmd:test", "é")

    kwargs = redis_client.connection_pool.connection_kwargs
    assert redis_client.get("ordercmd:test") == "é"
    assert (kwargs["protocol"], kwargs["health_check_interval"]) == (2, 30)
    assert kwargs["socket_keepalive"] is True


def test_restart_keeps_aof_data(make_redis_server):
    server = make_redis_server(appendonly=True)
    with closing(redis_client(server.url)) as client:
        client.set("ordercmd:test", "kept")
    url = server.url

    server.restart()

    assert server.url == url
    with closing(redis_client(server.url)) as client:
        assert client.get("ordercmd:test") == "kept"


def test_restart_without_aof_loses_data(make_redis_server):
    server = make_redis_server(appendonly=False)
    with closing(redis_client(server.url)) as client:
        client.set("ordercmd:test", "lost")

    server.restart()

    with closing(redis_client(server.url)) as client:
        assert client.get("ordercmd:test") is None


def test_killed_server_is_gone(make_redis_server):
    server = make_redis_server()
    port = urlsplit(server.url).port

    server.kill()

    client = redis_client(f"redis://127.0.0.1:{port}/0", retries=0)
    with closing(client), pytest.raises(redis.ConnectionError):
        client.ping()


def test_check_redis_config_warns_about_eviction_and_no_persistence(make_redis_server):
    server = make_redis_server(appendonly=False)
    with closing(redis_client(server.url)) as client:
        client.config_set("maxmemory-policy", "allkeys-lru")

        warnings = check_redis_config(client)

    assert len(warnings) == 2
    assert "maxmemory-policy is 'allkeys-lru'" in warnings[0]
    assert "persistence is off" in warnings[1]


@pytest.mark.parametrize(
    ("denied", "expected"),
    [
        ("-config", ["maxmemory-policy is 'allkeys-lru'", "AOF is off"]),
        ("-config -info", ["could not read the Redis configuration"]),
    ],
)
def test_check_redis_config_without_config_permission(make_redis_server, denied, expected):
    server = make_redis_server(appendonly=False)
    with closing(redis_client(server.url)) as admin:
        admin.config_set("maxmemory-policy", "allkeys-lru")
        admin.acl_setuser("app", enabled=True, passwords=["+pw"], keys=["*"], commands=["+@all"])
        admin.execute_command("ACL", "SETUSER", "app", *denied.split())
    url = server.url.replace("redis://", "redis://app:pw@")

    with closing(redis_client(url)) as client:
        warnings = check_redis_config(client)

    assert len(warnings) == len(expected)
    for warning, fragment in zip(warnings, expected, strict=True):
        assert fragment in warning
