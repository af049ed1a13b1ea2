"""FastPOD sandbox: bearer auth, Accept header, editable states, Laravel 422s, no refunds."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from sandbox import SandboxState, create_app
from sandbox.testing import FakeClock, fastpod_headers

NEW, DRAFT, ON_HOLD, IN_PRODUCTION, SHIPPED = (
    "F237-000001",
    "F237-000002",
    "F237-000004",
    "F237-000005",
    "F237-000006",
)
AUTH = fastpod_headers()


@pytest.fixture
def client() -> TestClient:
    return TestClient(create_app(state=SandboxState(clock=FakeClock())))


def operations(client: TestClient) -> list[str]:
    logged = client.get("/_admin/mutations", params={"provider": "fastpod"}).json()["mutations"]
    return [m["operation"] for m in logged]


def full_order(**overrides: Any) -> dict[str, Any]:
    line = {"item_id": "ITEM-9", "sku": "SKU-9", "name": "Hoodie", "quantity": 3}
    address = {
        "name": "Ann",
        "street1": "1 Road",
        "city": "Milwaukee",
        "country": "US",
        "zip": "53202",
    }
    body = {
        "reference_id": "REF-NEW",
        "order_status": "draft",
        "shipping_method": 2,
        "rush_production": True,
        "line_items": [line | {"print_areas": {"front": "https://example.com/f.png"}}],
        "address": address,
    }
    return body | overrides


def test_get_returns_the_bare_order(client):
    response = client.get(f"/fastpod/v1/orders/{NEW}", headers=AUTH)

    order = response.json()
    assert response.status_code == 200
    assert (order["id"], order["order_status"]) == (NEW, "new_order")
    assert order["created_at"].endswith(".000000Z")


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Accept": "application/json"}, 401),
        (fastpod_headers("wrong"), 401),
        ({"Authorization": "Bearer fastpod-sandbox-token"}, 406),
    ],
)
def test_auth_and_accept_header(client, headers, status):
    response = client.get(f"/fastpod/v1/orders/{NEW}", headers=headers)

    assert response.status_code == status
    if status == 401:
        assert response.json() == {"message": "Unauthenticated."}


def test_unknown_order_is_404(client):
    assert client.get("/fastpod/v1/orders/F237-999999", headers=AUTH).status_code == 404


@pytest.mark.parametrize("order_id", [NEW, DRAFT, ON_HOLD])
def test_cancel_editable_orders(client, order_id):
    response = client.post(f"/fastpod/v1/orders/{order_id}/cancel", headers=AUTH)

    body = response.json()
    assert (body["status"], body["message"]) == (True, "Order cancelled successfully.")
    assert body["data"]["order_status"] == "cancelled"
    assert body["data"]["cancelled_at"]
    assert operations(client) == ["cancel"]


@pytest.mark.parametrize("order_id", [IN_PRODUCTION, SHIPPED, "F237-000007", "F237-000008"])
def test_cancel_after_production_is_422(client, order_id):
    response = client.post(f"/fastpod/v1/orders/{order_id}/cancel", headers=AUTH)

    assert response.status_code == 422
    assert response.json()["status"] is False
    assert "order_status" in response.json()["errors"]
    assert operations(client) == []


def test_update_replaces_and_reprices_the_order(client):
    response = client.put(f"/fastpod/v1/orders/{DRAFT}", headers=AUTH, json=full_order())

    data = response.json()["data"]
    assert response.json()["message"] == "Order updated successfully."
    assert (data["reference_id"], data["shipping_method"], data["rush_production"]) == (
        "REF-NEW",
        "2",
        True,
    )
    assert (data["quantity_total"], data["item_total"]) == (3, 43.2)
    assert data["order_total"] == round(43.2 + data["shipping_total"], 2)
    assert operations(client) == ["update"]


def test_update_accepts_the_older_boost_production_name(client):
    body = full_order(order_status="new_order")
    body["boost_production"] = body.pop("rush_production")

    data = client.put(f"/fastpod/v1/orders/{DRAFT}", headers=AUTH, json=body).json()["data"]

    assert (data["order_status"], data["payment_status"]) == ("new_order", "paid")


def test_update_validation_is_laravel_style(client):
    body = full_order(reference_id="", shipping_method=9)
    del body["address"]

    response = client.put(f"/fastpod/v1/orders/{DRAFT}", headers=AUTH, json=body)

    assert response.status_code == 422
    payload = response.json()
    assert set(payload["errors"]) == {"reference_id", "shipping_method", "address"}
    assert payload["message"] == "The reference id field is required. (and 2 more errors)"


def test_update_after_production_is_422(client):
    response = client.put(f"/fastpod/v1/orders/{IN_PRODUCTION}", headers=AUTH, json=full_order())

    assert response.status_code == 422
    assert operations(client) == []


def test_status_moves_draft_to_new_order(client):
    body = {"order_status": "new_order"}

    response = client.put(f"/fastpod/v1/orders/{DRAFT}/status", headers=AUTH, json=body)

    assert response.json()["data"]["order_status"] == "new_order"
    assert response.json()["data"]["payment_status"] == "paid"
    assert (
        client.put(f"/fastpod/v1/orders/{NEW}/status", headers=AUTH, json=body).status_code == 422
    )
    bad_target = {"order_status": "shipped"}
    assert (
        client.put(
            f"/fastpod/v1/orders/{ON_HOLD}/status", headers=AUTH, json=bad_target
        ).status_code
        == 422
    )
    assert operations(client) == ["status"]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_there_is_no_refund_endpoint(client, method):
    response = client.request(method, f"/fastpod/v1/orders/{NEW}/refund", headers=AUTH)

    assert response.status_code == 404
    assert "could not be found" in response.json()["message"]
