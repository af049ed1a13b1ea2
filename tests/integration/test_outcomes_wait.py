"""Waiting for a result with a real worker and the sandbox: the API, the shell and HTTP.

``Submission.wait``, ``ordercmd submit ... --wait`` and ``GET /v1/commands/{id}?wait=`` answer
when the worker ends the command, woken by the outcome stream; each outcome is one event.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from celery import Celery
from click.testing import CliRunner

from cli.main import cli
from config.settings import Settings
from store.command_store import CommandStore
from store.outcomes import OutcomeEvent, Outcomes
from tests.integration.harness import wait_for
from tests.integration.test_cli_flow import UNKNOWN_SHOPLAZZA_ORDER, ordercmd
from web import create_app
from worker.app import publisher

pytestmark = pytest.mark.integration

KEY = "oc_0a1b2c3d4e5f6072_integration-wait-0123456789"


def cancel(order_id: str) -> dict[str, str]:
    return {"kind": "cancel", "provider": "shoplazza", "account": "store", "order_id": order_id}


def test_submission_wait_returns_the_final_record_with_one_event(
    producer, store, sandbox, start_worker
):
    # Given a worker, a placed Shoplazza order and an order the provider does not know
    start_worker(pool="threads", concurrency=2)
    order = str(sandbox.admin.create_order("shoplazza", "placed")["id"])
    # When both are cancelled and the producer waits for each
    started = time.monotonic()
    done = producer.submit(cancel(order)).wait(30)
    dead = producer.submit(cancel(UNKNOWN_SHOPLAZZA_ORDER)).wait(30)
    # Then each wait answers with the record as it ended, well before the timeout
    assert done is not None
    assert dead is not None
    assert (done.state, dead.state, dead.dead_reason) == ("succeeded", "dead", "not_found")
    assert time.monotonic() - started < 15
    # and the stream holds exactly one event for each, the final one
    outcomes = Outcomes(store.client)
    assert [e.event for e in outcomes.of_command(done.id)] == [OutcomeEvent.SUCCEEDED]
    assert [(e.event, e.reason) for e in outcomes.of_command(dead.id)] == [
        (OutcomeEvent.DEAD, "not_found")
    ]
    assert sandbox.admin.order("shoplazza", order)["status"] == "cancelled"


def test_submit_wait_from_the_shell_exits_by_outcome(ordercmd_env, sandbox, start_worker):
    # Given a worker and a placed order
    start_worker(pool="threads")
    order = str(sandbox.admin.create_order("shoplazza", "placed")["id"])
    base = ("submit", "cancel", "--provider", "shoplazza", "--account", "store", "--order")
    # When the shell submits and waits, for it and for an unknown order
    ok = ordercmd(ordercmd_env, *base, order, "--wait", "30")
    dead = ordercmd(ordercmd_env, *base, UNKNOWN_SHOPLAZZA_ORDER, "--wait", "30", "--json")
    # Then the exit code says how each ended, and the output the final state
    assert (ok.returncode, ok.stdout.split()[0]) == (0, "succeeded"), ok.stderr
    assert dead.returncode == 3, dead.stderr
    answer = json.loads(dead.stdout)
    assert (answer["state"], answer["dead_reason"], answer["timed_out"]) == (
        "dead",
        "not_found",
        False,
    )


def test_submit_wait_times_out_with_exit_code_4_when_no_worker_runs(ordercmd_env):
    base = ("submit", "cancel", "--provider", "shoplazza", "--account", "store", "--order")
    started = time.monotonic()
    done = ordercmd(ordercmd_env, *base, "633130-1", "--wait", "0.5")
    assert done.returncode == 4, done.stderr
    assert done.stdout.startswith("timed out:")
    assert time.monotonic() - started < 20


@pytest.fixture
def served(settings: Settings, store: CommandStore, redis_url: str) -> Iterator[str]:
    """The web app with one producer key, served by uvicorn on loopback."""
    key_hash = CliRunner().invoke(cli, ["hash-secret", "--stdin"], input=KEY + "\n").stdout.strip()
    web = settings.web.model_validate({"producers": {"shop": {"key_hash": key_hash}}})
    celery_app = Celery("ordercmd-test-wait", broker=redis_url, set_as_current=False)
    app = create_app(settings.model_copy(update={"web": web}), store, publisher(celery_app))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_config=None))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout_s=10, what="uvicorn to start")
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(10)
    sock.close()
    celery_app.close()


def test_http_long_poll_answers_when_the_worker_ends_the_command(served, sandbox, start_worker):
    # Given a served intake and a placed order, and no worker yet
    order = str(sandbox.admin.create_order("shoplazza", "placed")["id"])
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=served, headers=headers, timeout=40) as http:
        command_id = http.post("/v1/commands", json=cancel(order)).json()["command_id"]
        # When a client long-polls for 25 s and the worker starts only after it began waiting
        threading.Timer(0.5, start_worker, kwargs={"pool": "threads"}).start()
        started = time.monotonic()
        answer = http.get(f"/v1/commands/{command_id}", params={"wait": 25})
        # Then the answer is the final state, as soon as the worker has run the command
        assert answer.status_code == 200
        assert answer.json()["state"] == "succeeded"
        assert time.monotonic() - started < 20
