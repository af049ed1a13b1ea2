"""Shoplazza sandbox: Access-Token, content type, order states, refunds and the leaky bucket."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from sandbox import SandboxConfig, SandboxState, create_app
from sandbox.testing import FakeClock, shoplazza_headers

PLACED, OPENED, FINISHED, CANCELLED = (
    "1001-00000001",
    "1001-00000003",
    "1001-00000004",
    "1001-00000005",
)
AUTH = shoplazza_headers()
BASE = "/shoplazza/demo/openapi/2022-01/orders"


def make_client(config: SandboxConfig | None = None, clock: FakeClock | None = None) -> TestClient:
    return TestClient(create_app(state=SandboxState(config, clock=clock or FakeClock())))


@pytest.fixture
def client() -> TestClient:
    return make_client()


def get(client: TestClient, order_id: str) -> Any:
    response = client.get(f"{BASE}/{order_id}", headers=AUTH)
    assert response.status_code == 200
    return response.json()["order"]


def operations(client: TestClient) -> list[str]:
    logged = client.get("/_admin/mutations", params={"provider": "shoplazza"}).json()["mutations"]
    return [m["operation"] for m in logged]


def test_get_order_in_any_store(client):
    response = client.get(f"/shoplazza/another-store/openapi/2022-01/orders/{PLACED}", headers=AUTH)

    assert response.status_code == 200
    order = response.json()["order"]
    assert (order["id"], order["status"], order["financial_status"]) == (PLACED, "placed", "paid")
    assert order["total_refund_price"] == "0.00"
    assert response.headers["x-shoplazza-shop-api-call-limit"] == "1/40"


@pytest.mark.parametrize("headers", [{}, shoplazza_headers("bad"), {"Authorization": "Bearer x"}])
def test_bad_token_is_401(client, headers):
    response = client.get(f"{BASE}/{PLACED}", headers=headers)

    assert response.status_code == 401
    assert "errors" in response.json()


def test_unknown_order_and_other_versions_are_404(client):
    response = client.get(f"{BASE}/1001-99999999", headers=AUTH)

    assert response.json() == {"errors": ["Unable to find resource"]}
    assert response.status_code == 404
    other = client.get(f"/shoplazza/demo/openapi/2026-01/orders/{PLACED}", headers=AUTH)
    assert other.status_code == 404


def test_body_without_json_content_type_is_400(client):
    headers = AUTH | {"Content-Type": "text/plain"}

    response = client.post(f"{BASE}/{PLACED}/cancel", headers=headers, content=b'{"reason": "x"}')

    assert response.status_code == 400
    assert get(client, PLACED)["status"] == "placed"


def test_cancel_keeps_the_money(client):
    response = client.post(
        f"{BASE}/{PLACED}/cancel", headers=AUTH, json={"reason": "customer asked"}
    )

    order = response.json()["order"]
    assert (order["status"], order["cancel_reason"]) == ("cancelled", "customer asked")
    assert order["financial_status"] == "paid"
    assert order["canceled_at"].endswith("Z")
    assert operations(client) == ["cancel"]


def test_cancel_without_body_works_for_opened_orders(client):
    response = client.post(f"{BASE}/{OPENED}/cancel", headers=AUTH)

    assert response.json()["order"]["status"] == "cancelled"


@pytest.mark.parametrize("order_id", [FINISHED, CANCELLED])
def test_cancel_in_the_wrong_state_is_406(client, order_id):
    response = client.post(f"{BASE}/{order_id}/cancel", headers=AUTH, json={})

    assert response.status_code == 406
    assert response.json()["errors"]
    assert operations(client) == []


def test_update_changes_note_tags_and_merges_the_address(client):
    body = {"note": "gift", "tags": "vip,rush", "shipping_address": {"city": "Portland"}, "x": 1}

    response = client.put(f"{BASE}/{PLACED}", headers=AUTH, json=body)

    order = response.json()["order"]
    assert (order["note"], order["tags"]) == ("gift", "vip,rush")
    assert order["shipping_address"]["city"] == "Portland"
    assert order["shipping_address"]["zip"] == "98101"
    assert operations(client) == ["update"]


@pytest.mark.parametrize(
    ("order_id", "body", "status"),
    [
        (PLACED, {"note": 5}, 422),
        (PLACED, {"shipping_address": {"planet": "Mars"}}, 422),
        (PLACED, {"buyer_accepts_marketing": "yes"}, 422),
        (CANCELLED, {"note": "late"}, 406),
    ],
)
def test_update_refusals(client, order_id, body, status):
    assert client.put(f"{BASE}/{order_id}", headers=AUTH, json=body).status_code == status
    assert operations(client) == []


def test_full_refund_refunds_everything_once(client):
    response = client.post(f"{BASE}/{PLACED}/refund", headers=AUTH)

    record = response.json()
    assert (record["status"], record["all_refunded"]) == ("finished", True)
    assert record["refunds"]["refund_price"] == get(client, PLACED)["total_price"]
    order = get(client, PLACED)
    assert (order["financial_status"], order["total_refund_price"]) == (
        "refunded",
        order["total_price"],
    )
    assert client.post(f"{BASE}/{PLACED}/refund", headers=AUTH).status_code == 406
    assert operations(client) == ["refund"]


def test_partial_refunds_add_up(client):
    line = get(client, PLACED)["line_items"][0]
    body = {"is_return": False, "price": "10.00", "line_items": [{"id": line["id"], "quantity": 1}]}

    first = client.post(f"{BASE}/{PLACED}/partial_refund", headers=AUTH, json=body)
    client.post(f"{BASE}/{PLACED}/partial_refund", headers=AUTH, json={"price": "2.5"})

    assert first.json()["refunds"]["refund_line_items"] == [
        {"line_item_id": line["id"], "quantity": 1}
    ]
    order = get(client, PLACED)
    assert (order["financial_status"], order["total_refund_price"]) == (
        "partially_refunded",
        "12.50",
    )
    listed = client.get(f"{BASE}/{PLACED}/refund", headers=AUTH).json()
    assert [r["refunds"]["refund_price"] for r in listed["records"]] == ["10.00", "2.50"]
    assert all(r["created_at"] for r in listed["records"])
    assert listed["order_financial_status"] == "partially_refunded"


@pytest.mark.parametrize(
    "body",
    [
        {"price": 10},
        {"price": "abc"},
        {"price": "0"},
        {"price": "99999.00"},
        {"price": "1.00", "line_items": [{"id": "nope", "quantity": 1}]},
        {"price": "1.00", "line_items": "all"},
    ],
)
def test_partial_refund_validation_is_422(client, body):
    assert (
        client.post(f"{BASE}/{PLACED}/partial_refund", headers=AUTH, json=body).status_code == 422
    )


def test_refund_needs_a_paid_order_but_not_an_open_one(client):
    assert client.post(f"{BASE}/{OPENED}/refund", headers=AUTH).status_code == 406
    assert client.post(f"{BASE}/{CANCELLED}/refund", headers=AUTH).status_code == 200


def test_leaky_bucket_answers_429_with_retry_after():
    clock = FakeClock()
    client = make_client(SandboxConfig(shoplazza_bucket_size=3), clock)
    for _ in range(3):
        assert client.get(f"{BASE}/{PLACED}", headers=AUTH).status_code == 200

    limited = client.get(f"{BASE}/{PLACED}", headers=AUTH)
    other_store = client.get(f"/shoplazza/other/openapi/2022-01/orders/{PLACED}", headers=AUTH)
    clock.advance(0.5)  # one drop leaks at 2/s
    after_wait = client.get(f"{BASE}/{PLACED}", headers=AUTH)

    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "1"
    assert limited.headers["x-shoplazza-shop-api-call-limit"] == "3/3"
    assert other_store.status_code == 200
    assert after_wait.status_code == 200


def test_bucket_size_can_change_at_run_time(client):
    client.post("/_admin/settings", json={"shoplazza_bucket_size": 1})

    statuses = [client.get(f"{BASE}/{PLACED}", headers=AUTH).status_code for _ in range(2)]

    assert statuses == [200, 429]
