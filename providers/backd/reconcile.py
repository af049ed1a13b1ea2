"""What a Backd order says about a command: done, still pending, or impossible (pure, no I/O).

Backd's rules (providers.md 1.5): cancel and update only while ``order_placed``; refund only
while ``order_confirmed``; at most one active refund request, whose entries sit in
``refunds[]``. Their ``create_date`` has no zone in the docs' example (and may carry an offset):
a refund is told apart by the fingerprint of ``refunds[]``, never by reading the date in an
assumed zone (``providers.reconcile``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import assert_never

from providers.http import decimal_of, fields_match
from providers.reconcile import (
    RefundRecords,
    ambiguous,
    done,
    fingerprint,
    impossible,
    pending,
    refund_match,
)
from schemas import (
    AnyCommand,
    CancelOrder,
    Fingerprint,
    OrderSnapshot,
    Reconciliation,
    RefundOrder,
    UpdateOrder,
)

PLACED = "order_placed"  # the only state that can be cancelled or updated
CONFIRMED = "order_confirmed"  # the only state that can be refunded
DECLINED = "declined"  # INFERRED: a replaced or withdrawn refund request
REFUNDS = RefundRecords(created_field="create_date", void_status=DECLINED)  # in ``refunds[]``


def is_cancelled(status: str) -> bool:
    """ASSUMPTION (exact string not documented): any status containing "cancel"."""
    return "cancel" in status.lower()


def reconcile(
    command: AnyCommand,
    order: OrderSnapshot,
    *,
    since: datetime | None = None,
    before: Fingerprint | None = None,
) -> Reconciliation:
    """Whether ``order`` shows ``command`` done, still pending, impossible or ambiguous.

    Args:
        command: The command being executed.
        order: The order as ``find`` read it.
        since: When the first attempt that may have reached Backd started.
        before: The fingerprint of ``refunds[]`` taken before the first refund was sent.
    """
    match command:
        case CancelOrder():
            return _cancel(order)
        case UpdateOrder():
            return _update(command, order)
        case RefundOrder():
            return _refund(command, order, since, before)
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
    command: RefundOrder, order: OrderSnapshot, since: datetime | None, before: Fingerprint | None
) -> Reconciliation:
    wanted = command.amount if command.amount is not None else full_amount(order)
    match = refund_match(order.raw.get("refunds"), wanted, REFUNDS, since=since, before=before)
    if match.found is not None:
        entry = match.found
        return done(
            f"Backd records a new refund request of {wanted} ({entry.get('status')}, "
            f"created {entry.get('create_date')!r})",
            order,
        )
    if match.candidates:
        return ambiguous(match, REFUNDS, order)
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


def refund_fingerprint(command: AnyCommand, order: OrderSnapshot) -> Fingerprint | None:
    """For a refund, the fingerprint of the order's ``refunds[]``; ``None`` for other kinds."""
    if not isinstance(command, RefundOrder):
        return None
    return fingerprint(order.raw.get("refunds", []), REFUNDS)


def full_amount(order: OrderSnapshot) -> Decimal | None:
    """A full refund's amount: the order's ``order_total``."""
    return decimal_of(order.raw.get("order_total"))
