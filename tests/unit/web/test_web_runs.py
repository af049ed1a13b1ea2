"""Bulk runs and edit-and-replay through the operator API and forms, on fakeredis."""

from __future__ import annotations

import json
import threading
import time

from runs.bulk_runs import DRIVEN, BulkRuns, RunAction
from runs.driver import RunDriver
from schemas import CommandState, DeadReason
from store import keys
from store.command_store import Claim
from store.records import read_record
from store.search import Search, SearchFilter
from tests.unit.web import test_web_app as web_app
from tests.unit.web.test_web_app import bearer, make_dead, sign_in

client = web_app.client  # a fixture shared with test_web_app
published = web_app.published  # a fixture shared with test_web_app


def audit(store) -> list[dict[str, str]]:
    return [fields for _, fields in store.client.xrange(keys.audit())]


def driver_of(store, published) -> RunDriver:
    """What every worker runs beside its scheduler."""
    return RunDriver(store, Search(store.client, {"acme": "backd"}), published)


def drive_to_end(driver: RunDriver, run_id: str) -> dict:
    """Tick the driver as a worker would until the run ends (a deadline, not a sleep)."""
    deadline = time.monotonic() + 10
    while driver.runs.require(run_id).status in DRIVEN:
        assert time.monotonic() < deadline, driver.runs.require(run_id)
        driver.run_once()
    return driver.runs.require(run_id)


def test_a_run_is_planned_with_counts_then_the_workers_run_it(client, store, published):
    ids = [make_dead(store, f"k{i}", DeadReason.EXHAUSTED, order_id=f"O-{i}") for i in range(4)]
    make_dead(store, "x", DeadReason.AUTH, order_id="O-9")
    plan = client.post("/api/runs", json={"filter": {"reason": "exhausted"}, "why": "fixed"},
                       headers=bearer())  # fmt: skip
    assert plan.status_code == 201, plan.text
    run = plan.json()
    assert (run["status"], run["total"], run["counts"]) == (
        "planned",
        4,
        {"backd|cancel|exhausted": 4},
    )
    assert all(read_record(store.client, i).state == "dead" for i in ids), "a plan changes nothing"
    started = client.post(f"/api/runs/{run['id']}/start", json={"rate_per_s": 1000},
                          headers=bearer())  # fmt: skip
    assert started.status_code == 200, started.text
    assert started.json()["status"] == "running"
    assert published == [], "the web process does not drive the run"
    assert not [t for t in threading.enumerate() if t.name.startswith(("run-", "ordercmd-runs"))]
    done = drive_to_end(driver_of(store, published), run["id"])
    assert (done.status, done.processed, done.results) == ("done", 4, {"queued": 4})
    assert sorted(published) == sorted(ids)
    assert client.get(f"/api/runs/{run['id']}", headers=bearer()).json()["status"] == "done"
    again = client.post(f"/api/runs/{run['id']}/start", json={}, headers=bearer())
    assert again.status_code == 409


def test_a_command_that_dies_again_during_the_run_is_not_taken_again(store, published):
    ids = [make_dead(store, f"k{i}", order_id=f"O-{i}") for i in range(3)]
    driver = driver_of(store, published)
    run = driver.runs.plan(SearchFilter(), action=RunAction.REPLAY, actor="ops", why="retry all")
    assert driver.drive(run.id).status == "planned"
    assert driver.runs.start(run.id, actor="ops", rate_per_s=1)  # one now, the next in 1 s
    assert driver.run_once() == 1
    first = published[0]
    claim = store.claim(first)  # the replayed command runs and dies again
    assert isinstance(claim, Claim)
    store.finish(claim, CommandState.DEAD, None, reason=DeadReason.REJECTED, message="again")
    driver.runs.client.hset(keys.replay_run(run.id), "rate", 1000)  # no need to wait 2 s
    finished = drive_to_end(driver, run.id)
    assert (finished.status, finished.processed) == ("done", 3)
    assert sorted(published) == sorted(ids), "each replayed once"
    assert read_record(store.client, first).state == "dead"


def test_cancel_stops_a_run_and_leaves_the_rest_dead(client, store, published):
    ids = [make_dead(store, f"k{i}", order_id=f"O-{i}") for i in range(5)]
    driver = driver_of(store, published)
    run = driver.runs.plan(SearchFilter(), action=RunAction.DISCARD, actor="alice", why="stale")
    driver.drive(run.id)
    driver.runs.start(run.id, actor="alice", rate_per_s=1)
    assert driver.run_once() == 1
    cancelled = client.post(f"/api/runs/{run.id}/cancel", headers=bearer())
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["status"], cancelled.json()["left"]) == ("cancelled", 4)
    assert driver.runs.take(run.id, limit=10).ids == []
    assert driver.run_once() == 0
    assert sorted(str(read_record(store.client, i).state) for i in ids) == [
        "dead", "dead", "dead", "dead", "discarded"]  # fmt: skip
    actions = [e["action"] for e in audit(store)]
    assert actions == ["bulk_discard_start", "discard", "bulk_discard_cancel"]


