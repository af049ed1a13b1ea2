"""A canary secret in every configuration field never shows in the worker's, web's or CLI's output.

The store's and broker's password (in their URLs), each provider credential, the session
secret, a producer's API key and an operator's token all carry one marker; commands succeed,
fail on bad credentials and dead-letter while the worker logs at INFO; then every log is grepped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from config.web import stored_form
from redisconn.client import redis_client
from sandbox import SandboxConfig, SandboxServer
from schemas import CommandState
from store.records import read_record
from tests.integration.entrypoints import ServeProcess, run_cli
from tests.integration.harness import WorkerProcess, wait_for
from tests.redis_server import RedisServer
from web.auth import hash_secret

pytestmark = pytest.mark.integration

MARK = "c4n4ry"  # in every secret below; must appear in no log
SECRETS = {
    "redis_password": f"redis-pw-{MARK}",
    "backd_secret_key": f"sk-{MARK}",
    "shoplazza_token": f"shp-{MARK}",
    "fastpod_token": f"pod-{MARK}",
    "wrong_token": f"wrong-{MARK}",
    "session_secret": f"session-{MARK}-0123456789abcdef0123456789",
    "producer_key": f"oc_2a1b2c3d4e5f6a7b_producer-{MARK}-0123456789",
    "operator_token": f"oc_3a1b2c3d4e5f6a7b_operator-{MARK}-0123456789",
}


def stored(key: str) -> str:
    return stored_form(key, hash_secret(key))


@pytest.fixture
def canary_sandbox() -> Iterator[SandboxServer]:
    config = SandboxConfig(
        orders_per_provider=0,
        backd_keys={"pk_canary": SECRETS["backd_secret_key"]},
        shoplazza_tokens=[SECRETS["shoplazza_token"]],
        fastpod_tokens=[SECRETS["fastpod_token"]],
    )
    with SandboxServer(config) as server:
        yield server


@pytest.fixture
def locked_redis(make_redis_server: Callable[..., RedisServer]) -> str:
    """A private server that needs the canary password; its URL carries it."""
    server = make_redis_server(appendonly=True)
    client = redis_client(server.url, retries=0)
    client.config_set("requirepass", SECRETS["redis_password"])
    client.close()
    return f"redis://:{SECRETS['redis_password']}@127.0.0.1:{server.port}/0"


@pytest.fixture
def canary_env(locked_redis: str, canary_sandbox: SandboxServer) -> dict[str, str]:
    accounts = {
        "ACME": {"PROVIDER": "backd", "BASE_URL": canary_sandbox.backd_url,
                 "PUBLIC_KEY": "pk_canary", "SECRET_KEY": SECRETS["backd_secret_key"]},
        "STORE": {"PROVIDER": "shoplazza", "BASE_URL": canary_sandbox.shoplazza_url("s1"),
                  "ACCESS_TOKEN": SECRETS["shoplazza_token"]},
        "POD": {"PROVIDER": "fastpod", "BASE_URL": canary_sandbox.fastpod_url,
                "TOKEN": SECRETS["fastpod_token"]},
        "WRONG": {"PROVIDER": "fastpod", "BASE_URL": canary_sandbox.fastpod_url,
                  "TOKEN": SECRETS["wrong_token"]},
    }  # fmt: skip
    env = {
        "ORDERCMD_REDIS_URL": locked_redis,
        "ORDERCMD_BROKER_URL": locked_redis,
        "ORDERCMD_LEASE_S": "10",
        "ORDERCMD_SCHEDULER_TICK_S": "0.05",
        "ORDERCMD_WEB__SESSION_SECRET": SECRETS["session_secret"],
        "ORDERCMD_WEB__SECURE_COOKIES": "false",
        "ORDERCMD_WEB__PRODUCERS__SHOP__KEY_HASH": stored(SECRETS["producer_key"]),
        "ORDERCMD_WEB__OPERATORS__OPS__ROLE": "operator",
        "ORDERCMD_WEB__OPERATORS__OPS__TOKEN_HASH": stored(SECRETS["operator_token"]),
    }
    for account, fields in accounts.items():
        env |= {f"ORDERCMD_ACCOUNTS__{account}__{k}": v for k, v in fields.items()} | {
            f"ORDERCMD_ACCOUNTS__{account}__TIMEOUT_S": "2"
        }
    return env


def test_no_secret_reaches_any_log(canary_env, canary_sandbox, locked_redis, tmp_path: Path):
    # Given a worker logging at INFO and the web app, both on the canary configuration
    worker = WorkerProcess(canary_env, tmp_path / "worker.log", pool="threads", concurrency=2)
    worker.argv = [a for a in worker.argv if a != "--loglevel=WARNING"] + ["--loglevel=INFO"]
    serve = ServeProcess(canary_env, tmp_path / "serve.log")
    outputs: list[str] = []
    try:
        worker.start()
        serve.start()
        # When commands succeed at each provider, one fails on bad credentials (dead letter),
        # through the CLI and the HTTP intake, and an operator reads /metrics and the API
        ids = submit_all(canary_env, canary_sandbox, serve.url, outputs)
        client = redis_client(locked_redis)
        records = {
            i: wait_for(lambda i=i: finished(client, i), timeout_s=60, what=f"command {i}")
            for i in ids
        }
        auth = {"Authorization": f"Bearer {SECRETS['operator_token']}"}
        for path in ("/metrics", "/health", "/api/dead-letters"):
            outputs.append(httpx.get(serve.url + path, headers=auth, timeout=30).text)
        client.close()
    finally:
        worker.stop()
        serve.stop()
    # Then the commands ran as expected
    states = sorted(str(r.state) for r in records.values())
    assert states == ["dead", "succeeded", "succeeded", "succeeded"], states
    # And no secret appears in the worker's log, the web's log or any CLI or HTTP output
    logs = {"worker": worker.log(), "serve": serve.log(), "outputs": "\n".join(outputs)}
    assert '"command attempt"' in logs["worker"]  # the worker did log at INFO
    for name, text in logs.items():
        leaked = [field for field, secret in SECRETS.items() if secret in text]
        assert not leaked, f"{name} shows {leaked}"
        assert MARK not in text, f"{name} shows the canary mark"
    assert "HTTP Request:" not in logs["worker"]  # httpx's per-request INFO line stays off


def submit_all(env: dict[str, str], sandbox: SandboxServer, url: str, out: list[str]) -> list[str]:
    """Four commands: three that succeed (CLI, CLI, HTTP) and one with wrong credentials."""
    backd = sandbox.admin.create_order("backd", "order_confirmed")["backd_order_id"]
    shop = sandbox.admin.create_order("shoplazza", "placed")["id"]
    pods = [sandbox.admin.create_order("fastpod", "new_order")["id"] for _ in range(2)]
    ids = []
    for args in (
        ["refund", "--provider", "backd", "--account", "acme", "--order", backd, "--amount", "5"],
        ["cancel", "--provider", "fastpod", "--account", "wrong", "--order", pods[1]],
        ["cancel", "--provider", "shoplazza", "--account", "store", "--order", shop],
    ):
        ran = run_cli(env, "submit", *args, "--json")
        out.append(ran.output)
        assert ran.returncode == 0, ran.output
        ids.append(re.search(r'"command_id": "([^"]+)"', ran.output).group(1))  # type: ignore[union-attr]
    response = httpx.post(
        f"{url}/v1/commands",
        json={"kind": "cancel", "provider": "fastpod", "account": "pod", "order_id": pods[0]},
        headers={"X-API-Key": SECRETS["producer_key"]},
        timeout=30,
    )
    out.append(response.text)
    assert response.status_code == 202, response.text
    return [*ids, response.json()["command_id"]]


def finished(client, command_id: str):
    record = read_record(client, command_id)
    ok = record is not None and record.state in (CommandState.SUCCEEDED, CommandState.DEAD)
    return record if ok else None
