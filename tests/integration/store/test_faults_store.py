"""Fault suite: a Redis that evicts, is killed or is paused, seen from every entry point.

Each test has its own redis-server (so it can be killed or paused) and runs ordercmd's real
processes: ``ordercmd serve`` over HTTP, ``ordercmd submit`` / ``bulk`` / ``worker``, the
Python API in a fresh interpreter.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from store import keys
from tests.integration.entrypoints import Ran, run_argv, run_cli, run_python
from tests.integration.store_faults import (
    BOUND_S,
    COMMAND,
    EVICTION_FIX,
    SLACK_S,
    assert_store_unavailable,
    bulk_file,
    ordercmd_keys,
    post_command,
    submit_cli,
)

pytestmark = pytest.mark.integration


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
    assert "did not answer within 4 s" in ran.output
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
    assert " True the command store did not answer within 4 s" in ran.output
    assert "may have been admitted: retry with the same idempotency key" in ran.output
