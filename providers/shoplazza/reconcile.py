"""What a Shoplazza order says about a command: done, still pending, or impossible (pure).

The order's ``status`` (opened, placed, finished, cancelled) decides cancels and updates; its
``financial_status`` and the refund records ``find`` puts in ``raw["refund_records"]`` decide
refunds (providers.md 2.5-2.6).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, assert_never

from providers.http import fields_match
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
    DeadReason,
    Fingerprint,
    OrderSnapshot,
    Reconciliation,
    RefundOrder,
    UpdateOrder,
)

CANCELLED = "cancelled"
CANCELLABLE = frozenset({"opened", "placed"})  # ASSUMPTION: cancellable states not documented
UPDATABLE = frozenset({"opened", "placed", "finished"})  # ASSUMPTION: all but cancelled
REFUNDED = frozenset({"refunded", "refunding"})  # a full refund is done (or under way)
REFUNDABLE = frozenset({"paid", "partially_refunded", "partially_paid"})
FAILED_RECORD = "failed"  # a refund record status that does not count
REFUNDS = RefundRecords(created_field="created_at", void_status=FAILED_RECORD)


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
        order: The order as ``find`` read it (with ``raw["refund_records"]``).
        since: When the first attempt that may have reached Shoplazza started.
        before: The fingerprint of the refund records taken before a refund was sent, if any.
    """
    match command:
        case CancelOrder():
            return _cancel(order)
        case UpdateOrder():
            return _update(command, order)
        case RefundOrder():
            if command.amount is None:
                return _full_refund(order)
            return _partial_refund(command.amount, order, since, before)
        case _:
            assert_never(command)


def _cancel(order: OrderSnapshot) -> Reconciliation:
    if order.status == CANCELLED:
        return done("the Shoplazza order is already cancelled", order)
    if order.status in CANCELLABLE:
        return pending(f"the Shoplazza order is {order.status}", order)
    return impossible(
        f"a {order.status!r} Shoplazza order can no longer be cancelled; refund it instead",
        order,
    )


def _update(command: UpdateOrder, order: OrderSnapshot) -> Reconciliation:
    if fields_match(_comparable(command.changes.changed()), _comparable(order.raw)):
        return done("every patched field already has its new value", order)
    if order.status in UPDATABLE:
        return pending(f"the Shoplazza order is {order.status}", order)
    return impossible(f"a {order.status!r} Shoplazza order can no longer be updated", order)


def _full_refund(order: OrderSnapshot) -> Reconciliation:
    financial = _financial_status(order)
    if financial in REFUNDED:
        return done(f"the order's financial_status is {financial}", order)
    return _refundable(financial, order)


def _partial_refund(
    amount: Decimal, order: OrderSnapshot, since: datetime | None, before: Fingerprint | None
) -> Reconciliation:
    records = order.raw.get("refund_records")
    if not isinstance(records, list):
        return impossible(
            "Shoplazza's refund list could not be read, so whether this partial refund "
            "landed is unknown; check the order by hand",
            order,
            DeadReason.AMBIGUOUS,
        )
    match = refund_match(records, amount, REFUNDS, since=since, before=before)
    if match.found is not None:
        status = match.found.get("status")
        return done(f"Shoplazza records a new refund of {amount} ({status})", order)
    if match.candidates:
        return ambiguous(match, REFUNDS, order)
    return _refundable(_financial_status(order), order)


def _refundable(financial: str, order: OrderSnapshot) -> Reconciliation:
    if financial in REFUNDABLE:
        return pending(f"the order's financial_status is {financial}", order)
    return impossible(
        f"Shoplazza refunds paid orders; this one's financial_status is {financial!r}",
        order,
    )


def refund_fingerprint(command: AnyCommand, order: OrderSnapshot) -> Fingerprint | None:
    """For a partial refund, the fingerprint of the order's refund records; else ``None``."""
    if not isinstance(command, RefundOrder) or command.amount is None:
        return None
    return fingerprint(order.raw.get("refund_records"), REFUNDS)


def _comparable(fields: dict[str, Any]) -> dict[str, Any]:
    # Tags go out comma-joined and may come back as a string or a list, in any order.
    tags = fields.get("tags")
    if isinstance(tags, str):
        tags = tags.split(",")
    if not isinstance(tags, list):
        return fields
    return {**fields, "tags": sorted({str(tag).strip() for tag in tags} - {""})}


def _financial_status(order: OrderSnapshot) -> str:
    return str(order.raw.get("financial_status") or "")
