"""The complete order Backd's ``update_order`` wants: the current order with a patch merged in."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from providers.errors import ProviderUnavailable
from providers.http import decimal_of, json_number

AMOUNT_FIELDS = ("cart_amount", "tax_amount", "shipping_amount", "discount_amount")
NAME_FIELDS = ("first", "last")
ADDRESS_FIELDS = ("line1", "line2", "city", "state", "zipcode", "country")
CONTACT_FIELDS = ("company_name", "phone_number", "email")
ITEM_FIELDS = ("display_name", "sku", "qty")
ITEM_OPTIONAL_FIELDS = ("item_image_url", "item_url")


def update_body(order: dict[str, Any], changes: dict[str, Any], *, order_id: str) -> dict[str, Any]:
    """The ``update_order`` body: every total, both contacts and all items, patch applied.

    Both published renders of the endpoint are satisfied by a full snapshot (providers.md
    1.6), so the call is a full overwrite. When any amount changes, ``order_total`` is
    recomputed as ``cart + tax + shipping - discount``; otherwise Backd's own total is kept.

    Args:
        order: ``data`` of ``find_order``.
        changes: ``BackdPatch.changed()``: nested contacts merge field by field, ``items``
            replaces the list.
        order_id: The Backd order id, used when the order lacks one.
    """
    amounts = {field: _amount(changes.get(field, order.get(field))) for field in AMOUNT_FIELDS}
    total = _amount(order.get("order_total"))
    if any(field in changes for field in AMOUNT_FIELDS):
        total = (
            amounts["cart_amount"]
            + amounts["tax_amount"]
            + amounts["shipping_amount"]
            - amounts["discount_amount"]
        )
    items = changes["items"] if "items" in changes else order.get("items") or []
    return {
        "backd_order_id": order.get("backd_order_id") or order_id,
        "merchant_order_id": _text(order.get("merchant_order_id")),
        "merchant_order_status": _text(
            changes.get("merchant_order_status", order.get("merchant_order_status"))
        ),
        "order_total": json_number(total),
        **{field: json_number(amount) for field, amount in amounts.items()},
        "shipping": contact(order.get("shipping"), changes.get("shipping")),
        "billing": contact(order.get("billing"), changes.get("billing")),
        "items": [item(entry) for entry in items if isinstance(entry, dict)],
    }


def contact(current: object, patch: object) -> dict[str, Any]:
    """A full contact: the current one with the patch merged in field by field.

    Missing strings become ``""`` (``line2`` included), since one render marks them required.
    """
    have = _mapping(current)
    want = _mapping(patch)
    merged = {field: _text(want.get(field, have.get(field))) for field in CONTACT_FIELDS}
    return {
        "name": _merge(have.get("name"), want.get("name"), NAME_FIELDS),
        "company_name": merged["company_name"],
        "address": _merge(have.get("address"), want.get("address"), ADDRESS_FIELDS),
        "phone_number": merged["phone_number"],
        "email": merged["email"],
    }


def item(entry: dict[str, Any]) -> dict[str, Any]:
    """One item as ``update_order`` takes it: the price as a JSON number."""
    body: dict[str, Any] = {field: entry.get(field) for field in ITEM_FIELDS}
    body["unit_price"] = json_number(_amount(entry.get("unit_price")))
    body.update({f: entry[f] for f in ITEM_OPTIONAL_FIELDS if entry.get(f) is not None})
    return body


def _merge(current: object, patch: object, fields: tuple[str, ...]) -> dict[str, Any]:
    have, want = _mapping(current), _mapping(patch)
    return {field: _text(want.get(field, have.get(field))) for field in fields}


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: object) -> Any:
    return "" if value is None else value


def _amount(value: object) -> Decimal:
    amount = decimal_of(value)
    if amount is None:
        # A full overwrite with a made-up amount would change the order: refuse to guess.
        raise ProviderUnavailable(
            f"backd order has an unreadable amount ({str(value)[:40]!r}); no snapshot sent",
            ambiguous=False,
            provider="backd",
        )
    return amount
