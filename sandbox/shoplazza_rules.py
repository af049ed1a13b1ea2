"""Shoplazza business rules: money strings, refund eligibility, refund records, order updates.

A refund needs ``financial_status`` paid or partially_refunded and money left to refund (else
406); cancelled orders can still be refunded (cancel does not refund). ``total_refund_price``
grows at once; a ``finished`` record makes ``financial_status`` partially_refunded or refunded,
a ``pending`` one (the ``shoplazza_refund_status`` dialect) makes it refunding.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")
REFUNDABLE = frozenset({"paid", "partially_refunded"})
CANCELLABLE = frozenset({"opened", "placed"})
UPDATABLE = frozenset({"opened", "placed", "finished"})
ADDRESS_FIELDS = frozenset(
    {
        *("first_name", "last_name", "email", "phone", "phone_area_code", "company"),
        *("country", "country_code", "province", "province_code", "area", "city", "zip"),
        *("address1", "address2", "latitude", "longitude"),
    }
)


class RuleError(Exception):
    """A refusal with the HTTP status Shoplazza answers it with (406, 422)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def money(value: Decimal) -> str:
    """Shoplazza's decimal-string money (``"81.00"``)."""
    return str(value.quantize(CENT))


def refundable(order: dict[str, Any]) -> Decimal:
    """Money still refundable on ``order``."""
    return Decimal(order["total_price"]) - Decimal(order["total_refund_price"])


def check_refundable(order: dict[str, Any]) -> None:
    """Raises RuleError(406) unless the order is eligible for after-sales."""
    if order["financial_status"] not in REFUNDABLE or refundable(order) <= 0:
        raise RuleError(406, f"Order is not eligible for refund ({order['financial_status']})")


def parse_partial(
    order: dict[str, Any], body: dict[str, Any]
) -> tuple[Decimal, list[dict[str, Any]]]:
    """Validate a partial_refund body; return the price and the refunded line items.

    Raises:
        RuleError: 422 for bad values, 406 when the order cannot be refunded.
    """
    check_refundable(order)
    price_text = body.get("price")
    if not isinstance(price_text, str):
        raise RuleError(422, "price is required and must be a decimal string")
    try:
        price = Decimal(price_text)
    except InvalidOperation as exc:
        raise RuleError(422, f"price {price_text!r} is not a decimal") from exc
    if not price.is_finite() or price <= 0 or price > refundable(order):
        raise RuleError(422, f"price must be above 0 and at most {money(refundable(order))}")
    if "is_return" in body and not isinstance(body["is_return"], bool):
        raise RuleError(422, "is_return must be a boolean")
    return price, _line_items(order, body.get("line_items", []))


def _line_items(order: dict[str, Any], lines: Any) -> list[dict[str, Any]]:
    if not isinstance(lines, list):
        raise RuleError(422, "line_items must be a list")
    quantities = {line["id"]: line["quantity"] for line in order["line_items"]}
    result = []
    for line in lines:
        if not isinstance(line, dict) or line.get("id") not in quantities:
            raise RuleError(422, f"unknown line item {line!r}")
        quantity = line.get("quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool):
            raise RuleError(422, "line_items quantity must be an integer")
        if not 1 <= quantity <= quantities[line["id"]]:
            raise RuleError(422, f"quantity of line item {line['id']} is out of range")
        result.append({"line_item_id": line["id"], "quantity": quantity})
    return result


def apply_refund(
    order: dict[str, Any], price: Decimal, lines: list[dict[str, Any]], at: str, status: str
) -> dict[str, Any]:
    """Record a refund of ``price`` in ``status`` on ``order``; return the refund-order object."""
    total = Decimal(order["total_refund_price"]) + price
    order["total_refund_price"] = money(total)
    full = total >= Decimal(order["total_price"])
    order["financial_status"] = "refunded" if full else "partially_refunded"
    if status == "pending":
        order["financial_status"] = "refunding"
    order["refund_status"] = order["financial_status"]
    order["updated_at"] = at
    k = len(order["refunds"]) + 1
    record = {
        "id": f"{order['id']}-R{k}",
        "status": status,
        "number": f"{order['number']}-S{k}",
        "created_at": at,
        "note": "",
        "refund_fail_reason": "",
        "all_refunded": full,
        "refund_status": status,
        "refunds": {
            "id": f"{order['id']}-RF{k}",
            "order_id": order["id"],
            "note": "",
            "refund_price": money(price),
            "currency": order["currency"],
            "created_at": at,
            "updated_at": at,
            "refund_line_items": lines,
        },
    }
    order["refunds"].append(record)
    return record | {"order": summary(order)}


def listing(order: dict[str, Any], shape: str) -> Any:
    """The body of ``GET .../refund`` in the ``shoplazza_refund_list`` dialect's ``shape``."""
    if shape == "records":
        records: list[Any] = [_flat(r) for r in order["refunds"]]
    else:
        records = [r | {"order": summary(order)} for r in order["refunds"]]
    if shape == "bare_list":
        return records
    envelope = {"order_financial_status": order["financial_status"], "records": records}
    return envelope | {"order_status": order["status"]}


def _flat(record: dict[str, Any]) -> dict[str, Any]:
    """A 2025-06-style flat refund record."""
    money_part = record["refunds"]
    return {
        "id": record["id"],
        "status": record["status"],
        "refund_total": money_part["refund_price"],
        "currency": money_part["currency"],
        "created_at": record["created_at"],
        "note": record["note"],
    }


def summary(order: dict[str, Any]) -> dict[str, Any]:
    """The order fields a refund-order object repeats."""
    keys = ("id", "number", "status", "financial_status", "total_price", "total_refund_price")
    return {key: order[key] for key in keys}


def update_fields(body: dict[str, Any]) -> dict[str, Any]:
    """The 2022-01 update fields of ``body`` (unknown fields are ignored, as the API does).

    Raises:
        RuleError: 422 when a known field has the wrong type.
    """
    changes: dict[str, Any] = {}
    for key in ("note", "tags"):
        if key in body:
            if not isinstance(body[key], str):
                raise RuleError(422, f"{key} must be a string")
            changes[key] = body[key]
    if "buyer_accepts_marketing" in body:
        if not isinstance(body["buyer_accepts_marketing"], bool):
            raise RuleError(422, "buyer_accepts_marketing must be a boolean")
        changes["buyer_accepts_marketing"] = body["buyer_accepts_marketing"]
    if "shipping_address" in body:
        address = body["shipping_address"]
        if not isinstance(address, dict) or not set(address) <= ADDRESS_FIELDS:
            raise RuleError(422, "shipping_address must be an object of known address fields")
        changes["shipping_address"] = address
    return changes
