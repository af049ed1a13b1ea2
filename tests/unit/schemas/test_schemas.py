"""Command schemas: round trips for any valid command, clear errors for bad input."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given

from producer.validation import to_command
from providers.errors import InvalidSubmission
from schemas import COMMAND_ADAPTER, CommandEnvelope, content_digest, derived_key
from tests.factories import SUBMITTED_AT
from tests.strategies import commands


@given(commands())
def test_any_valid_command_round_trips_through_json(data):
    command = COMMAND_ADAPTER.validate_python(data)
    envelope = CommandEnvelope(command=command, idempotency_key="k", submitted_at=SUBMITTED_AT)
    again = CommandEnvelope.model_validate_json(envelope.model_dump_json())
    assert again == envelope
    assert content_digest(again.command) == content_digest(command)


def test_the_derived_key_depends_on_content_only():
    a = to_command(
        {"kind": "refund", "provider": "backd", "account": "a", "order_id": "o", "amount": "10.50"}
    )
    b = to_command(
        {
            "order_id": "o",
            "amount": Decimal("10.5"),
            "account": "a",
            "provider": "backd",
            "kind": "refund",
        }
    )
    c = to_command(
        {"kind": "refund", "provider": "backd", "account": "a", "order_id": "o", "amount": "10.51"}
    )
    assert derived_key(a) == derived_key(b) != derived_key(c)


GOOD = {"kind": "cancel", "provider": "backd", "account": "acme", "order_id": "BO-1"}


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"kind": "delete"}, "command", "does not match any of the expected tags"),
        ({"provider": "amazon"}, "provider", "Input should be"),
        ({"order_id": ""}, "order_id", "at least 1 character"),
        ({"order_id": "a b"}, "order_id", "should match pattern"),
        ({"account": None}, "account", "valid string"),
        ({"kind": "refund", "amount": "-1"}, "amount", "greater than 0"),
        ({"kind": "refund", "amount": "1.234"}, "amount", "2 decimal places"),
        ({"kind": "refund", "amount": "NaN"}, "amount", "finite number"),
        (
            {"kind": "refund", "line_items": [{"id": "L1", "quantity": 1}], "amount": "5"},
            "command",
            "only Shoplazza refunds by line item",
        ),
        ({"kind": "update", "changes": {}}, "changes", "name at least one field"),
        ({"kind": "update", "changes": {"note": "x"}}, "changes.note", "Extra inputs"),
        (
            {"kind": "update", "changes": {"tax_amount": "-2"}},
            "changes.tax_amount",
            "greater than or equal to 0",
        ),
        ({"color": "red"}, "color", "Extra inputs"),
    ],
)
def test_bad_input_is_refused_naming_the_field(change, field, reason):
    with pytest.raises(InvalidSubmission) as info:
        to_command({**GOOD, **change})
    assert any(f == field and reason in r for f, r in info.value.problems), info.value.problems
