"""The ``Protocol`` every adapter implements: find, cancel, update, refund and reconcile."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Protocol

from schemas import (
    AnyCommand,
    CancelOrder,
    OrderSnapshot,
    ProviderReceipt,
    Reconciliation,
    RefundOrder,
    UpdateOrder,
)


class OrderProvider(Protocol):
    """An adapter for one provider, built as ``Adapter(account_settings, client)``.

    Mutations raise the classes of ``providers.errors``; a 2xx that means "refused" (Backd's
    ``error: true``, FastPOD's ``status: false``) raises too. ``reconcile`` is pure: it reads a
    snapshot already fetched by ``find`` and says whether the command's target state is there.
    """

    name: ClassVar[str]

    def find(self, order_id: str) -> OrderSnapshot:
        """Read the order as the provider has it now."""
        ...

    def cancel(self, command: CancelOrder, *, idempotency_key: str) -> ProviderReceipt:
        """Cancel the order."""
        ...

    def update(self, command: UpdateOrder, *, idempotency_key: str) -> ProviderReceipt:
        """Apply the command's patch (read + merge + full write where the provider needs it)."""
        ...

    def refund(self, command: RefundOrder, *, idempotency_key: str) -> ProviderReceipt:
        """Refund the order in full or in part."""
        ...

    def reconcile(
        self, command: AnyCommand, order: OrderSnapshot, *, since: datetime | None = None
    ) -> Reconciliation:
        """Whether ``order`` already shows the command done, still pending, or impossible.

        ``since`` is when the first attempt that may have reached the provider started: a
        partial refund counts as done only if a refund of its amount was recorded after it.
        """
        ...
