"""FastPOD's quirks: ``status: false`` inside a 200, refund as cancel, the old field names."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest

from providers import NotAllowed, Unprocessable, Unsupported
from schemas import RefundOrder
from tests.contract.cases import CASES, KEY, Case, payload
from tests.contract.conftest import reply, route, sent_json


@pytest.fixture
def case() -> Case:
    return CASES["fastpod"]


def fastpod_order(**changes):
    order = copy.deepcopy(payload("fastpod", "order.json"))
    order.update(changes)
    return order


def test_fastpod_status_false_is_a_refusal(case, harness):
    call = case.operations["cancel"].mutation
    h = harness(overrides={route(call): reply(200, payload("fastpod", "status_false.json"))})

    with pytest.raises(NotAllowed) as info:
        h.provider.cancel(case.operations["cancel"].command, idempotency_key=KEY)

    assert info.value.raw_message == "Order cannot be cancelled in its current status."


def test_fastpod_find_accepts_an_envelope(case, harness):
    find = case.find_calls[0]
    wrapped = {"status": True, "message": "OK", "data": fastpod_order(order_status="on_hold")}
    h = harness(overrides={route(find): reply(200, wrapped)})

    assert h.provider.find(case.order_id).status == "on_hold"


@pytest.mark.parametrize("amount", [None, Decimal("38.40")], ids=["no-amount", "order-total"])
def test_fastpod_full_refund_of_an_unproduced_order_cancels_it(case, harness, amount):
    operation = case.operations["refund"]
    h = harness(operation.calls)
    command = RefundOrder(
        provider="fastpod", account="pod-main", order_id=case.order_id, amount=amount
    )

    receipt = h.provider.refund(command, idempotency_key=KEY)

    assert receipt.operation == "cancel_for_refund"
    assert h.server.requests[-1].url.path.endswith("/cancel")


@pytest.mark.parametrize(
    ("status", "amount", "error", "words"),
    [
        ("new_order", Decimal("10"), Unsupported, "partial refunds are not available at FastPOD"),
        ("in_production", None, Unsupported, "needs FastPOD support"),
        ("shipped", None, Unsupported, "needs FastPOD support"),
        ("cancelled", None, Unprocessable, "order is cancelled"),
    ],
    ids=["partial", "in-production", "shipped", "already-cancelled"],
)
def test_fastpod_refund_that_cannot_be_a_cancel(case, harness, status, amount, error, words):
    find = case.find_calls[0]
    h = harness(overrides={route(find): reply(200, fastpod_order(order_status=status))})
    command = RefundOrder(
        provider="fastpod", account="pod-main", order_id=case.order_id, amount=amount
    )

    with pytest.raises(error, match=words):
        h.provider.refund(command, idempotency_key=KEY)

    assert [r.method for r in h.server.requests] == ["GET"]


def test_fastpod_update_prefers_rush_production_over_the_old_name(case, harness):
    operation = case.operations["update"]
    find, put = operation.calls
    order = fastpod_order(rush_production=False)
    h = harness([put], {route(find): reply(200, order)})

    h.provider.update(operation.command, idempotency_key=KEY)

    assert sent_json(h.server.requests[-1])["rush_production"] is False
