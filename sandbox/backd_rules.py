"""Backd business rules: refund requests and their locking, and the update_order snapshot check.

Refund requests: a POST creates a ``draft`` request; a new POST while a draft is open turns it
``declined`` (or drops it: ``backd_replaced_refund``) and opens the new one; DELETE does the
same to the open draft. A draft locks at
17:00 America/Chicago (the same weekday before 17:00, the next weekday after it, Monday after
Friday 17:00 or the weekend); a locked request becomes ``approved``, can no longer be replaced or
withdrawn, and the order's status becomes ``refund`` (so no further refund is accepted).
Times in ``create_date`` and ``locked_at`` are written in the ``backd_time`` dialect.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from sandbox.common import is_number
from sandbox.dialects import CHICAGO, BackdTime, backd_time, parse_backd_time

LOCK_HOUR = 17
AMOUNT_FIELDS = ("order_total", "cart_amount", "tax_amount", "shipping_amount", "discount_amount")
CONTACT_FIELDS = ("shipping", "billing")
TEXT_FIELDS = ("merchant_order_id", "merchant_order_status")
ITEM_REQUIRED = ("display_name", "sku", "unit_price", "qty")


def lock_time(created: datetime) -> datetime:
    """When a refund request submitted at ``created`` locks (aware, America/Chicago)."""
    local = created.astimezone(CHICAGO)
    day = local.date()
    if local.weekday() < 5 and local.hour < LOCK_HOUR:
        target = day
    elif local.weekday() < 4:
        target = day + timedelta(days=1)
    else:
        target = day + timedelta(days=7 - local.weekday())
    return datetime.combine(target, time(LOCK_HOUR), CHICAGO)


def settle(order: dict[str, Any], now: datetime, style: BackdTime) -> None:
    """Lock every draft past its lock time; a locked refund moves the order to ``refund``."""
    for refund in order["refunds"]:
        if refund["status"] == "draft" and parse_backd_time(refund["locked_at"], style) <= now:
            refund["status"] = "approved"
            order["status"] = "refund"


def open_request(order: dict[str, Any]) -> dict[str, Any] | None:
    """The active, unlocked refund request (call ``settle`` first)."""
    return next((r for r in order["refunds"] if r["status"] == "draft"), None)


def withdraw(order: dict[str, Any], current: dict[str, Any], replaced: str) -> None:
    """Decline an open request, or drop it from ``refunds[]`` (the ``removed`` dialect)."""
    if replaced == "removed":
        order["refunds"].remove(current)
    else:
        current["status"] = "declined"


def place_refund(
    order: dict[str, Any], amount: float, now: datetime, style: BackdTime, replaced: str
) -> None:
    """Open a refund request for ``amount``, withdrawing the open one it replaces."""
    current = open_request(order)
    if current is not None:
        withdraw(order, current, replaced)
    order["refunds"].append(
        {
            "amount": amount,
            "create_date": backd_time(now, style),
            "status": "draft",
            "locked_at": backd_time(lock_time(now), style),
        }
    )


def _contact_error(name: str, contact: Any) -> str | None:
    if not isinstance(contact, dict):
        return f"{name} must be an object"
    for key in ("name", "address"):
        if not isinstance(contact.get(key), dict):
            return f"{name}.{key} is required"
    return None


def _items_error(items: Any) -> str | None:
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        return "items must be a list of objects"
    for index, item in enumerate(items):
        missing = [f for f in ITEM_REQUIRED if f not in item]
        if missing:
            return f"items[{index}].{missing[0]} is required"
        if not is_number(item["unit_price"]) or not is_number(item["qty"]):
            return f"items[{index}] unit_price and qty must be numbers"
    return None


def update_error(body: dict[str, Any]) -> str | None:
    """Why an update_order body is malformed (400), or None when it is well formed."""
    for key in ("backd_order_id", "merchant_order_id"):
        if not isinstance(body.get(key), str) or not body[key]:
            return f"{key} is required"
    for key in AMOUNT_FIELDS:
        if key in body and not is_number(body[key]):
            return f"{key} must be a number"
    for key in TEXT_FIELDS:
        if key in body and not isinstance(body[key], str):
            return f"{key} must be a string"
    errors = [_contact_error(key, body[key]) for key in CONTACT_FIELDS if key in body]
    if "items" in body:
        errors.append(_items_error(body["items"]))
    return next((e for e in errors if e), None)


def merged(order: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """The order after an update_order body is laid over it (the snapshot overwrites)."""
    fields = (*AMOUNT_FIELDS, *CONTACT_FIELDS, *TEXT_FIELDS, "items")
    return order | {key: body[key] for key in fields if key in body}


def totals_error(order: dict[str, Any]) -> str | None:
    """None when ``order_total = cart + tax + shipping - discount`` (to the cent)."""
    cart, tax, ship, discount = (order[k] for k in AMOUNT_FIELDS[1:])
    if abs(order["order_total"] - (cart + tax + ship - discount)) > 0.005:
        return "order_total must equal cart_amount + tax_amount + shipping_amount - discount_amount"
    return None
