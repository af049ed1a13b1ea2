"""What the store fault suites share: their settings, a producer's submission, the checks."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import redis

from store import keys
from tests.integration.entrypoints import Ran, run_cli

BOUND_S = 4.0  # ORDERCMD_STORE_TIMEOUT_S in these tests: every answer must come within it
SLACK_S = 2.0  # HTTP, uvicorn and the thread pool on a loaded 2-core machine
PRODUCER_KEY = "oc_0a1b2c3d4e5f6a7b_store-faults-producer-key"
OPERATOR_TOKEN = "oc_1a1b2c3d4e5f6a7b_store-faults-operator-token"
EVICTION_FIX = ("CONFIG SET maxmemory-policy noeviction", "ORDERCMD_ALLOW_EVICTING_REDIS=true")
COMMAND = {"kind": "cancel", "provider": "fastpod", "account": "pod", "order_id": "o-1"}


def post_command(url: str, key: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = httpx.post(
        f"{url}/v1/commands",
        json={**COMMAND, "idempotency_key": key},
        headers={"X-API-Key": PRODUCER_KEY},
        timeout=60,
    )
    return response, time.monotonic() - started


def assert_store_unavailable(response: httpx.Response, *, may_have_been_admitted: bool) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/json"
    assert int(response.headers["retry-after"]) >= 1
    body = response.json()
    assert body["may_have_been_admitted"] is may_have_been_admitted
    [error] = body["errors"]
    assert error["field"] == "store"
    if may_have_been_admitted:
        assert "may have been admitted: retry with the same idempotency key" in error["reason"]
    else:
        assert "not admitted" in error["reason"]


def ordercmd_keys(client: redis.Redis) -> list[str]:
    return list(client.scan_iter(f"{keys.PREFIX}:*"))


def submit_cli(env: dict[str, str], order_id: str = "o-1") -> Ran:
    return run_cli(
        env, "submit", "cancel", "--provider", "fastpod", "--account", "pod", "--order", order_id
    )


def bulk_file(tmp_path: Path) -> str:
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps({**COMMAND, "order_id": "b-1"}) + "\n")
    return str(path)
