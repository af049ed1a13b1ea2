"""FastPOD bodies: the order out of a reply, and the whole order its ``PUT`` replaces."""

from __future__ import annotations

from typing import Any

ADDRESS_FIELDS = (
    "name",
    "company",
    "email",
    "phone",
    "street1",
    "street2",
    "city",
    "state",
    "country",
    "zip",
)
LINE_ITEM_FIELDS = ("item_id", "sku", "name", "quantity", "print_areas", "preview_areas")


def order_of(body: dict[str, Any]) -> dict[str, Any] | None:
    """The order in a reply: the body itself (``GET``) or its ``data`` (``{status, data}``)."""
    if isinstance(body.get("order_status"), str):
        return body
    data = body.get("data")
    if isinstance(data, dict) and isinstance(data.get("order_status"), str):
        return data
    return None


def rush_production(order: dict[str, Any]) -> bool:
    """``rush_production``, or the older ``boost_production`` the examples still show."""
    for key in ("rush_production", "boost_production"):
        if isinstance(order.get(key), bool):
            return bool(order[key])
    return False


def update_body(order: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """The whole order for ``PUT /v1/orders/{id}``, the patch merged in.

    ``order_status`` is sent unchanged; ``address`` merges field by field; ``line_items``
    replaces the list. Only the documented request fields are sent.
    """
    items = changes["line_items"] if "line_items" in changes else order.get("line_items")
    current = order.get("address")
    address: dict[str, Any] = current if isinstance(current, dict) else {}
    return {
        "reference_id": order.get("reference_id"),
        "order_status": order.get("order_status"),
        "shipping_method": shipping_method(
            changes.get("shipping_method", order.get("shipping_method"))
        ),
        "rush_production": changes.get("rush_production", rush_production(order)),
        "gift_message": changes.get("gift_message", order.get("gift_message")),
        "line_items": [line_item(item) for item in items or [] if isinstance(item, dict)],
        "address": {
            **{field: address.get(field) for field in ADDRESS_FIELDS},
            **changes.get("address", {}),
        },
    }


def line_item(item: dict[str, Any]) -> dict[str, Any]:
    """A line item as the ``PUT`` takes it (read-only fields like prices dropped)."""
    return {field: item[field] for field in LINE_ITEM_FIELDS if item.get(field) is not None}


def shipping_method(value: object) -> object:
    """The shipping method as the integer the ``PUT`` wants (reads return ``"3"``)."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    return value
