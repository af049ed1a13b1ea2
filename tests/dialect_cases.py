"""The dialect matrix's cases, shared by the contract and integration suites."""

from __future__ import annotations

from typing import Any

# (provider, kind) -> (a state the command can run in, a state the docs rule it out in, fields)
SETUP: dict[tuple[str, str], tuple[str, str, dict[str, Any]]] = {
    ("backd", "cancel"): ("order_placed", "order_confirmed", {}),
    ("backd", "update"): (
        "order_placed",
        "order_confirmed",
        {"changes": {"shipping_amount": "60"}},
    ),
    ("backd", "refund"): ("order_confirmed", "order_placed", {"amount": "7.50"}),
    ("shoplazza", "cancel"): ("placed", "finished", {}),
    ("shoplazza", "update"): ("placed", "cancelled", {"changes": {"note": "gift"}}),
    ("shoplazza", "refund"): ("placed", "opened", {"amount": "5.00"}),
    ("fastpod", "cancel"): ("new_order", "shipped", {}),
    ("fastpod", "update"): ("draft", "in_production", {"changes": {"gift_message": "hi"}}),
    ("fastpod", "refund"): ("draft", "shipped", {}),
}