def test_edit_and_replay_keeps_the_key_and_audits_old_and_new(client, store, published):
    dead = make_dead(store, "key-1", kind="refund", amount="10.00", order_id="O-1")
    edited = {"kind": "refund", "provider": "backd", "account": "acme", "order_id": "O-1",
              "amount": "7.50", "reason": "partial"}  # fmt: skip
    reply = client.post(
        f"/api/dead-letters/{dead}/edit-replay",
        json={"command": edited, "why": "amount was wrong"},
        headers=bearer(),
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["state"] == "queued"
    assert published == [dead]
    record = read_record(store.client, dead)
    assert record.envelope.idempotency_key == "key-1"
    assert str(record.envelope.command.amount) == "7.50"
    assert json.loads(store.client.hget(keys.command(dead), "original_envelope"))["command"][
        "amount"] == "10.00"  # fmt: skip
    entry = audit(store)[-1]
    assert (entry["action"], entry["actor"], entry["why"]) == (
        "edit_replay",
        "alice",
        "amount was wrong",
    )
    assert json.loads(entry["old"])["amount"] == "10.00"
    assert json.loads(entry["new"])["amount"] == "7.50"


def test_an_edit_cannot_move_the_command_or_break_validation(client, store):
    dead = make_dead(store, "key-1", order_id="O-1")
    base = {"kind": "cancel", "provider": "backd", "account": "acme", "order_id": "O-1"}
    for change, field in [({"order_id": "O-2"}, "order_id"), ({"account": "nope"}, "account"),
                          ({"kind": "refund"}, "kind"), ({"reason": ""}, "reason")]:  # fmt: skip
        reply = client.post(
            f"/api/dead-letters/{dead}/edit-replay",
            json={"command": {**base, **change}, "why": "x"},
            headers=bearer(),
        )
        assert reply.status_code == 422, (change, reply.text)
        assert field in reply.text
    assert read_record(store.client, dead).state == "dead"
    assert audit(store) == []


def test_the_edit_form_reports_bad_json_on_the_command_page(client, store):
    dead = make_dead(store, "key-1")
    token = sign_in(client)
    reply = client.post(
        f"/dead-letters/{dead}/edit", data={"command": "{not json", "why": "x", "csrf_token": token}
    )
    assert reply.status_code == 422
    assert '<div class="error" role="alert">Not edited: command: not JSON' in reply.text
    assert read_record(store.client, dead).state == "dead"


def test_the_run_pages_plan_and_show_counts(client, store):
    make_dead(store, "a", DeadReason.POISON)
    token = sign_in(client)
    reply = client.post("/runs", data={"reason": "poison", "why": "deploy fixed it",
                                       "action": "replay", "csrf_token": token})  # fmt: skip
    assert reply.status_code == 303
    page = client.get(reply.headers["location"])
    assert "Dry run: 1 dead letters would be replayed." in page.text
    assert "poison" in page.text
    assert 'id="start-form"' in page.text
    progress = client.get(reply.headers["location"] + "/progress").json()
    assert progress["status"] == "planned"
    assert progress["total"] == 1


def test_a_run_still_planning_shows_progress_and_cannot_start(client, store, published):
    make_dead(store, "a", DeadReason.POISON)
    run = BulkRuns(store.client).plan(SearchFilter(), action=RunAction.REPLAY, actor="alice",
                                      why="big")  # fmt: skip
    token = sign_in(client)
    page = client.get(f"/runs/{run.id}")
    assert "Planning: 0 dead letters found so far" in page.text
    assert 'id="start-form"' not in page.text
    assert 'id="cancel-form"' in page.text, "a plan can be cancelled while it is filled"
    reply = client.post(f"/runs/{run.id}/start", data={"rate": "5", "csrf_token": token})
    refused = client.get(reply.headers["location"]).text
    assert '<div class="error" role="alert">Not started: bulk run' in refused, "shown as an error"
    api = client.post(f"/api/runs/{run.id}/start", json={}, headers=bearer())
    assert api.status_code == 409
    assert "still planning" in api.text
    assert client.get(f"/runs/{run.id}/progress").json()["status"] == "planning"
    driver_of(store, published).run_once()  # a worker's tick completes the small plan
    assert client.get(f"/api/runs/{run.id}", headers=bearer()).json()["total"] == 1
    assert 'id="start-form"' in client.get(f"/runs/{run.id}").text
    assert published == [], "planning changes nothing"
