"""What a FastPOD order says about a command: done, still pending, or impossible (pure).

FastPOD edits orders only before production (``draft``, ``new_order``, ``on_hold``) and has
no refund endpoint: a full refund of such an order is a cancel, anything else needs FastPOD
support (providers.md 3.4-3.5).
"""

from __future__ import annotations

from datetime import datetime
from typing import assert_never

from providers.fastpod.payloads import rush_production
from providers.http import decimal_of, fields_match
from providers.reconcile import done, impossible, pending
from schemas import (
    AnyCommand,
    CancelOrder,
    DeadReason,
    OrderSnapshot,
    Reconciliation,
    RefundOrder,
    UpdateOrder,
)

CANCELLED = "cancelled"
# CONFIRMED for updates; INFERRED for cancels (the cancellable states are not documented).
EDITABLE = frozenset({"draft", "new_order", "on_hold"})
SUPPORT = "needs FastPOD support"


def is_full_refund(command: RefundOrder, order: OrderSnapshot) -> bool:
    """No amount, or exactly the order's ``order_total``."""
    if command.amount is None:
        return True
    return decimal_of(order.raw.get("order_total")) == command.amount


def reconcile(
    command: AnyCommand, order: OrderSnapshot, *, since: datetime | None = None
) -> Reconciliation:
    """Whether ``order`` shows ``command`` done, still pending, or impossible.

    Args:
        command: The command being executed.
        order: The order as ``find`` read it.
        since: Unused: FastPOD keeps no refund records to date.
    """
    match command:
        case CancelOrder():
            return _cancel(order)
        case UpdateOrder():
            return _update(command, order)
        case RefundOrder():
            return _refund(command, order)
        case _:
            assert_never(command)


def _cancel(order: OrderSnapshot) -> Reconciliation:
    if order.status == CANCELLED:
        return done("the FastPOD order is already cancelled", order)
    if order.status in EDITABLE:
        return pending(f"the FastPOD order is {order.status}", order)
    return impossible(
        f"FastPOD cancels only draft, new_order or on_hold orders; this one is "
        f"{order.status!r} (in production or later): {SUPPORT}",
        order,
    )


def _update(command: UpdateOrder, order: OrderSnapshot) -> Reconciliation:
    current = {**order.raw, "rush_production": rush_production(order.raw)}
    if fields_match(command.changes.changed(), current):
        return done("every patched field already has its new value", order)
    if order.status in EDITABLE:
        return pending(f"the FastPOD order is {order.status}", order)
    return impossible(
        f"FastPOD updates only draft, new_order or on_hold orders; this one is {order.status!r}",
        order,
    )


def _refund(command: RefundOrder, order: OrderSnapshot) -> Reconciliation:
    if order.status == CANCELLED:
        return done("the FastPOD order is cancelled: nothing is charged", order)
    if not is_full_refund(command, order):
        message = f"partial refunds are not available at FastPOD; {SUPPORT}"
        return impossible(message, order, DeadReason.UNSUPPORTED)
    if order.status in EDITABLE:
        message = f"the FastPOD order is {order.status}: the refund will cancel it"
        return pending(message, order)
    message = (
        f"FastPOD has no refund endpoint and a {order.status!r} order can no longer be "
        f"cancelled; {SUPPORT}"
    )
    return impossible(message, order, DeadReason.UNSUPPORTED)
