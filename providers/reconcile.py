"""What every provider's ``reconcile`` shares: its three verdicts and finding a recorded refund."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal

from providers.http import decimal_of, recorded_since
from schemas import DeadReason, OrderSnapshot, Reconciliation, Verdict


@dataclass(frozen=True)
class RefundRecords:
    """Which fields of a provider's refund records `recorded_refund` reads."""

    created_field: str  # the record's creation time
    void_status: str  # the status (any case) of a refund that does not count


def done(message: str, order: OrderSnapshot) -> Reconciliation:
    """The order shows the command already carried out."""
    return Reconciliation(verdict=Verdict.DONE, message=message, order_status=order.status)


def pending(message: str, order: OrderSnapshot) -> Reconciliation:
    """The order allows the command and does not show it yet."""
    return Reconciliation(verdict=Verdict.PENDING, message=message, order_status=order.status)


def impossible(
    message: str, order: OrderSnapshot, reason: DeadReason | None = None
) -> Reconciliation:
    """The order's state forbids the command (``reason`` when not the usual one)."""
    return Reconciliation(
        verdict=Verdict.IMPOSSIBLE, message=message, order_status=order.status, reason=reason
    )


def recorded_refund(
    records: object,
    amount: Decimal | None,
    since: datetime | None,
    layout: RefundRecords,
    timestamp_tz: tzinfo,
) -> dict[str, object] | None:
    """The first refund record of ``amount`` that may belong to an attempt started at ``since``.

    Args:
        records: The order's refund records as the provider returns them (not a list: none).
        amount: The refund the command asks for (unknown: no record matches).
        since: When the first attempt that may have reached the provider started.
        layout: Where the provider's records keep their time and status.
        timestamp_tz: The zone of creation times written without one.
    """
    if amount is None or not isinstance(records, list):
        return None
    for record in records:
        if not isinstance(record, dict):
            continue
        if str(record.get("status", "")).lower() == layout.void_status:
            continue
        created = record.get(layout.created_field)
        if decimal_of(record.get("amount")) == amount and recorded_since(
            created, since, default_tz=timestamp_tz
        ):
            return record
    return None
