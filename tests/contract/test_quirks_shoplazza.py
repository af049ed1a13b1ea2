"""Shoplazza's quirks: refund records in ``find``, full vs partial refund bodies, error shapes."""

from __future__ import annotations

import pytest

from providers import InvalidCommand, build_client
from schemas import CancelOrder, RefundOrder
from tests.contract.cases import CASES, KEY, Case, payload
from tests.contract.conftest import reply, route, sent_json


@pytest.fixture
def case() -> Case:
    return CASES["shoplazza"]


def test_shoplazza_find_exposes_normalised_refund_records(case, harness):
    h = harness(case.find_calls)

    order = h.provider.find(case.order_id)

    assert order.raw["refund_records"] == [
        {
            "id": "rf-1",
            "status": "finished",
            "amount": "20.00",
            "created_at": "2026-04-17T09:00:00+08:00",
        }
    ]
    assert order.raw["financial_status"] == "paid"


def test_shoplazza_unreadable_refund_list_is_unknown_not_empty(case, harness):
    records = case.find_calls[1]
    h = harness(case.find_calls, {route(records): reply(404, {"errors": ["Record not found"]})})

    assert h.provider.find(case.order_id).raw["refund_records"] is None


def test_shoplazza_full_refund_posts_no_body(case, harness):
    path = f"/openapi/2022-01/orders/{case.order_id}/refund"
    h = harness(overrides={("POST", path): reply(200, payload("shoplazza", "refund.json"))})
    command = RefundOrder(provider="shoplazza", account="acme-store", order_id=case.order_id)

    receipt = h.provider.refund(command, idempotency_key=KEY)

    assert h.server.requests[-1].content == b""
    assert (receipt.operation, receipt.order_status) == ("refund", "placed")


def test_shoplazza_partial_refund_without_lines_sends_an_empty_list(case, harness):
    call = case.operations["refund"].mutation
    h = harness([call])
    command = RefundOrder(
        provider="shoplazza", account="acme-store", order_id=case.order_id, amount="12.5"
    )

    h.provider.refund(command, idempotency_key=KEY)

    assert sent_json(h.server.requests[-1]) == {
        "is_return": False,
        "price": "12.50",
        "line_items": [],
    }


def test_shoplazza_cancel_without_reason_sends_an_empty_object(case, harness):
    call = case.operations["cancel"].mutation
    h = harness([call])
    command = CancelOrder(provider="shoplazza", account="acme-store", order_id=case.order_id)

    h.provider.cancel(command, idempotency_key=KEY)

    assert sent_json(h.server.requests[-1]) == {}


@pytest.mark.parametrize(
    ("body", "message", "code"),
    [
        ({"error": "store is not active"}, "store is not active", None),
        ({"code": "InvalidParam", "message": "tags is invalid"}, "tags is invalid", "InvalidParam"),
        ("Unauthorized", "Unauthorized", None),
        ({"errors": {"tags": ["is too long"]}}, "tags: is too long", None),
    ],
    ids=["error", "code-message", "bare-string", "field-map"],
)
def test_shoplazza_error_shapes(case, harness, body, message, code):
    call = case.operations["update"].mutation
    h = harness(overrides={route(call): reply(400, body)})

    with pytest.raises(InvalidCommand) as info:
        h.provider.update(case.operations["update"].command, idempotency_key=KEY)

    assert (info.value.raw_message, info.value.provider_code) == (message, code)


def test_shoplazza_sends_its_token_only_as_access_token(case):
    with build_client(case.account) as client:
        assert "Authorization" not in client.headers
        assert client.headers["Content-Type"] == "application/json"
