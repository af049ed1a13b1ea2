"""Delivery replay runs through the operator API, on a real Redis: dry run, start, cancel.

The runs are the CLI's and the dashboard's (`DeliveryRuns`), driven here by a worker's driver;
viewers read, operators act, bad input plans nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from starlette.testclient import TestClient

from runs.delivery_runs import DeliveryRunDriver, DeliveryRuns
from store import keys
from store.command_store import CommandStore, StoreLimits
from store.webhooks.deliveries import Deliveries
from store.webhooks.subscriptions import Subscriptions
from tests.unit.runs.test_delivery_runs import dead_deliveries
from tests.unit.web.test_web_app import bearer, web_settings
from web import create_app

HOOK = "https://hooks.example.com/ordercmd"
RUNS = "/api/webhooks/runs"


@pytest.fixture
def real_store(redis_client: redis.Redis) -> CommandStore:
    return CommandStore(redis_client, StoreLimits(3600, 60_000, 30_000))


@pytest.fixture
def client(real_store: CommandStore) -> Iterator[TestClient]:
    with TestClient(create_app(web_settings(), real_store, lambda ids: None)) as test_client:
        yield test_client


@pytest.fixture
def subs(real_store: CommandStore) -> tuple[str, str]:
    """Two subscriptions with dead deliveries: 3 dead of HTTP 503 and 2 of ReadTimeout."""
    made = Subscriptions(real_store.client, web_settings())
    one, _ = made.create(HOOK, ["succeeded"])
    two, _ = made.create(HOOK + "/two", ["succeeded"])
    dead_deliveries(real_store, one.id, 3)
    dead_deliveries(real_store, two.id, 2, error="ReadTimeout")
    return one.id, two.id


def audit(store) -> list[dict[str, str]]:
    return [fields for _, fields in store.client.xrange(keys.audit())]


def test_a_dry_run_counts_by_subscription_event_and_error_and_replays_nothing(
    client, real_store, subs
):
    one, two = subs
    dry = client.post(RUNS, json={}, headers=bearer())
    assert dry.status_code == 201, dry.text
    run = dry.json()
    assert (run["status"], run["total"], run["actor"]) == ("planned", 5, "alice")
    groups = [
        {"subscription_id": one, "event": "succeeded", "error": "HTTP 503", "count": 3},
        {"subscription_id": two, "event": "succeeded", "error": "ReadTimeout", "count": 2},
    ]
    assert run["groups"] == sorted(groups, key=lambda g: g["subscription_id"])
    assert len(Deliveries(real_store.client).dead()) == 5, "a dry run replays nothing"
    assert Deliveries(real_store.client).redeliveries(one) == []
    mine = client.post(RUNS, json={"subscription_id": two, "event": "succeeded"}, headers=bearer())
    assert (mine.json()["total"], mine.json()["counts"]) == (2, {f"{two}|succeeded|ReadTimeout": 2})
    listed = client.get(RUNS, headers=bearer("vic"))
    assert {r["id"] for r in listed.json()} == {mine.json()["id"], run["id"]}  # one ms: any order
    assert client.get(f"{RUNS}/{run['id']}", headers=bearer("vic")).json()["total"] == 5
    nothing = client.post(RUNS, json={"command_id": "no-such-command"}, headers=bearer())
    assert (nothing.json()["status"], nothing.json()["total"]) == ("cancelled", 0)
    assert [e["action"] for e in audit(real_store)] == ["bulk_replay_cancel"], "the empty plan"


def test_a_started_run_replays_each_once_at_its_rate_and_is_audited(client, real_store, subs):
    one, two = subs
    body = {"subscription_id": one, "dry_run": False, "rate_per_s": 1000, "why": "receiver back"}
    started = client.post(RUNS, json=body, headers=bearer())
    assert started.status_code == 201, started.text
    run = started.json()
    assert (run["status"], run["total"], run["rate_per_s"]) == ("running", 3, 1000)
    done = DeliveryRunDriver(real_store.client).drive(run["id"])  # a worker's pump does this
    assert (done.status, done.results) == ("done", {"queued": 3})
    shown = client.get(f"{RUNS}/{run['id']}", headers=bearer()).json()
    assert (shown["status"], shown["processed"], shown["left"]) == ("done", 3, 0)
    deliveries = Deliveries(real_store.client)
    assert len(deliveries.redeliveries(one)) == 3, "each once, to the receiver's queue"
    assert [d.subscription_id for d in deliveries.dead()] == [two, two]
    [entry] = audit(real_store)
    assert {k: entry[k] for k in ("action", "actor", "why", "run", "count")} == {
        "action": "bulk_replay_start", "actor": "alice", "why": "receiver back",
        "run": run["id"], "count": "3",
    }  # fmt: skip


def test_cancel_stops_a_run_and_is_audited(client, real_store, subs):
    body = {"dry_run": False, "rate_per_s": 0.01, "why": "receiver back"}
    run_id = client.post(RUNS, json=body, headers=bearer()).json()["id"]
    assert DeliveryRunDriver(real_store.client).advance(run_id).acted == 1  # then 100 s apart
    cancelled = client.post(f"{RUNS}/{run_id}/cancel", headers=bearer())
    assert cancelled.status_code == 200, cancelled.text
    shown = cancelled.json()
    assert (shown["status"], shown["processed"], shown["left"]) == ("cancelled", 1, 4)
    assert DeliveryRunDriver(real_store.client).advance(run_id).acted == 0
    assert len(Deliveries(real_store.client).dead()) == 4
    assert [(e["action"], e["actor"], e["run"]) for e in audit(real_store)] == [
        ("bulk_replay_start", "alice", run_id),
        ("bulk_replay_cancel", "alice", run_id),
    ]
    again = client.post(f"{RUNS}/{run_id}/cancel", headers=bearer())
    assert (again.status_code, again.json()["detail"]) == (
        409, f"delivery replay run {run_id} is cancelled")  # fmt: skip
    assert client.post(f"{RUNS}/wh00000000000000/cancel", headers=bearer()).status_code == 404
    assert client.get(f"{RUNS}/0123456789abcdef", headers=bearer()).status_code == 422, (
        "a command run's id is no delivery run's"
    )


def test_a_dry_run_is_started_later_with_its_reason_audited(client, real_store, subs):
    run_id = client.post(RUNS, json={}, headers=bearer()).json()["id"]  # a dry run: no reason
    for bad in ({}, {"why": "  "}, {"why": "ok", "rate_per_s": 0}, {"why": "ok", "extra": 1}):
        refused = client.post(f"{RUNS}/{run_id}/start", json=bad, headers=bearer())
        assert refused.status_code == 422, bad
    assert client.get(f"{RUNS}/{run_id}", headers=bearer()).json()["status"] == "planned"
    body = {"why": "receiver back", "rate_per_s": 1000}
    started = client.post(f"{RUNS}/{run_id}/start", json=body, headers=bearer())
    assert started.status_code == 200, started.text
    assert (started.json()["status"], started.json()["rate_per_s"]) == ("running", 1000)
    done = DeliveryRunDriver(real_store.client).drive(run_id)
    assert (done.status, done.results) == ("done", {"queued": 5})
    [entry] = audit(real_store)
    assert (entry["action"], entry["why"], entry["run"]) == ("bulk_replay_start", "receiver back",
                                                           run_id)  # fmt: skip
    again = client.post(f"{RUNS}/{run_id}/start", json=body, headers=bearer())
    assert (again.status_code, again.json()["detail"]) == (
        409, f"delivery replay run {run_id} is done")  # fmt: skip
    unknown = client.post(f"{RUNS}/wh00000000000000/start", json=body, headers=bearer())
    assert unknown.status_code == 404


def test_a_viewer_or_a_stranger_cannot_act(client, real_store, subs):
    run_id = client.post(RUNS, json={}, headers=bearer()).json()["id"]
    body = {"dry_run": False, "why": "x"}
    assert client.post(RUNS, json=body).status_code == 401
    assert client.post(RUNS, json=body, headers=bearer("vic")).status_code == 403
    assert client.post(RUNS, json={"rate_per_s": 0}, headers=bearer("vic")).status_code == 403
    assert client.post(f"{RUNS}/{run_id}/cancel").status_code == 401
    assert client.post(f"{RUNS}/{run_id}/cancel", headers=bearer("vic")).status_code == 403
    start = {"why": "x"}
    assert client.post(f"{RUNS}/{run_id}/start", json=start).status_code == 401
    viewer = client.post(f"{RUNS}/{run_id}/start", json=start, headers=bearer("vic"))
    assert viewer.status_code == 403
    assert client.get(RUNS).status_code == 401
    assert [r.id for r in DeliveryRuns(real_store.client).recent()] == [run_id]
    assert client.get(f"{RUNS}/{run_id}", headers=bearer("vic")).json()["status"] == "planned"
    assert audit(real_store) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"subscription_id": "wh_nope"}, "subscription_id"),
        ({"subscription_id": "a b"}, "subscription_id"),
        ({"event": "boom"}, "event"),
        ({"command_id": "x" * 200}, "command_id"),
        ({"event_id": "1-0; drop"}, "event_id"),
        ({"dry_run": False, "rate_per_s": 0, "why": "x"}, "rate_per_s"),
        ({"dry_run": False, "rate_per_s": -5, "why": "x"}, "rate_per_s"),
        ({"dry_run": False, "rate_per_s": 1e9, "why": "x"}, "rate_per_s"),
        ({"dry_run": False, "rate_per_s": "fast", "why": "x"}, "rate_per_s"),
        ({"dry_run": False}, "why"),
        ({"dry_run": False, "why": "   "}, "why"),
        ({"why": "x" * 501}, "why"),
        ({"dry_run": "maybe"}, "dry_run"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_input_is_a_422_naming_the_field_and_plans_nothing(client, real_store, subs, body,
                                                               field):  # fmt: skip
    refused = client.post(RUNS, json=body, headers=bearer())
    assert refused.status_code == 422, refused.text
    [problem] = refused.json()["detail"]
    assert problem["loc"] == ["body", field]
    assert problem["msg"]
    assert DeliveryRuns(real_store.client).recent() == []
    assert audit(real_store) == []


@pytest.mark.parametrize(
    "raw", [b"{not json", b"[1, 2]", b'{"dry_run": false, "rate_per_s": NaN, "why": "x"}', b""]
)
def test_a_body_that_is_no_json_object_is_refused(client, real_store, raw):
    headers = bearer() | {"Content-Type": "application/json"}
    refused = client.post(RUNS, content=raw, headers=headers)
    assert refused.status_code in (400, 422), refused.text
    assert refused.json()["detail"][0]["loc"][0] == "body"
    assert DeliveryRuns(real_store.client).recent() == []


def test_the_routes_are_in_the_api_document(client):
    paths = client.get("/openapi.json", headers=bearer("vic")).json()["paths"]
    for path, methods in [(RUNS, {"get", "post"}), (RUNS + "/{run_id}", {"get"}),
                          (RUNS + "/{run_id}/start", {"post"}),
                          (RUNS + "/{run_id}/cancel", {"post"})]:  # fmt: skip
        assert set(paths[path]) == methods, path
        for operation in paths[path].values():
            assert operation["security"] == [{"HTTPBearer": []}], path
            assert operation["tags"] == ["dashboard", "webhooks"]
