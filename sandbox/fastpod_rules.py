"""FastPOD business rules: editable states and Laravel-style validation of a full-order PUT.

An update replaces reference_id, order_status, shipping_method, rush_production (alias
``boost_production``), gift_message, line_items and address, and re-prices the order at the
sandbox's flat unit price; moving to ``new_order`` marks it paid (FastPOD charges then).
"""

from __future__ import annotations

from typing import Any

from sandbox.orders import fastpod_line

EDITABLE = frozenset({"draft", "new_order", "on_hold"})
LINE_REQUIRED = ("item_id", "sku", "name", "quantity", "print_areas")
ADDRESS_REQUIRED = ("name", "street1", "city", "country", "zip")
Errors = dict[str, list[str]]


def laravel_message(errors: Errors) -> str:
    """Laravel's summary: the first message plus ``(and N more errors)``."""
    messages = [m for field in errors.values() for m in field]
    more = len(messages) - 1
    suffix = f" (and {more} more error{'s' if more > 1 else ''})" if more else ""
    return messages[0] + suffix


def _required(field: str) -> str:
    return f"The {field.replace('_', ' ').replace('.', ' ')} field is required."


def _scalar_errors(body: dict[str, Any], errors: Errors) -> None:
    if not isinstance(body.get("reference_id"), str) or not body["reference_id"]:
        errors["reference_id"] = [_required("reference_id")]
    if body.get("order_status") not in EDITABLE:
        errors["order_status"] = ["The selected order status is invalid."]
    method = body.get("shipping_method")
    if str(method) not in {"1", "2", "3", "4"}:
        errors["shipping_method"] = ["The selected shipping method is invalid."]
    if not isinstance(body.get("rush_production", body.get("boost_production")), bool):
        errors["rush_production"] = ["The rush production field must be true or false."]
    gift = body.get("gift_message")
    if gift is not None and not isinstance(gift, str):
        errors["gift_message"] = ["The gift message must be a string."]


def _nested_errors(body: dict[str, Any], errors: Errors) -> None:
    lines = body.get("line_items")
    if not isinstance(lines, list) or not lines:
        errors["line_items"] = [_required("line_items")]
    else:
        for index, raw in enumerate(lines):
            line = raw if isinstance(raw, dict) else {}
            for key in LINE_REQUIRED:
                if key not in line:
                    errors[f"line_items.{index}.{key}"] = [_required(f"line_items.{index}.{key}")]
            quantity = line.get("quantity", 1)
            if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
                errors[f"line_items.{index}.quantity"] = ["The quantity must be at least 1."]
    address = body.get("address")
    if not isinstance(address, dict):
        errors["address"] = [_required("address")]
        return
    for key in ADDRESS_REQUIRED:
        if not address.get(key):
            errors[f"address.{key}"] = [_required(f"address.{key}")]


def update_errors(body: dict[str, Any]) -> Errors:
    """Validation errors of a full-order PUT body, keyed by field (empty when valid)."""
    errors: Errors = {}
    _scalar_errors(body, errors)
    _nested_errors(body, errors)
    return errors


def apply_update(order: dict[str, Any], body: dict[str, Any], at: str) -> None:
    """Replace the order's editable content with ``body`` and re-price it."""
    lines = [
        fastpod_line(index, str(line["item_id"]), str(line["sku"]), line["quantity"])
        | {"name": line["name"], "print_areas": line["print_areas"]}
        | {"preview_areas": line.get("preview_areas", {})}
        for index, line in enumerate(body["line_items"], start=1)
    ]
    item_total = round(sum(line["price"] for line in lines), 2)
    order.update(
        reference_id=body["reference_id"],
        shipping_method=str(body["shipping_method"]),
        rush_production=body.get("rush_production", body.get("boost_production")),
        gift_message=body.get("gift_message"),
        line_items=lines,
        address=body["address"],
        item_total=item_total,
        quantity_total=sum(line["quantity"] for line in lines),
        updated_at=at,
    )
    extras = order["shipping_total"] + order["surcharge_total"] - order["discount_total"]
    order["order_total"] = round(item_total + extras, 2)
    set_status(order, body["order_status"], at)


def set_status(order: dict[str, Any], status: str, at: str) -> None:
    """Move the order to ``status``; entering ``new_order`` charges it."""
    order["order_status"] = status
    order["updated_at"] = at
    if status == "new_order":
        order["payment_status"] = "paid"
