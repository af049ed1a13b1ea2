"""Backd sandbox: envelope, auth, order_placed / order_confirmed rules, refund requests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from starlette.testclient import TestClient

from sandbox import SandboxConfig, SandboxState, create_app
from sandbox.backd_rules import lock_time
from sandbox.dialects import CHICAGO
from sandbox.testing import FakeClock, backd_headers

PLACED, CONFIRMED, TERMS = "BO-000001", "BO-000002", "BO-000005"
AUTH = backd_headers()


def make_client(config: SandboxConfig | None = None, clock: FakeClock | None = None) -> TestClient:
    state = SandboxState(config, clock=clock or FakeClock())
    return TestClient(create_app(state=state))


@pytest.fixture
def client() -> TestClient:
    return make_client()


def find(client: TestClient, order_id: str) -> Any:
    response = client.get(f"/backd/find_order/{order_id}", headers=AUTH)
    assert response.status_code == 200
    return response.json()["data"]


def mutations(client: TestClient, **filters: str) -> Any:
    return client.get("/_admin/mutations", params={"provider": "backd", **filters}).json()[
        "mutations"
    ]


def refund(client: TestClient, amount: float, order_id: str = CONFIRMED, method: str = "POST"):
    body: dict[str, Any] = {"backd_order_id": order_id, "merchant_order_id": f"MO-{order_id[3:]}"}
    if method == "POST":
        body["refund_amount"] = amount
    return client.request(method, "/backd/refund", headers=AUTH, json=body)


def snapshot(order: dict[str, Any]) -> dict[str, Any]:
    keys = ("backd_order_id", "merchant_order_id", "merchant_order_status", "shipping", "billing")
    return {k: order[k] for k in keys} | {"items": order["items"]}


def test_find_order_returns_the_envelope(client):
    body = client.get(f"/backd/find_order/{PLACED}", headers=AUTH).json()

    assert body["error"] is False
    assert body["message"] == "API Backd - Success"
    assert body["status"] == {"type": "success", "code": 200}
    data = body["data"]
    assert (data["status"], data["refunds"]) == ("order_placed", [])
    assert data["order_total"] == data["cart_amount"] + data["tax_amount"] + data["shipping_amount"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        backd_headers("pk_sandbox", "wrong"),
        backd_headers("pk_other"),
        {"Authorization": "Basic %%%"},
    ],
)
def test_bad_credentials_get_401_envelope(client, headers):
    response = client.get(f"/backd/find_order/{PLACED}", headers=headers)

    assert response.status_code == 401
    assert response.json()["error"] is True
    assert response.json()["status"]["code"] == 401
    assert "Basic" in response.headers["www-authenticate"]


def test_unknown_order_and_unknown_route_are_404(client):
    assert client.get("/backd/find_order/BO-999999", headers=AUTH).status_code == 404
    response = client.post(
        "/backd/cancel_order", headers=AUTH, json={"backd_order_id": "BO-999999"}
    )
    assert (response.status_code, response.json()["error"]) == (404, True)
    assert client.post("/backd/confirm_order", headers=AUTH, json={}).status_code == 404


def test_cancel_placed_order(client):
    response = client.post("/backd/cancel_order", headers=AUTH, json={"backd_order_id": PLACED})

    assert response.status_code == 200
    data = response.json()["data"]
    assert data["status"] == "order_cancelled"
    assert "merchant_order_status" not in data
    [logged] = mutations(client)
    assert logged["order_id"] == PLACED
    assert (logged["operation"], logged["account"]) == ("cancel", "pk_sandbox")
    assert logged["body"] == {"backd_order_id": PLACED}


@pytest.mark.parametrize("order_id", [CONFIRMED, TERMS, "BO-000006"])
def test_cancel_outside_order_placed_is_refused_with_200_error(client, order_id):
    response = client.post("/backd/cancel_order", headers=AUTH, json={"backd_order_id": order_id})

    assert response.status_code == 200
    assert response.json()["error"] is True
    assert response.json()["status"] == {"type": "error", "code": 422}
    assert mutations(client) == []


def test_refusal_status_is_configurable():
    client = make_client(SandboxConfig(backd_refusal_status=422))

    response = client.post("/backd/cancel_order", headers=AUTH, json={"backd_order_id": CONFIRMED})

    assert (response.status_code, response.json()["error"]) == (422, True)


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"{", "Invalid JSON"), (b"[]", "JSON object"), (b"{}", "backd_order_id is required")],
)
def test_malformed_bodies_get_400(client, content, message):
    response = client.post("/backd/cancel_order", headers=AUTH, content=content)

    assert response.status_code == 400
    assert message in response.json()["message"]


def test_update_overwrites_with_the_snapshot(client):
    order = find(client, PLACED)
    body = snapshot(order) | {"cart_amount": 500, "tax_amount": 20, "shipping_amount": 30}
    body |= {"discount_amount": 50, "order_total": 500, "merchant_order_status": "edited"}

    response = client.post("/backd/update_order", headers=AUTH, json=body)

    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["order_total"], data["merchant_order_status"]) == (500, "edited")
    assert "refunds" not in data
    assert find(client, PLACED)["discount_amount"] == 50
    assert [m["operation"] for m in mutations(client)] == ["update"]


def test_update_rejects_inconsistent_totals_and_missing_ids(client):
    order = find(client, PLACED)
    bad_total = client.post(
        "/backd/update_order", headers=AUTH, json=snapshot(order) | {"order_total": 1}
    )
    no_merchant = client.post("/backd/update_order", headers=AUTH, json={"backd_order_id": PLACED})
    bad_items = snapshot(order) | {"items": [{"sku": "x"}]}

    assert bad_total.status_code == 400
    assert no_merchant.status_code == 400
    assert client.post("/backd/update_order", headers=AUTH, json=bad_items).status_code == 400
    assert mutations(client) == []


def test_update_is_refused_after_confirmation_and_over_the_limit():
    client = make_client(SandboxConfig(backd_credit_limit=5000))
    confirmed = client.post(
        "/backd/update_order", headers=AUTH, json=snapshot(find(client, CONFIRMED))
    )
    order = find(client, PLACED)
    raised = snapshot(order) | {"cart_amount": 9000, "order_total": 9000 + 10 + 50}

    over_limit = client.post("/backd/update_order", headers=AUTH, json=raised)

    assert confirmed.json()["error"] is True
    assert over_limit.json()["error"] is True
    assert "limit" in over_limit.json()["message"]


def test_refund_post_replaces_the_open_request(client):
    first = refund(client, 100)
    second = refund(client, 150)

    assert first.json()["data"]["refunds"][0]["status"] == "draft"
    refunds = second.json()["data"]["refunds"]
    assert [(r["amount"], r["status"]) for r in refunds] == [(100, "declined"), (150, "draft")]
    assert set(refunds[1]) == {"amount", "create_date", "status", "locked_at"}
    assert refunds[1]["locked_at"] == "2026-04-16 17:00:00"
    assert find(client, CONFIRMED)["status"] == "order_confirmed"


def test_refund_delete_withdraws_the_open_request(client):
    refund(client, 100)

    deleted = refund(client, 0, method="DELETE")
    again = refund(client, 0, method="DELETE")

    assert [r["status"] for r in deleted.json()["data"]["refunds"]] == ["declined"]
    assert (again.status_code, again.json()["error"]) == (200, True)
    assert [m["operation"] for m in mutations(client)] == ["refund", "refund_delete"]


@pytest.mark.parametrize(
    ("order_id", "amount", "status"),
    [(PLACED, 10, 200), (CONFIRMED, 10**9, 200), (CONFIRMED, -5, 400), (CONFIRMED, "10", 400)],
)
def test_refund_refusals(client, order_id, amount, status):
    response = refund(client, amount, order_id=order_id)

    assert (response.status_code, response.json()["error"]) == (status, True)
    assert mutations(client) == []


def test_refund_needs_the_matching_merchant_order_id(client):
    body = {"backd_order_id": CONFIRMED, "merchant_order_id": "nope", "refund_amount": 5}

    assert client.post("/backd/refund", headers=AUTH, json=body).status_code == 400


def test_a_locked_refund_cannot_be_replaced_or_deleted():
    clock = FakeClock()
    client = make_client(clock=clock)
    refund(client, 100)

    clock.advance(8 * 3600)  # 18:00 Chicago, past the 17:00 lock

    order = find(client, CONFIRMED)
    assert (order["status"], order["refunds"][0]["status"]) == ("refund", "approved")
    assert refund(client, 50).json()["error"] is True
    assert refund(client, 0, method="DELETE").json()["error"] is True


@pytest.mark.parametrize(
    ("submitted", "locks"),
    [
        ("2026-04-16 10:00", "2026-04-16 17:00"),  # Thursday morning: same day
        ("2026-04-16 17:00", "2026-04-17 17:00"),  # Thursday 17:00: next weekday
        ("2026-04-17 16:59", "2026-04-17 17:00"),  # Friday before 17:00: same day
        ("2026-04-17 18:30", "2026-04-20 17:00"),  # Friday evening: Monday
        ("2026-04-18 09:00", "2026-04-20 17:00"),  # Saturday: Monday
        ("2026-04-19 23:00", "2026-04-20 17:00"),  # Sunday: Monday
        ("2026-04-20 16:59", "2026-04-20 17:00"),  # Monday before 17:00: same day
    ],
)
def test_lock_time_follows_the_chicago_rule(submitted, locks):
    at = datetime.strptime(submitted, "%Y-%m-%d %H:%M").replace(tzinfo=CHICAGO)

    assert lock_time(at).strftime("%Y-%m-%d %H:%M") == locks
