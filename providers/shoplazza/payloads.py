"""Shoplazza 2022-01 bodies: the flat update body, the partial refund and the refund records."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from schemas import RefundOrder

# Where a refund record may carry its amount; the 2022-01 list shape is not documented, so
# the refund-order object's fields and the 2025-06 record's fields are all tried.
_AMOUNT_KEYS = ("refund_price", "refund_total", "price", "amount", "total_refund_price")
_LIST_KEYS = ("records", "refunds", "refund_orders", "refund_records", "data")


def update_body(changes: dict[str, Any]) -> dict[str, Any]:
    """The ``PUT /orders/{id}`` body: only the patched fields, ``tags`` comma-joined."""
    body = dict(changes)
    if isinstance(body.get("tags"), list):
        body["tags"] = ",".join(body["tags"])
    return body


def partial_refund_body(command: RefundOrder, amount: Decimal) -> dict[str, Any]:
    """The ``partial_refund`` body: the price as a decimal string, no return, line items."""
    lines = command.line_items or []
    return {
        "is_return": False,
        "price": f"{amount:.2f}",
        "line_items": [{"id": line.id, "quantity": line.quantity} for line in lines],
    }


def refund_records(body: object, depth: int = 0) -> list[dict[str, Any]]:
    """The refund records of ``GET /orders/{id}/refund``, normalised.

    Each record becomes ``{"id", "status", "amount", "created_at"}``: ``amount`` is a decimal
    string or ``None``. Accepts a list, ``{"records": [..]}`` (2025-06), ``{"refunds": ..}``,
    ``{"refund_orders": [..]}`` and ``{"data": {"records": [..]}}``.
    """
    if isinstance(body, list):
        return [_record(item) for item in body if isinstance(item, dict)]
    if not isinstance(body, dict) or depth > 1:
        return []
    for key in _LIST_KEYS:
        value = body.get(key)
        if isinstance(value, dict) and key != "data":
            value = [value]
        if isinstance(value, list | dict):
            return refund_records(value, depth + 1)
    return []


def _record(item: dict[str, Any]) -> dict[str, Any]:
    # A refund-order object nests the money part under "refunds"; a record has it flat.
    nested = item.get("refunds")
    inner: dict[str, Any] = nested if isinstance(nested, dict) else {}
    amount = next(
        (
            source[key]
            for source in (item, inner)
            for key in _AMOUNT_KEYS
            if source.get(key) is not None
        ),
        None,
    )
    return {
        "id": str(item.get("id") or inner.get("id") or ""),
        "status": str(item.get("status") or item.get("refund_status") or ""),
        "amount": None if amount is None else str(amount),
        "created_at": item.get("created_at") or inner.get("created_at"),
    }
