"""Fault suite: a Redis that is full or evicts, watched by /health, /metrics, the worker."""

from __future__ import annotations

import contextlib
import json

import httpx
import pytest
import redis

from store import keys
from tests.integration.harness import wait_for
from tests.integration.store_faults import (
    OPERATOR_TOKEN,
    assert_store_unavailable,
    post_command,
    submit_cli,
)

pytestmark = pytest.mark.integration


def test_health_is_degraded_when_the_store_refuses_writes(serve, admin):
    # Given a store at its memory limit with noeviction (it answers OOM to writes)
    serve.start()
    assert httpx.get(f"{serve.url}/health", timeout=30).status_code == 200
    assert post_command(serve.url, "evt-warm-up")[0].status_code == 202  # the key is verified
    fill_until_full(admin)
    # When /health is asked, Then it is 503 naming the refused write
    response = httpx.get(f"{serve.url}/health", timeout=30)
    assert response.status_code == 503, response.text
    assert response.json()["redis"].startswith("refuses writes: OutOfMemoryError")
    # And a submission is refused as may-have-been-admitted
    posted, _ = post_command(serve.url, "evt-oom")
    assert_store_unavailable(posted, may_have_been_admitted=True)


def fill_until_full(client: redis.Redis) -> None:
    """Write 2 MB, then set maxmemory below what is used.

    noeviction then refuses writes (OOM); an evicting policy evicts at the next write.
    """
    for n in range(200):
        client.set(f"filler:{n}", "x" * 10_000)
    used = int(client.info("memory")["used_memory"])
    client.config_set("maxmemory", str(used - 1_000_000))
    with contextlib.suppress(redis.ResponseError):  # noeviction: OOM
        client.set("filler:last", "x")


def test_evictions_show_in_health_metrics_and_the_worker_log(
    ordercmd_env, serve, admin, start_worker, tmp_path
):
    # Given an evicting store allowed by the setting, a worker and the web app on it
    admin.config_set("maxmemory-policy", "allkeys-lru")
    serve.env["ORDERCMD_ALLOW_EVICTING_REDIS"] = "true"
    serve.start()
    ordercmd_env["ORDERCMD_ALLOW_EVICTING_REDIS"] = "true"
    worker = start_worker(pool="threads", concurrency=1)
    wait_for(lambda: admin.zcard(keys.workers_seen()), timeout_s=30, what="the worker to tick")
    # When the store runs out of memory and evicts keys
    fill_until_full(admin)
    assert int(admin.info("stats")["evicted_keys"]) > 0
    # Then /health is degraded, /metrics counts them, and the worker logs an ERROR
    health = httpx.get(f"{serve.url}/health", timeout=30)
    assert health.status_code == 503
    assert health.json()["redis"].startswith("evicting: ")
    metrics = httpx.get(
        f"{serve.url}/metrics", headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"}, timeout=30
    )
    assert metrics.status_code == 200
    [line] = [s for s in metrics.text.splitlines() if s.startswith("ordercmd_redis_evicted_keys")]
    assert float(line.split()[-1]) > 0
    wait_for(lambda: '"Redis evicted keys' in worker.log(), timeout_s=30, what="the ERROR log")
    logged = [s for s in worker.log().splitlines() if '"Redis evicted keys' in s]
    assert json.loads(logged[0])["level"] == "error"


def test_a_command_missing_from_the_store_is_an_error_and_counted(
    ordercmd_env, serve, admin, start_worker
):
    # Given a command admitted, then lost from the store before a worker took it (as evicted)
    ran = submit_cli(ordercmd_env)
    assert ran.returncode == 0, ran.output
    command_id = ran.output.split()[1]
    assert admin.delete(keys.command(command_id)) == 1
    # When a worker receives its message
    worker = start_worker(pool="threads", concurrency=1)
    # Then it logs an ERROR naming the command, and /metrics counts the missing delivery
    wait_for(lambda: "command missing from the store" in worker.log(), timeout_s=30, what="ERROR")
    logged = [s for s in worker.log().splitlines() if "command missing from the store" in s]
    assert {(json.loads(s)["level"], json.loads(s)["command_id"]) for s in logged} == {
        ("error", command_id)
    }
    serve.start()
    metrics = httpx.get(
        f"{serve.url}/metrics", headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"}, timeout=30
    )
    # (one delivery, or two when the dispatch guard re-sent it before the worker was up)
    [line] = [s for s in metrics.text.splitlines() if s.startswith("ordercmd_deliveries_missing")]
    assert float(line.split()[-1]) in (1.0, 2.0)
