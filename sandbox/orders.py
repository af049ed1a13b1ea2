"""Order factories: complete, self-consistent orders of each provider in a given state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.dialects import BackdTime, backd_time
from sandbox.formats import fastpod_time, shoplazza_time
from schemas import Provider

Order = dict[str, Any]
_BASE_TIME = datetime(2026, 4, 16, 10, 30, tzinfo=UTC)
FASTPOD_UNIT_PRICE = 14.4


def order_id(provider: Provider, n: int) -> str:
    """The id of the ``n``-th order of ``provider`` (seeded or created through the admin API)."""
    match provider:
        case Provider.BACKD:
            return f"BO-{n:06d}"
        case Provider.SHOPLAZZA:
            return f"1001-{n:08d}"
        case Provider.FASTPOD:
            return f"F237-{n:06d}"


def make_order(
    provider: Provider, n: int, state: str, *, backd_style: BackdTime = "chicago"
) -> Order:
    """A complete, self-consistent order ``n`` of ``provider`` in ``state``.

    ``backd_style`` is the dialect Backd's ``create_date`` is written in.
    """
    match provider:
        case Provider.BACKD:
            return _backd(n, state, backd_style)
        case Provider.SHOPLAZZA:
            return _shoplazza(n, state)
        case Provider.FASTPOD:
            return _fastpod(n, state)


def _backd_contact(n: int) -> Order:
    address = {"line1": f"{100 + n} Main St", "line2": "", "city": "Austin", "state": "TX"}
    contact = {"name": {"first": "Joe", "last": f"Doe{n}"}, "company_name": "Big Business"}
    contact |= {"phone_number": "4153334567", "email": f"buyer{n}@example.com"}
    return contact | {"address": address | {"zipcode": "78704", "country": "USA"}}


def _backd(n: int, state: str, style: BackdTime) -> Order:
    qty, unit_price = 1 + n % 3, 1000 * (1 + n % 5)
    cart, tax, shipping = qty * unit_price, 10 * (n % 4), 50
    created = _BASE_TIME + timedelta(minutes=n)
    return {
        "backd_order_id": order_id(Provider.BACKD, n),
        "create_date": backd_time(created, style),
        "order_total": cart + tax + shipping,
        "cart_amount": cart,
        "tax_amount": tax,
        "shipping_amount": shipping,
        "discount_amount": 0,
        "status": state,
        "merchant_order_id": f"MO-{n:06d}",
        "merchant_order_status": "processing",
        "shipping": _backd_contact(n),
        "billing": _backd_contact(n),
        "items": [
            {"display_name": "Laptop", "sku": f"SKU-{n}", "unit_price": unit_price, "qty": qty}
        ],
        "refunds": [],
    }


def _shoplazza_lines(n: int) -> list[Order]:
    shirt = {"id": f"li-{n}-1", "title": "T-shirt", "sku": f"TS-{n}", "quantity": 2}
    mug = {"id": f"li-{n}-2", "title": "Mug", "sku": f"MG-{n}", "quantity": 1, "price": "15.50"}
    return [shirt | {"price": f"{10 + n % 7:.2f}"}, mug]


def _shoplazza_address(n: int) -> Order:
    person = {"first_name": "Ann", "last_name": f"Lee{n}", "address1": "1 Bay Rd", "zip": "98101"}
    return person | {"city": "Seattle", "province": "WA", "country": "US", "country_code": "US"}


def _shoplazza(n: int, state: str) -> Order:
    lines = _shoplazza_lines(n)
    sub_total = sum(float(line["price"]) * line["quantity"] for line in lines)
    total = f"{sub_total + 5:.2f}"
    at = shoplazza_time(_BASE_TIME + timedelta(minutes=n))
    paid = state != "opened"
    return {
        "id": order_id(Provider.SHOPLAZZA, n),
        "number": f"#{1000 + n}",
        "note": "",
        "tags": "",
        "status": state,
        "financial_status": "paid" if paid else "waiting",
        "fulfillment_status": "finished" if state == "finished" else "initialled",
        "email_status": "send",
        "recovery_status": "waiting",
        "cancel_reason": "Customer changed their mind" if state == "cancelled" else "",
        "currency": "USD",
        "buyer_accepts_marketing": False,
        "sub_total": f"{sub_total:.2f}",
        "total_shipping": "5.00",
        "total_tax": "0.00",
        "total_discount": "0.00",
        "total_price": total,
        "total_paid": total if paid else "0.00",
        "total_refund_price": "0.00",
        "refund_status": "",
        "created_at": at,
        "updated_at": at,
        "placed_at": at if paid else None,
        "canceled_at": at if state == "cancelled" else None,
        "shipping_address": _shoplazza_address(n),
        "line_items": lines,
        "payment_lines": [{"id": f"pl-{n}", "amount": total}] if paid else [],
        "refunds": [],
    }


def _fastpod(n: int, state: str) -> Order:
    qty = 1 + n % 2
    at = fastpod_time(_BASE_TIME + timedelta(minutes=n))
    item_total = round(qty * FASTPOD_UNIT_PRICE, 2)
    return {
        "id": order_id(Provider.FASTPOD, n),
        "order_type": "1",
        "reference_id": f"REF-{n:06d}",
        "order_status": state,
        "test_order": True,
        "item_total": item_total,
        "shipping_total": 6,
        "surcharge_total": 0,
        "labeling_fee": 0,
        "peak_season_surchage": 0,
        "order_total": round(item_total + 6, 2),
        "payment_method": "cash",
        "payment_status": "unpaid" if state == "draft" else "paid",
        "point_earned": 0,
        "point_used": 0,
        "quantity_total": qty,
        "shipping_method": "1",
        "rush_production": False,
        "gift_message": None,
        "created_at": at,
        "updated_at": at,
        "rejected_at": at if state == "rejected" else None,
        "rejected_status": "invalid_artwork" if state == "rejected" else None,
        "cancelled_at": at if state == "cancelled" else None,
        "address": fastpod_address(n),
        "line_items": [fastpod_line(n, f"ITEM-{n}", f"UABSTAQUBXL{n}", qty)],
        "shipments": [{"tracking_number": f"1Z{n:08d}"}] if state == "shipped" else [],
        "label_url": "",
        "coupon_code": "",
        "discount_total": 0,
        "discount_labeling_fee": 0,
    }


def fastpod_address(n: int) -> Order:
    """A FastPOD shipping address for order ``n``."""
    return {
        "name": f"Michael Brown {n}",
        "company": "My company",
        "email": f"buyer{n}@example.com",
        "phone": "(330) 829-0294",
        "street1": "3431 Reeves Street",
        "street2": None,
        "city": "Milwaukee",
        "state": "WI",
        "country": "US",
        "zip": "53202",
    }


def fastpod_line(line_id: int, item_id: str, sku: str, quantity: int) -> Order:
    """A FastPOD line item priced at the sandbox's flat unit price."""
    return {
        "id": 100000 + line_id,
        "item_id": item_id,
        "name": "Line Item",
        "sku": sku,
        "unit_price": 14,
        "quantity": quantity,
        "point_earned": 0,
        "price": round(quantity * FASTPOD_UNIT_PRICE, 2),
        "print_areas": {"front": "https://example.com/front.png"},
        "preview_areas": {"front": "https://example.com/preview.png"},
    }
