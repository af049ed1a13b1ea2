"""Sandbox dialects: every open detail of providers.md a client sees is an option."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.testclient import TestClient

from sandbox import DIALECTS, SandboxConfig, SandboxState, create_app
from sandbox.cli import build_parser, config_from_args
from sandbox.dialects import CHICAGO
from sandbox.testing import FakeClock, backd_headers, fastpod_headers, shoplazza_headers

PLACED, CONFIRMED = "BO-000001", "BO-000002"
SHOP = "/shoplazza/store1/openapi/2022-01/orders"
SHOP_PLACED, FASTPOD_SHIPPED = "1001-00000001", "F237-000006"


def make_client(**dialect: Any) -> tuple[TestClient, SandboxState]:
    state = SandboxState(SandboxConfig(**dialect), clock=FakeClock())
    return TestClient(create_app(state=state)), state


def backd_post(client: TestClient, path: str, **body: Any) -> Any:
    return client.post(f"/backd{path}", headers=backd_headers(), json=body)


@pytest.mark.parametrize("status", [200, 400, 409, 422])
def test_a_backd_refusal_comes_with_the_dialects_http_status_and_error_true(status):
    client, _ = make_client(backd_refusal_status=status)
    response = backd_post(client, "/cancel_order", backd_order_id=CONFIRMED)
    assert response.status_code == status
    assert response.json()["error"] is True
    assert response.json()["status"]["code"] == 422


@pytest.mark.parametrize("spelling", ["order_cancelled", "cancelled", "canceled"])
def test_a_backd_cancel_sets_the_dialects_spelling(spelling):
    client, _ = make_client(backd_cancelled=spelling)
    response = backd_post(client, "/cancel_order", backd_order_id=PLACED)
    assert response.json()["data"]["status"] == spelling
    assert client.get("/_admin/orders/backd/BO-000006").json()["status"] == spelling


def _refund_times(style: str) -> dict[str, Any]:
    client, state = make_client(backd_time=style)
    body = {"merchant_order_id": "MO-000002", "refund_amount": 100}
    response = backd_post(client, "/refund", backd_order_id=CONFIRMED, **body)
    entry = response.json()["data"]["refunds"][-1]
    return {"now": state.now(), **entry}


def test_backd_times_follow_the_dialect():
    chicago, utc, offset = (_refund_times(s) for s in ("chicago", "utc", "offset"))
    now = chicago["now"]
    assert chicago["create_date"] == now.astimezone(CHICAGO).strftime("%Y-%m-%d %H:%M:%S")
    assert utc["create_date"] == now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    stamped = datetime.fromisoformat(offset["create_date"])
    assert stamped.utcoffset() is not None
    assert stamped == now.replace(microsecond=0)
    assert datetime.fromisoformat(offset["locked_at"]).utcoffset() is not None


def _shoplazza_refund_list(**dialect: Any) -> Any:
    client, _ = make_client(**dialect)
    body = {"price": "5.00", "is_return": False, "line_items": []}
    headers = shoplazza_headers()
    client.post(f"{SHOP}/{SHOP_PLACED}/partial_refund", headers=headers, json=body)
    return client.get(f"{SHOP}/{SHOP_PLACED}/refund", headers=headers).json()


def test_shoplazza_refund_list_shapes_follow_the_dialect():
    nested = _shoplazza_refund_list(shoplazza_refund_list="refund_orders")
    flat = _shoplazza_refund_list(shoplazza_refund_list="records")
    bare = _shoplazza_refund_list(shoplazza_refund_list="bare_list")
    assert nested["records"][0]["refunds"]["refund_price"] == "5.00"
    assert flat["records"][0]["refund_total"] == "5.00"
    assert "refunds" not in flat["records"][0]
    assert isinstance(bare, list)
    assert bare[0]["refunds"]["refund_price"] == "5.00"


def test_a_pending_shoplazza_refund_record_leaves_the_order_refunding():
    listed = _shoplazza_refund_list(shoplazza_refund_status="pending")
    assert listed["records"][0]["status"] == "pending"
    assert listed["order_financial_status"] == "refunding"


@pytest.mark.parametrize(
    ("shape", "status", "body_keys"),
    [
        ("mixed", 422, {"status", "message", "errors"}),
        ("laravel", 422, {"message", "errors"}),
        ("status_false", 422, {"status", "message"}),
        ("ok_false", 200, {"status", "message"}),
    ],
)
def test_a_fastpod_refusal_has_the_dialects_shape(shape, status, body_keys):
    client, _ = make_client(fastpod_errors=shape)
    response = client.post(
        f"/fastpod/v1/orders/{FASTPOD_SHIPPED}/cancel", headers=fastpod_headers()
    )
    assert (response.status_code, set(response.json())) == (status, body_keys)
    unauthenticated = client.get(
        f"/fastpod/v1/orders/{FASTPOD_SHIPPED}", headers={"Accept": "application/json"}
    )
    assert (unauthenticated.status_code, unauthenticated.json()) == (
        401,
        {"message": "Unauthenticated."},
    )


def test_the_admin_api_changes_the_dialect_and_reset_puts_it_back():
    client, state = make_client(backd_cancelled="canceled")
    changed = client.post("/_admin/settings", json=DIALECTS["utc"]).json()
    assert {k: changed[k] for k in DIALECTS["utc"]} == DIALECTS["utc"]
    assert (
        backd_post(client, "/cancel_order", backd_order_id=PLACED).json()["data"]["status"]
        == "cancelled"
    )
    client.post("/_admin/reset", json={})
    assert state.config.backd_cancelled == "canceled"
    assert state.config.backd_refusal_status == 200


def test_named_dialects_use_every_value_of_every_option():
    fields = SandboxConfig.model_fields
    names = ("backd_refusal_status", "backd_time", "backd_cancelled", "backd_replaced_refund")
    for name in (*names, "shoplazza_state_refusal", "fastpod_errors", "shoplazza_refund_list"):
        allowed = set(fields[name].annotation.__args__)  # type: ignore[union-attr]
        used = {SandboxConfig(**d).model_dump()[name] for d in DIALECTS.values()}
        assert used == allowed, name


@pytest.mark.parametrize(("replaced", "left"), [("declined", 2), ("removed", 1)])
def test_a_replaced_backd_refund_request_is_declined_or_removed(replaced, left):
    client, _ = make_client(backd_replaced_refund=replaced)
    body = {"backd_order_id": CONFIRMED, "merchant_order_id": "MO-000002"}
    backd_post(client, "/refund", **body, refund_amount=100)
    refunds = backd_post(client, "/refund", **body, refund_amount=50).json()["data"]["refunds"]
    assert len(refunds) == left
    assert refunds[-1]["amount"] == 50


@pytest.mark.parametrize("status", [406, 400, 422])
def test_a_shoplazza_state_refusal_has_the_dialects_status(status):
    client, _ = make_client(shoplazza_state_refusal=status)
    finished = "1001-00000004"
    response = client.post(f"{SHOP}/{finished}/cancel", headers=shoplazza_headers())
    assert response.status_code == status
    assert "cannot be cancelled" in response.json()["errors"][0]


@pytest.mark.parametrize("sent", [True, False])
def test_a_shoplazza_429_carries_retry_after_per_the_dialect(sent):
    client, _ = make_client(shoplazza_retry_after=sent, shoplazza_bucket_size=1)
    url = f"{SHOP}/{SHOP_PLACED}"
    client.get(url, headers=shoplazza_headers())
    limited = client.get(url, headers=shoplazza_headers())
    assert limited.status_code == 429
    assert ("retry-after" in limited.headers) is sent


def test_the_command_line_sets_a_named_dialect_and_single_options():
    argv = ["--dialect", "offset", "--backd-time", "utc", "--shoplazza-retry-after", "false"]
    config = config_from_args(build_parser().parse_args(argv))
    assert (config.backd_refusal_status, config.backd_time) == (422, "utc")
    assert config.shoplazza_retry_after is False
