"""What a Backd order says about a command: done, still pending, or impossible (pure, no I/O).

Backd's rules (providers.md 1.5): cancel and update only while ``order_placed``; refund only
while ``order_confirmed``; at most one active refund request, whose entries sit in
``refunds[]``.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from decimal import Decimal
from typing import assert_never
from zoneinfo import ZoneInfo

from providers.http import decimal_of, fields_match
from providers.reconcile import RefundRecords, done, impossible, pending, recorded_refund
from schemas import AnyCommand, CancelOrder, OrderSnapshot, Reconciliation, RefundOrder, UpdateOrder

PLACED = "order_placed"  # the only state that can be cancelled or updated
CONFIRMED = "order_confirmed"  # the only state that can be refunded
DECLINED = "declined"  # INFERRED: a replaced or withdrawn refund request
REFUNDS = RefundRecords(created_field="create_date", void_status=DECLINED)  # in ``refunds[]``
# ASSUMPTION: Backd writes times without a zone; its refund locking rules use Chicago time.
TIMESTAMP_TZ: tzinfo = ZoneInfo("America/Chicago")


def is_cancelled(status: str) -> bool:
    """ASSUMPTION (exact string not documented): any status containing "cancel"."""
    return "cancel" in status.lower()


def reconcile(
    command: AnyCommand,
    order: OrderSnapshot,
    *,
    since: datetime | None = None,
    timestamp_tz: tzinfo = TIMESTAMP_TZ,
) -> Reconciliation:
    """Whether ``order`` shows ``command`` done, still pending, or impossible.

    Args:
        command: The command being executed.
        order: The order as ``find`` read it.
        since: When the first attempt that may have reached Backd started.
        timestamp_tz: The zone of Backd's zone-less ``create_date`` values.
    """
    match command:
        case CancelOrder():
            return _cancel(order)
        case UpdateOrder():
            return _update(command, order)
        case RefundOrder():
            return _refund(command, order, since, timestamp_tz)
        case _:
            assert_never(command)


def _cancel(order: OrderSnapshot) -> Reconciliation:
    status = order.status
    if is_cancelled(status):
        return done(f"the Backd order is already cancelled ({status})", order)
    if status == PLACED:
        return pending("the Backd order is order_placed: cancellable", order)
    advice = "a refund is needed instead" if status == CONFIRMED else "it cannot be cancelled"
    return impossible(
        f"Backd cancels only order_placed orders; this order is {status!r}, so {advice}",
        order,
    )


def _update(command: UpdateOrder, order: OrderSnapshot) -> Reconciliation:
    if fields_match(command.changes.changed(), order.raw):
        return done("every patched field already has its new value", order)
    if order.status == PLACED:
        return pending("the Backd order is order_placed: updatable", order)
    return impossible(
        f"Backd updates only order_placed orders; this order is {order.status!r} and its "
        "details can no longer change",
        order,
    )


def _refund(
    command: RefundOrder, order: OrderSnapshot, since: datetime | None, timestamp_tz: tzinfo
) -> Reconciliation:
    wanted = command.amount if command.amount is not None else full_amount(order)
    entry = recorded_refund(order.raw.get("refunds"), wanted, since, REFUNDS, timestamp_tz)
    if entry is not None:
        return done(f"Backd records a refund request of {wanted} ({entry.get('status')})", order)
    if order.status == CONFIRMED:
        return pending("the Backd order is order_confirmed: refundable", order)
    advice = (
        "cancel it (full) or lower its totals with an update (partial)"
        if order.status == PLACED
        else "it needs manual review"
    )
    return impossible(
        f"Backd refunds only order_confirmed orders; this order is {order.status!r}: {advice}",
        order,
    )


def full_amount(order: OrderSnapshot) -> Decimal | None:
    """A full refund's amount: the order's ``order_total``."""
    return decimal_of(order.raw.get("order_total"))
