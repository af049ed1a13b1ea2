"""Every adapter sends the documented request and reads the recorded reply into a receipt."""

from __future__ import annotations

import json

import pytest

from providers import PROVIDERS, OrderNotFound
from schemas import OrderSnapshot
from tests.contract.cases import CASES, KEY, payload
from tests.contract.conftest import reply, sent_json

KINDS = ["cancel", "update", "refund"]


def run(provider, kind, command):
    return getattr(provider, kind)(command, idempotency_key=KEY)


def test_find_reads_the_order(case, harness):
    h = harness(case.find_calls)

    order = h.provider.find(case.order_id)

    assert isinstance(order, OrderSnapshot)
    assert (order.order_id, order.status) == (case.order_id, case.find_status)
    assert [(r.method, r.url.path) for r in h.server.requests] == [
        (c.method, c.path) for c in case.find_calls
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_success_sends_the_documented_request(case, harness, kind):
    # Given the provider answers every call of the operation with its recorded payload
    operation = case.operations[kind]
    h = harness(operation.calls)

    # When the command runs
    receipt = run(h.provider, kind, operation.command)

    # Then exactly the documented calls were made, the mutation last, with the right body
    assert [(r.method, r.url.path) for r in h.server.requests] == [
        (c.method, c.path) for c in operation.calls
    ]
    sent = h.server.requests[-1]
    body_file = operation.mutation.sent
    assert sent_json(sent) == (None if body_file is None else payload(case.name, body_file))
    assert sent.headers["Idempotency-Key"] == KEY
    assert receipt == operation.receipt


@pytest.mark.parametrize("kind", KINDS)
def test_every_request_carries_the_auth_and_only_mutations_a_key(case, harness, kind):
    operation = case.operations[kind]
    h = harness(operation.calls)

    run(h.provider, kind, operation.command)

    header, value = case.auth
    assert all(r.headers[header] == value for r in h.server.requests)
    assert all(r.headers["Accept"] == "application/json" for r in h.server.requests)
    reads = [r for r in h.server.requests if r.method == "GET"]
    assert all("Idempotency-Key" not in r.headers for r in reads)


@pytest.mark.parametrize("kind", KINDS)
def test_a_reply_with_a_wrong_content_type_still_decodes(case, harness, kind):
    operation = case.operations[kind]
    mutation = operation.mutation
    body = json.dumps(payload(case.name, mutation.reply)).encode()
    text_reply = reply(200, content=body, headers={"Content-Type": "text/html; charset=utf-8"})
    h = harness(operation.calls, {(mutation.method, mutation.path): text_reply})

    assert run(h.provider, kind, operation.command) == operation.receipt


def test_order_ids_are_escaped_into_one_path_segment(case, harness):
    h = harness()
    h.server.fallback = reply(404, {"message": "Order not found"})

    with pytest.raises(OrderNotFound):
        h.provider.find("A1/../admin")

    assert h.server.requests[0].url.raw_path.decode().endswith("/A1%2F..%2Fadmin")


def test_every_registered_provider_has_a_contract_case():
    assert sorted(CASES) == sorted(PROVIDERS)
