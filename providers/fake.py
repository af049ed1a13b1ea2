"""``FakeProvider``: an in-memory provider with scripted failures that records every call."""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from providers.errors import OrderNotFound, ProviderError
from schemas import (
    AnyCommand,
    CancelOrder,
    Fingerprint,
    OrderSnapshot,
    ProviderReceipt,
    Reconciliation,
    RefundOrder,
    UpdateOrder,
    Verdict,
)

APPLY_THEN_FAIL = "apply-then-fail"  # a script step: the change happens, then the error


@dataclass(frozen=True)
class FakeCall:
    """One call the fake received."""

    operation: str
    order_id: str
    idempotency_key: str | None


@dataclass
class FakeProvider:
    """Orders are ``open`` until cancelled or refunded; updates set fields in ``fields``.

    ``script(order_id, *steps)`` queues what the next mutations of that order do: an exception
    to raise before applying, or ``(APPLY_THEN_FAIL, exception)`` to apply and then raise (the
    reply got lost). With nothing scripted a mutation applies and succeeds.
    """

    name: ClassVar[str] = "fake"
    statuses: dict[str, str] = field(default_factory=dict)
    fields: dict[str, dict[str, object]] = field(default_factory=lambda: defaultdict(dict))
    calls: list[FakeCall] = field(default_factory=list)
    applied: list[FakeCall] = field(default_factory=list)
    _script: dict[str, deque[object]] = field(default_factory=lambda: defaultdict(deque))

    def script(self, order_id: str, *steps: object) -> None:
        """Queue what the next mutations of ``order_id`` do."""
        self._script[order_id].extend(steps)

    def find(self, order_id: str) -> OrderSnapshot:
        """The order's status and fields."""
        self.calls.append(FakeCall("find", order_id, None))
        if order_id not in self.statuses:
            raise OrderNotFound(provider=self.name, status_code=404)
        fields = dict(self.fields[order_id])
        return OrderSnapshot(order_id=order_id, status=self.statuses[order_id], raw=fields)

    def reads_first(self, command: AnyCommand) -> bool:
        """Never: the fake needs nothing from the order to send."""
        return False

    def fingerprint(self, command: AnyCommand, order: OrderSnapshot) -> Fingerprint | None:
        """None: the fake keeps no refund records."""
        return None

    def cancel(
        self, command: CancelOrder, *, idempotency_key: str, order: OrderSnapshot | None = None
    ) -> ProviderReceipt:
        """Cancel: the status becomes ``cancelled``."""
        return self._mutate("cancel", command, idempotency_key, status="cancelled")

    def update(
        self, command: UpdateOrder, *, idempotency_key: str, order: OrderSnapshot | None = None
    ) -> ProviderReceipt:
        """Update: the patch's fields are set."""
        return self._mutate("update", command, idempotency_key, changes=command.changes.changed())

    def refund(
        self, command: RefundOrder, *, idempotency_key: str, order: OrderSnapshot | None = None
    ) -> ProviderReceipt:
        """Refund: the status becomes ``refunded``."""
        return self._mutate("refund", command, idempotency_key, status="refunded")

    def reconcile(
        self,
        command: AnyCommand,
        order: OrderSnapshot,
        *,
        since: datetime | None = None,
        before: Fingerprint | None = None,
    ) -> Reconciliation:
        """Done when the target status (or every patched field) is there; closed orders refuse."""
        target = {"cancel": "cancelled", "refund": "refunded"}.get(command.kind)
        if isinstance(command, UpdateOrder):
            done = command.changes.changed().items() <= order.raw.items()
        else:
            done = order.status == target
        if done:
            return Reconciliation(verdict=Verdict.DONE, message="done", order_status=order.status)
        if order.status == "open":
            return Reconciliation(verdict=Verdict.PENDING, message="open", order_status="open")
        return Reconciliation(
            verdict=Verdict.IMPOSSIBLE,
            message=f"order is {order.status}",
            order_status=order.status,
        )

    def _mutate(
        self,
        operation: str,
        command: AnyCommand,
        key: str,
        *,
        status: str | None = None,
        changes: dict[str, object] | None = None,
    ) -> ProviderReceipt:
        call = FakeCall(operation, command.order_id, key)
        self.calls.append(call)
        if command.order_id not in self.statuses:
            raise OrderNotFound(provider=self.name, status_code=404)
        step = self._script[command.order_id].popleft() if self._script[command.order_id] else None
        if isinstance(step, ProviderError):
            raise step
        self.applied.append(call)
        if status:
            self.statuses[command.order_id] = status
        self.fields[command.order_id].update(changes or {})
        if isinstance(step, tuple) and step[0] == APPLY_THEN_FAIL:
            raise step[1]
        return ProviderReceipt(provider=self.name, operation=operation, http_status=200)
