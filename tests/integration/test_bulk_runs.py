"""Bulk runs planned and started through the operator API, driven by a real worker process.

The web app here only plans, starts and shows progress: no thread of this process drives the
run. The worker's run driver (beside its scheduler) fills large plans in chunks and acts at the
run's rate, against the sandbox.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from celery import Celery
from starlette.testclient import TestClient

from config.settings import Settings
from schemas import CommandState, DeadReason
from store import keys
from store.command_store import Claim, CommandStore
from tests.factories import make_envelope
from tests.integration.harness import wait_for
from tests.unit.web.test_web_app import bearer, web_settings
from web import create_app
from worker.app import publisher

pytestmark = pytest.mark.integration


@pytest.fixture
def api(settings: Settings, store: CommandStore, redis_url: str) -> Iterator[TestClient]:
    """The web app with operator tokens over the test store; it sends real broker messages."""
    celery_app = Celery("ordercmd-test-web", broker=redis_url, set_as_current=False)
    app = create_app(settings.model_copy(update={"web": web_settings().web}), store,
                     publisher(celery_app))  # fmt: skip
    with TestClient(app) as client:
        yield client
    celery_app.close()


def run_of(api: TestClient, run_id: str) -> dict[str, Any]:
    reply = api.get(f"/api/runs/{run_id}", headers=bearer())
    assert reply.status_code == 200, reply.text
    return reply.json()


def until_status(api: TestClient, run_id: str, status: str, timeout_s: float = 30) -> dict:
    return wait_for(lambda: (run := run_of(api, run_id))["status"] == status and run,
                    timeout_s=timeout_s, what=f"run {run_id} to be {status}")  # fmt: skip


def no_run_threads_here() -> bool:
    return not [t for t in threading.enumerate() if t.name.startswith(("run-", "ordercmd-runs"))]


def test_a_replay_run_started_through_the_api_is_completed_by_the_worker(
    api, store, sandbox, producer, start_worker, settled
):
    # Given five Shoplazza cancels that died because the orders did not exist yet
    start_worker(pool="threads")
    orders = [f"1009-0000000{i}" for i in range(5)]
    dead = []
    for order in orders:
        command = {"kind": "cancel", "provider": "shoplazza", "account": "store",
                   "order_id": order}  # fmt: skip
        record = settled(producer.submit(command).command_id)
        assert (record.state, record.dead_reason) == (CommandState.DEAD, DeadReason.NOT_FOUND)
        dead.append(record.id)
        sandbox.admin.create_order("shoplazza", "placed", order_id=order)
    # When an operator plans and starts a replay of them through the API
    where = {"provider": "shoplazza", "reason": "not_found"}
    plan = api.post("/api/runs", headers=bearer(), json={"filter": where, "why": "synced"})
    assert plan.status_code == 201, plan.text
    run = plan.json()
    assert (run["status"], run["total"], run["counts"]) == (
        "planned", 5, {"shoplazza|cancel|not_found": 5})  # fmt: skip
    started = api.post(f"/api/runs/{run['id']}/start", headers=bearer(), json={"rate_per_s": 20})
    assert started.status_code == 200, started.text
    # Then the worker replays each once and the provider cancels each order once
    done = until_status(api, run["id"], "done")
    assert (done["processed"], done["results"]) == (5, {"queued": 5})
    assert no_run_threads_here(), "the web process drives nothing"
    assert [settled(i).state for i in dead] == [CommandState.SUCCEEDED] * 5
    for order in orders:
        assert len(sandbox.admin.mutations(order_id=order)) == 1, order
    audited = [f for _, f in store.client.xrange(keys.audit())]
    replays = [f for f in audited if f["action"] == "replay"]
    assert sorted(f["command_id"] for f in replays) == sorted(dead)
    assert {f["actor"] for f in replays} == {"alice"}


def make_dead_letters(store: CommandStore, count: int) -> list[str]:
    ids = []
    for i in range(count):
        command_id = store.admit(make_envelope(f"big-{i}", order_id=f"BO-{i:06d}")).command_id
        claim = store.claim(command_id)
        assert isinstance(claim, Claim)
        store.finish(claim, CommandState.DEAD, None, reason=DeadReason.NOT_FOUND, message="no")
        ids.append(command_id)
    return ids


def test_a_large_plan_is_filled_by_the_worker_then_run(api, store, start_worker):
    # Given more dead letters than one planning chunk holds
    ids = make_dead_letters(store, 1200)
    # When a discard run is planned through the API
    plan = api.post("/api/runs", headers=bearer(), json={
        "action": "discard", "filter": {"provider": "backd"}, "why": "stale"})  # fmt: skip
    assert plan.status_code == 201, plan.text
    run = plan.json()
    # Then the request read one chunk only, and the run cannot start yet
    assert (run["status"], run["total"]) == ("planning", 1000)
    early = api.post(f"/api/runs/{run['id']}/start", headers=bearer(), json={"rate_per_s": 1000})
    assert early.status_code == 409
    assert "still planning" in early.text
    # And a worker completes the plan, then runs it once started
    start_worker(pool="threads")
    planned = until_status(api, run["id"], "planned")
    assert (planned["total"], planned["counts"]) == (1200, {"backd|cancel|not_found": 1200})
    started = api.post(f"/api/runs/{run['id']}/start", headers=bearer(), json={"rate_per_s": 1000})
    assert started.status_code == 200, started.text
    done = until_status(api, run["id"], "done")
    assert (done["processed"], done["results"]) == (1200, {"discarded": 1200})
    pipe = store.client.pipeline(transaction=False)
    for command_id in ids:
        pipe.hget(keys.command(command_id), "state")
    assert set(pipe.execute()) == {"discarded"}
    assert no_run_threads_here()
