"""The ``Protocol`` every adapter implements: find, the three verbs, reconcile and its evidence."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Protocol

from schemas import (
    AnyCommand,
    CancelOrder,
    Fingerprint,
    OrderSnapshot,
    ProviderReceipt,
    Reconciliation,
    RefundOrder,
    UpdateOrder,
)


class OrderProvider(Protocol):
    """An adapter for one provider, built as ``Adapter(account_settings, client)``.

    Mutations raise the classes of ``providers.errors``; a 2xx that means "refused" (Backd's
    ``error: true``, FastPOD's ``status: false``) raises too. A verb whose call needs the order's
    data (``reads_first``) takes the order its caller just read as ``order`` (else it reads it),
    checks the documented preconditions on it and raises ``NotAllowed``/``Unsupported`` without
    an HTTP status, and without sending, when the call cannot succeed. ``reconcile`` is pure.
    """

    name: ClassVar[str]

    def find(self, order_id: str) -> OrderSnapshot:
        """Read the order as the provider has it now."""
        ...

    def reads_first(self, command: AnyCommand) -> bool:
        """Whether sending ``command`` needs the order read first (its data goes into the call)."""
        ...

    def cancel(
        self, command: CancelOrder, *, idempotency_key: str, order: OrderSnapshot | None = None
    ) -> ProviderReceipt:
        """Cancel the order."""
        ...

    def update(
        self, command: UpdateOrder, *, idempotency_key: str, order: OrderSnapshot | None = None
    ) -> ProviderReceipt:
        """Apply the command's patch (read + merge + full write where the provider needs it)."""
        ...

    def refund(
        self, command: RefundOrder, *, idempotency_key: str, order: OrderSnapshot | None = None
    ) -> ProviderReceipt:
        """Refund the order in full or in part."""
        ...

    def reconcile(
        self,
        command: AnyCommand,
        order: OrderSnapshot,
        *,
        since: datetime | None = None,
        before: Fingerprint | None = None,
    ) -> Reconciliation:
        """Whether ``order`` already shows the command done, still pending, or impossible.

        ``since`` is when the first attempt that may have reached the provider started;
        ``before`` the fingerprint of the refund records held before the first send. A
        partial refund counts as done only on that evidence; records it cannot rule out make
        the verdict ``IMPOSSIBLE`` with reason ``ambiguous``.
        """
        ...

    def fingerprint(self, command: AnyCommand, order: OrderSnapshot) -> Fingerprint | None:
        """The evidence to keep from a read before sending ``command`` (refund records)."""
        ...
