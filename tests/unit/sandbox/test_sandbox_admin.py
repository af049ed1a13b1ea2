"""Sandbox admin API and the deterministic seeded order book."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from sandbox import SandboxConfig, SandboxState, create_app, order_id, seeded_state
from sandbox.testing import FakeClock, backd_headers
from schemas import Provider

AUTH = backd_headers()


@pytest.fixture
def client() -> TestClient:
    return TestClient(create_app(state=SandboxState(clock=FakeClock())))


def test_health(client):
    assert client.get("/_admin/health").json() == {"ok": True}


def test_seeded_books_are_deterministic_and_independent_of_the_seed():
    first, second = SandboxState(SandboxConfig(seed=1)), SandboxState(SandboxConfig(seed=2))

    assert first.orders == second.orders
    assert [len(first.orders[p]) for p in Provider] == [24, 24, 24]


@pytest.mark.parametrize(
    ("provider", "n", "expected_id", "state"),
    [
        (Provider.BACKD, 1, "BO-000001", "order_placed"),
        (Provider.BACKD, 2, "BO-000002", "order_confirmed"),
        (Provider.BACKD, 6, "BO-000006", "order_cancelled"),
        (Provider.SHOPLAZZA, 1, "1001-00000001", "placed"),
        (Provider.SHOPLAZZA, 3, "1001-00000003", "opened"),
        (Provider.FASTPOD, 1, "F237-000001", "new_order"),
        (Provider.FASTPOD, 2, "F237-000002", "draft"),
        (Provider.FASTPOD, 13, "F237-000013", "in_production"),
    ],
)
def test_seeded_ids_and_states(provider, n, expected_id, state):
    assert (order_id(provider, n), seeded_state(provider, n)) == (expected_id, state)
    order = SandboxState().find(provider, expected_id)
    assert order is not None
    assert order["order_status" if provider is Provider.FASTPOD else "status"] == state


def test_list_orders_by_provider(client):
    rows = client.get("/_admin/orders", params={"provider": "fastpod"}).json()["orders"]

    assert len(rows) == 24
    assert rows[0] == {"provider": "fastpod", "order_id": "F237-000001", "state": "new_order"}


def test_create_orders_with_state_fields_and_ids(client):
    chosen = {
        "provider": "backd",
        "state": "order_confirmed",
        "order_id": "BO-X",
        "fields": {"tax_amount": 0},
    }
    created = client.post("/_admin/orders", json=chosen)
    generated = client.post(
        "/_admin/orders", json={"provider": "backd", "state": "order_placed", "count": 3}
    )

    assert created.status_code == 201
    assert created.json()["orders"][0]["backd_order_id"] == "BO-X"
    ids = [o["backd_order_id"] for o in generated.json()["orders"]]
    assert ids == ["BO-000026", "BO-000027", "BO-000028"]
    found = client.get("/backd/find_order/BO-X", headers=AUTH).json()["data"]
    assert (found["status"], found["tax_amount"]) == ("order_confirmed", 0)


@pytest.mark.parametrize(
    "body",
    [
        {"provider": "backd", "state": "shipped"},
        {"provider": "nope", "state": "draft"},
        {"provider": "fastpod", "state": "draft", "order_id": "x", "count": 2},
    ],
)
def test_create_order_refusals(client, body):
    assert client.post("/_admin/orders", json=body).status_code == 400


def test_read_order(client):
    assert client.get("/_admin/orders/shoplazza/1001-00000002").json()["status"] == "placed"
    assert client.get("/_admin/orders/shoplazza/nope").status_code == 404
    assert client.get("/_admin/orders/acme/1").status_code == 404


def test_mutation_filters(client):
    client.post("/backd/cancel_order", headers=AUTH, json={"backd_order_id": "BO-000001"})
    client.post("/backd/cancel_order", headers=AUTH, json={"backd_order_id": "BO-000003"})

    by_order = client.get("/_admin/mutations", params={"order_id": "BO-000003"}).json()
    by_provider = client.get("/_admin/mutations", params={"provider": "fastpod"}).json()
    by_operation = client.get("/_admin/mutations", params={"operation": "cancel"}).json()

    assert by_order["count"] == 1
    assert set(by_order["mutations"][0]) == {
        "seq",
        "provider",
        "account",
        "order_id",
        "operation",
        "idempotency_key",
        "body",
        "at",
    }
    assert by_provider["count"] == 0
    assert by_operation["count"] == 2


def test_request_counts(client):
    client.get("/backd/find_order/BO-000001", headers=AUTH)
    client.get("/backd/find_order/BO-000001")

    counts = client.get("/_admin/requests").json()

    assert counts["backd"]["by_status"] == {"200": 1, "401": 1}
    assert counts["shoplazza"]["total"] == 0


def test_reset_restores_the_start(client):
    client.post("/backd/cancel_order", headers=AUTH, json={"backd_order_id": "BO-000001"})
    client.post("/_admin/faults", json={"latency_ms": 5})

    client.post("/_admin/reset", json={"orders_per_provider": 2})

    assert client.get("/_admin/mutations").json()["count"] == 0
    assert client.get("/_admin/orders/backd/BO-000001").json()["status"] == "order_placed"
    assert len(client.get("/_admin/orders").json()["orders"]) == 6
    assert client.get("/_admin/faults").json()["backd"]["latency_ms"] == 0
    assert client.get("/_admin/requests").json()["backd"]["total"] == 0


def test_faults_can_be_read_set_per_provider_and_cleared(client):
    set_one = client.post("/_admin/faults", json={"provider": "shoplazza", "reply_lost_rate": 0.25})
    cleared = client.delete("/_admin/faults").json()

    assert set_one.json()["shoplazza"]["reply_lost_rate"] == 0.25
    assert set_one.json()["backd"]["reply_lost_rate"] == 0
    assert all(settings["reply_lost_rate"] == 0 for settings in cleared.values())


def test_outage_for_s_becomes_an_absolute_time(client):
    faults = client.post("/_admin/faults", json={"provider": "backd", "outage_for_s": 10}).json()

    assert faults["backd"]["outage_until"] == FakeClock().now_s + 10
    assert faults["backd"]["outage_for_s"] is None


def test_settings_read_and_change(client):
    changed = client.post("/_admin/settings", json={"backd_refusal_status": 422}).json()

    assert changed["backd_refusal_status"] == 422
    assert client.get("/_admin/settings").json()["shoplazza_bucket_size"] == 40
    assert client.post("/_admin/settings", json={"shoplazza_bucket_size": 0}).status_code == 400


def test_reset_also_undoes_run_time_settings():
    state = SandboxState(SandboxConfig(orders_per_provider=0))
    client = TestClient(create_app(state=state))
    client.post("/_admin/settings", json={"shoplazza_bucket_size": 1})
    client.post("/_admin/reset", json={"orders_per_provider": 2})
    assert state.config.shoplazza_bucket_size == 40
    assert state.config.orders_per_provider == 2
