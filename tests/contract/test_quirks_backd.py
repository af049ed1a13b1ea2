"""Backd's quirks: ``error: true`` inside a 200, the full-snapshot update, refund reads."""

from __future__ import annotations

import pytest

from providers import NotAllowed, OrderNotFound, ProviderUnavailable
from schemas import RefundOrder, UpdateOrder
from tests.contract.cases import CASES, KEY, Case, payload
from tests.contract.conftest import assert_no_secret, reply, route, sent_json


@pytest.fixture
def case() -> Case:
    return CASES["backd"]


@pytest.mark.parametrize(
    ("message", "error"),
    [("Order is not in order_placed status", NotAllowed), ("Order not found", OrderNotFound)],
)
def test_backd_error_true_on_200_is_a_refusal(case, harness, message, error):
    operation = case.operations["cancel"]
    refused = {"data": None, "message": message, "status": {"code": 200}, "error": True}
    h = harness(overrides={route(operation.mutation): reply(200, refused)})

    with pytest.raises(error) as info:
        h.provider.cancel(operation.command, idempotency_key=KEY)

    assert (info.value.status_code, info.value.raw_message) == (200, message)
    assert_no_secret(info.value, case)


def test_backd_full_refund_reads_merchant_order_id_and_order_total(case, harness):
    operation = case.operations["refund"]
    h = harness(operation.calls)
    command = RefundOrder(provider="backd", account="acme", order_id=case.order_id)

    receipt = h.provider.refund(command, idempotency_key=KEY)

    assert sent_json(h.server.requests[-1]) == {
        "backd_order_id": case.order_id,
        "merchant_order_id": "JKLMO4321",
        "refund_amount": 9150,
    }
    assert receipt.operation == "refund"


def test_backd_refund_without_merchant_order_id_sends_nothing(case, harness):
    operation = case.operations["refund"]
    found = payload("backd", "find_order_confirmed.json")
    del found["data"]["merchant_order_id"]
    h = harness(overrides={route(operation.calls[0]): reply(200, found)})

    with pytest.raises(ProviderUnavailable) as info:
        h.provider.refund(operation.command, idempotency_key=KEY)

    assert info.value.ambiguous is False
    assert [r.method for r in h.server.requests] == ["GET"]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"discount_amount": "100.10"}, {"discount_amount": 100.1, "order_total": 9049.9}),
        (
            {"merchant_order_status": "packed"},
            {"merchant_order_status": "packed", "order_total": 9150},
        ),
        (
            {"items": [{"display_name": "Lamp", "sku": "LAMP-2", "unit_price": "19.99", "qty": 3}]},
            {"items": [{"display_name": "Lamp", "sku": "LAMP-2", "unit_price": 19.99, "qty": 3}]},
        ),
        (
            {"billing": {"name": {"last": "Receivable"}, "address": {"line2": "Suite 9"}}},
            {
                "billing": {
                    "name": {"first": "Ann", "last": "Receivable"},
                    "company_name": "Big Business",
                    "address": {
                        "line1": "500 Congress Ave",
                        "line2": "Suite 9",
                        "city": "Austin",
                        "state": "TX",
                        "zipcode": "78701",
                        "country": "US",
                    },
                    "phone_number": "+15125550199",
                    "email": "ap@bigbusiness.example",
                }
            },
        ),
    ],
    ids=["amount-recomputes-total", "no-amount-keeps-total", "items-replace", "contact-merges"],
)
def test_backd_update_sends_the_merged_full_snapshot(case, harness, changes, expected):
    operation = case.operations["update"]
    h = harness(operation.calls)
    command = UpdateOrder(provider="backd", account="acme", order_id=case.order_id, changes=changes)

    h.provider.update(command, idempotency_key=KEY)

    sent = sent_json(h.server.requests[-1])
    assert {key: sent[key] for key in expected} == expected
    full = {"backd_order_id", "merchant_order_id", "order_total", "shipping", "billing", "items"}
    assert full <= sent.keys()


def test_backd_update_refuses_to_guess_an_unreadable_amount(case, harness):
    operation = case.operations["update"]
    found = payload("backd", "find_order.json")
    found["data"]["tax_amount"] = "n/a"
    h = harness(overrides={route(operation.calls[0]): reply(200, found)})

    with pytest.raises(ProviderUnavailable):
        h.provider.update(operation.command, idempotency_key=KEY)

    assert [r.method for r in h.server.requests] == ["GET"]
