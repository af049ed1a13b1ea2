"""What a provider adapter hands back: receipts, order snapshots and reconcile verdicts."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from schemas.records import DeadReason


class ProviderReceipt(BaseModel):
    """A provider accepted a mutation."""

    model_config = ConfigDict(frozen=True)

    provider: str
    operation: str  # the provider call made, e.g. "cancel_order", "partial_refund"
    http_status: int
    order_status: str | None = None  # the order's status after the call, when the reply says
    message: str = ""


class OrderSnapshot(BaseModel):
    """An order as the provider reported it on a read."""

    model_config = ConfigDict(frozen=True)

    order_id: str
    status: str
    raw: dict[str, Any]


class Verdict(StrEnum):
    """What a read of the order says about a command."""

    DONE = "done"  # the target state is already there
    PENDING = "pending"  # not there yet, and still reachable: send (again)
    IMPOSSIBLE = "impossible"  # the precondition can never hold again


class Reconciliation(BaseModel):
    """A verdict with the reason an operator will read."""

    model_config = ConfigDict(frozen=True)

    verdict: Verdict
    message: str
    order_status: str
    reason: DeadReason | None = None  # for IMPOSSIBLE: the dead-letter reason (default rejected)
