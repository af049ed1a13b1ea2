"""What every provider's ``reconcile`` shares: its verdicts and telling this command's refund.

A refund record is this command's only on evidence (``refund_match``):

- with a fingerprint (the records the order held before the first send), a record that is not
  in it and matches the command;
- without one, a record whose date carries a zone or offset and is no older than the first
  attempt (less ``RECORD_MARGIN``). A zone-less date is never read in an assumed zone: it is
  placed in every zone there is (``ANY_ZONE``, ±14 h); a match that may be older or newer
  than the first attempt under some zone is a candidate, and candidates make the outcome
  ambiguous. Only a record surely older than the attempt under every zone is ignored.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from providers.errors import NotAllowed, PermanentError, Unsupported
from providers.http import RECORD_MARGIN, decimal_of
from schemas import (
    DeadReason,
    Fingerprint,
    OrderSnapshot,
    Reconciliation,
    RefundPrint,
    Verdict,
)

ANY_ZONE = timedelta(hours=14)  # UTC-12 .. UTC+14 all fall within ±14 h of a wall-clock date


@dataclass(frozen=True)
class RefundRecords:
    """Which fields of a provider's refund records the matching reads."""

    created_field: str  # the record's creation date
    void_status: str  # the status (any case) of a refund that does not count
    amount_field: str = "amount"


@dataclass(frozen=True)
class RefundMatch:
    """This command's refund record, if the evidence shows one, and records it cannot rule out."""

    found: dict[str, Any] | None = None
    candidates: list[dict[str, Any]] = field(default_factory=list)


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


def refuse_unless_possible(found: Reconciliation, *, provider: str) -> None:
    """Raise, with no HTTP status (nothing was sent), when ``found`` rules the call out.

    Raises:
        Unsupported: the provider has no such operation for this order.
        NotAllowed: the order's state forbids the call (a read-shown refusal).
    """
    if found.verdict is not Verdict.IMPOSSIBLE:
        return
    cls: type[PermanentError] = (
        Unsupported if found.reason is DeadReason.UNSUPPORTED else NotAllowed
    )
    raise cls(f"{provider}: not sent: {found.message}", provider=provider)


def ambiguous(match: RefundMatch, layout: RefundRecords, order: OrderSnapshot) -> Reconciliation:
    """Records that may or may not be this command's refund: a person must look."""
    shown = "; ".join(
        f"{c.get(layout.amount_field)} {c.get('status')} at {c.get(layout.created_field)!r}"
        for c in match.candidates[:5]
    )
    message = (
        f"cannot tell whether this refund landed: {len(match.candidates)} record(s) of this "
        f"amount may be this command's or older ({shown}); no fingerprint of the records held "
        "before the first send; check the order by hand"
    )
    return impossible(message[:500], order, DeadReason.AMBIGUOUS)


def fingerprint(records: object, layout: RefundRecords) -> Fingerprint | None:
    """The fingerprint of an order's refund records; ``None`` when they are not a list."""
    if not isinstance(records, list):
        return None
    return Fingerprint(records=tuple(_print(r, layout) for r in records if isinstance(r, dict)))


def _print(record: dict[str, Any], layout: RefundRecords) -> RefundPrint:
    amount = decimal_of(record.get(layout.amount_field))
    created = record.get(layout.created_field)
    return RefundPrint(
        amount=None if amount is None else str(amount.normalize()),
        status=str(record.get("status", "")),
        created="" if created is None else str(created),
    )


def refund_match(
    records: object,
    amount: Decimal | None,
    layout: RefundRecords,
    *,
    since: datetime | None,
    before: Fingerprint | None,
) -> RefundMatch:
    """This command's refund among ``records`` (see the module docstring).

    Args:
        records: The order's refund records as read (not a list: none).
        amount: The refund the command asks for (unknown: no record matches).
        layout: Where the provider's records keep amount, date and status.
        since: When the first attempt that may have reached the provider started; ``None``
            (no attempt yet, only direct callers) counts every matching record.
        before: The fingerprint of the records held before the first send, if one was kept.
    """
    if amount is None or not isinstance(records, list):
        return RefundMatch()
    if before is not None:
        new = [r for r in _new(records, before, layout) if _is(r, amount, layout)]
        return RefundMatch(found=new[0] if new else None)
    matching = [r for r in records if isinstance(r, dict) and _is(r, amount, layout)]
    if since is None:
        return RefundMatch(found=matching[0] if matching else None)
    found, candidates = None, []
    for record in matching:
        placed = _placed(record.get(layout.created_field), since)
        if placed == "after" and found is None:
            found = record
        elif placed == "unknown":
            candidates.append(record)
    return RefundMatch(found=found, candidates=[] if found is not None else candidates)


def _new(records: list[Any], before: Fingerprint, layout: RefundRecords) -> list[dict[str, Any]]:
    """The records not in the fingerprint (a record is its amount and date; status may move)."""
    held = Counter((p.amount, p.created) for p in before.records)
    new = []
    for record in records:
        if not isinstance(record, dict):
            continue
        printed = _print(record, layout)
        key = (printed.amount, printed.created)
        if held[key] > 0:
            held[key] -= 1
        else:
            new.append(record)
    return new


def _counts(record: dict[str, Any], layout: RefundRecords) -> bool:
    return str(record.get("status", "")).lower() != layout.void_status


def _is(record: dict[str, Any], amount: Decimal, layout: RefundRecords) -> bool:
    return _counts(record, layout) and decimal_of(record.get(layout.amount_field)) == amount


def _placed(created: object, since: datetime) -> str:
    """``after``, ``before`` or ``unknown``: a record's date against the first attempt's start."""
    if not isinstance(created, str):
        return "unknown"
    try:
        when = datetime.fromisoformat(created.strip())
    except ValueError:
        return "unknown"
    floor = (since if since.tzinfo else since.replace(tzinfo=UTC)) - RECORD_MARGIN
    if when.tzinfo is not None:
        return "after" if when >= floor else "before"
    wall = when.replace(tzinfo=UTC)  # the wall clock, placed in every zone by ±ANY_ZONE
    if wall + ANY_ZONE < floor:
        return "before"
    return "after" if wall - ANY_ZONE >= floor else "unknown"
