"""Fault suite: a Redis that evicts, is killed, is paused or is full, seen from every entry point.

Each test has its own redis-server (so it can be killed or paused) and runs ordercmd's real
processes: ``ordercmd serve`` over HTTP, ``ordercmd submit`` / ``bulk`` / ``worker``, the
Python API in a fresh interpreter.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import redis

from config.web import stored_form
from redisconn.client import redis_client
from store import keys
from tests.integration.entrypoints import Ran, ServeProcess, run_argv, run_cli, run_python
from tests.integration.harness import wait_for
from tests.redis_server import RedisServer
from web.auth import hash_secret

pytestmark = pytest.mark.integration

BOUND_S = 3.0  # ORDERCMD_STORE_TIMEOUT_S in these tests: every answer must come within it
SLACK_S = 2.0  # HTTP, uvicorn and the thread pool on a loaded 2-core machine
PRODUCER_KEY = "oc_0a1b2c3d4e5f6a7b_store-faults-producer-key"
OPERATOR_TOKEN = "oc_1a1b2c3d4e5f6a7b_store-faults-operator-token"
EVICTION_FIX = ("CONFIG SET maxmemory-policy noeviction", "ORDERCMD_ALLOW_EVICTING_REDIS=true")
COMMAND = {"kind": "cancel", "provider": "fastpod", "account": "pod", "order_id": "o-1"}


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


ENTRY_POINTS: dict[str, Callable[[dict[str, str], Path], Ran]] = {
    "worker": lambda env, tmp: run_cli(env, "worker", "--pool=solo"),
    "celery-worker": lambda env, tmp: run_argv(
        env, [sys.executable, "-m", "celery", "-A", "worker.app", "worker", "--pool=solo"]
    ),
    "serve": lambda env, tmp: run_cli(env, "serve", "--port", "0"),
    "submit": lambda env, tmp: submit_cli(env),
    "bulk": lambda env, tmp: run_cli(env, "bulk", bulk_file(tmp)),
    "intake-stream": lambda env, tmp: run_cli(env, "intake", "stream"),
    "python-api": lambda env, tmp: run_python(env, "import producer; producer.submit("
                                              f"{COMMAND!r})"),
}  # fmt: skip


@pytest.mark.parametrize("entry_point", sorted(ENTRY_POINTS))
def test_an_evicting_redis_is_refused_by_every_entry_point(
    entry_point, ordercmd_env, admin, tmp_path
):
    # Given a store that evicts keys under memory pressure
    admin.config_set("maxmemory-policy", "allkeys-lru")
    # When an entry point starts on it
    ran = ENTRY_POINTS[entry_point](ordercmd_env, tmp_path)
    # Then it refuses, naming the policy and both fixes, and wrote nothing
    assert ran.returncode != 0, ran.output
    assert "maxmemory-policy is 'allkeys-lru'" in ran.output
    for fix in EVICTION_FIX:
        assert fix in ran.output
    assert ordercmd_keys(admin) == []


def test_an_evicting_redis_allowed_by_the_setting_is_used_with_a_warning(ordercmd_env, admin):
    admin.config_set("maxmemory-policy", "volatile-lru")
    ran = submit_cli(ordercmd_env | {"ORDERCMD_ALLOW_EVICTING_REDIS": "true"})
    assert ran.returncode == 0, ran.output
    assert "warning: Redis maxmemory-policy is 'volatile-lru'" in ran.output
    assert "admitted" in ran.output


def test_the_intake_answers_503_at_once_when_the_store_is_killed(serve, server):
    # Given the web app serving, and its store killed
    serve.start()
    server.kill()
    # When a producer submits a command
    response, took_s = post_command(serve.url, "evt-killed")
    # Then the answer is 503 JSON with Retry-After, saying nothing was admitted, within the bound
    print(f"intake answer with the store killed: {took_s:.2f} s")
    assert_store_unavailable(response, may_have_been_admitted=False)
    assert took_s < BOUND_S + SLACK_S


def test_the_intake_answers_503_in_bound_when_the_store_is_frozen(serve, server, admin):
    # Given the web app serving, and its store paused for every command (a frozen server)
    serve.start()
    admin.execute_command("CLIENT", "PAUSE", "8000", "ALL")  # UNPAUSE waits it out
    try:
        # When a producer submits a command
        response, took_s = post_command(serve.url, "evt-frozen")
    finally:
        admin.execute_command("CLIENT", "UNPAUSE")
    # Then it is a 503 within the bound; nothing reached the store, so nothing was admitted
    print(f"intake answer with the store paused (ALL): {took_s:.2f} s")
    assert_store_unavailable(response, may_have_been_admitted=False)
    assert took_s < BOUND_S + SLACK_S


def test_a_503_that_may_have_admitted_says_so_and_a_retry_with_the_key_makes_no_duplicate(
    serve, server, admin
):
    # Given the web app serving (the producer's key already verified: no store call for it),
    # and its store refusing writes for a while (reads still answer)
    serve.start()
    warm_up, _ = post_command(serve.url, "evt-warm-up")
    assert warm_up.status_code == 202, warm_up.text
    admin.execute_command("CLIENT", "PAUSE", "20000", "WRITE")
    try:
        response, took_s = post_command(serve.url, "evt-maybe")
    finally:
        admin.execute_command("CLIENT", "UNPAUSE")
    # Then the 503 says the command may have been admitted, within the bound
    print(f"intake answer with the store paused (WRITE): {took_s:.2f} s")
    assert_store_unavailable(response, may_have_been_admitted=True)
    assert took_s < BOUND_S + SLACK_S
    # And a retry with the same key, once the store is back, makes exactly one command
    retried, _ = post_command(serve.url, "evt-maybe")
    assert retried.status_code in (200, 202), retried.text
    again, _ = post_command(serve.url, "evt-maybe")
    assert (again.status_code, again.json()["command_id"]) == (200, retried.json()["command_id"])
    assert admin.get(keys.idempotency("evt-maybe")).split()[0] == retried.json()["command_id"]
    records = {k for k in admin.keys(keys.command("*")) if k.count(":") == 2}
    assert records == {keys.command(r.json()["command_id"]) for r in (warm_up, retried)}


def test_the_cli_gives_a_typed_error_in_bound_when_the_store_is_paused(ordercmd_env, admin):
    baseline = submit_cli(ordercmd_env, "o-baseline")
    assert baseline.returncode == 0, baseline.output
    admin.execute_command("CLIENT", "PAUSE", "30000", "WRITE")
    try:
        ran = submit_cli(ordercmd_env, "o-paused")
    finally:
        admin.execute_command("CLIENT", "UNPAUSE")
    print(f"ordercmd submit: {baseline.took_s:.2f} s normally, {ran.took_s:.2f} s paused")
    assert ran.returncode == 1, ran.output
    assert "may have been admitted: retry with the same idempotency key" in ran.output
    assert ran.took_s < baseline.took_s + BOUND_S + SLACK_S


def test_bulk_says_what_became_of_the_rows_in_bound_when_the_store_is_paused(
    ordercmd_env, admin, tmp_path
):
    admin.execute_command("CLIENT", "PAUSE", "30000", "WRITE")
    try:
        ran = run_cli(ordercmd_env, "bulk", bulk_file(tmp_path))
    finally:
        admin.execute_command("CLIENT", "UNPAUSE")
    print(f"ordercmd bulk with the store paused: {ran.took_s:.2f} s")
    assert ran.returncode == 1, ran.output
    assert "the command store failed while admitting the batch (TimeoutError" in ran.output
    assert "Run the same file again" in ran.output
    assert ran.took_s < BOUND_S + 6  # the bound, plus starting Python and Celery's imports
    again = run_cli(ordercmd_env, "bulk", bulk_file(tmp_path))
    assert again.returncode == 0, again.output
    assert len([k for k in admin.keys(keys.command("*")) if k.count(":") == 2]) == 1


def test_the_cli_says_nothing_was_sent_when_the_store_is_killed(ordercmd_env, server):
    server.kill()
    ran = submit_cli(ordercmd_env)
    assert ran.returncode == 1, ran.output
    assert "did not answer within 3 s" in ran.output
    assert "nothing admitted" in ran.output
    assert "Traceback" not in ran.output


def test_the_python_api_raises_store_unavailable_in_bound_when_the_store_is_paused(
    ordercmd_env, admin
):
    code = (
        "import time, producer\n"
        "from providers.errors import StoreUnavailable\n"
        "p = producer.default_producer()\n"
        "started = time.monotonic()\n"
        "try:\n"
        f"    p.submit({COMMAND!r}, idempotency_key='api-1')\n"
        "except StoreUnavailable as exc:\n"
        "    print('took', round(time.monotonic() - started, 2), exc.may_have_been_admitted, exc)\n"
        "    raise SystemExit(3)\n"
    )
    admin.execute_command("CLIENT", "PAUSE", "30000", "WRITE")
    try:
        ran = run_python(ordercmd_env, code)
    finally:
        admin.execute_command("CLIENT", "UNPAUSE")
    assert ran.returncode == 3, ran.output
    took_s = float(ran.output.split()[1])
    print(f"Python API with the store paused: StoreUnavailable after {took_s:.2f} s")
    assert took_s < BOUND_S + SLACK_S
    assert " True the command store did not answer within 3 s" in ran.output
    assert "may have been admitted: retry with the same idempotency key" in ran.output


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
