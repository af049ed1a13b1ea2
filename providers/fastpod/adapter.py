"""The FastPOD API v2 adapter: get, cancel, whole-order update, and refund-as-cancel."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import quote

from providers.accounts import FastpodAccount
from providers.errors import ProviderError, ProviderUnavailable, Unprocessable
from providers.fastpod.payloads import order_of, update_body
from providers.fastpod.reconcile import reconcile
from providers.http import Client, Reply, Response, Sleep, call, read, refusal
from providers.reconcile import refuse_unless_possible
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


class FastpodProvider:
    """FastPOD's API (providers.md 3): Bearer token, ``/v1/orders``; no refund endpoint.

    Success is a 2xx whose body has ``status`` true, or no ``status``; ``status: false``
    raises ``NotAllowed`` (``OrderNotFound`` when the message says "not found"). A timeout or
    a 5xx on a mutation raises an ambiguous ``ProviderUnavailable``: read before re-sending.
    Update and refund need the order (``reads_first``) and send nothing when it rules them out.
    """

    name: ClassVar[str] = "fastpod"

    def __init__(self, account: FastpodAccount, client: Client, *, sleep: Sleep = time.sleep):
        self.account = account
        self._client = client
        self._sleep = sleep

    def find(self, order_id: str) -> OrderSnapshot:
        """``GET /v1/orders/{id}``: the order object (or the ``data`` of an envelope)."""
        path = _path(order_id)
        reply = read(self._client, path, provider=self.name, check=_refused, sleep=self._sleep)
        order = order_of(reply.body)
        if order is None:
            raise ProviderUnavailable(
                f"fastpod: the order read for {order_id} has no order_status",
                ambiguous=False,
                provider=self.name,
            )
        return OrderSnapshot(order_id=order_id, status=order["order_status"], raw=order)

    def reads_first(self, command: AnyCommand) -> bool:
        """Update sends the whole order; refund must know the order's state to cancel it."""
        return not isinstance(command, CancelOrder)

    def cancel(
        self, command: CancelOrder, *, idempotency_key: str, order: OrderSnapshot | None = None
    ) -> ProviderReceipt:
        """``POST /v1/orders/{id}/cancel`` with no body."""
        return self._cancel(command.order_id, idempotency_key, operation="cancel")

    def update(
        self, command: UpdateOrder, *, idempotency_key: str, order: OrderSnapshot | None = None
    ) -> ProviderReceipt:
        """Merge the patch into the order (read unless given), ``PUT`` the whole order."""
        order = order if order is not None else self.find(command.order_id)
        refuse_unless_possible(reconcile(command, order), provider=self.name)
        body = update_body(order.raw, command.changes.changed())
        reply = self._mutate("PUT", _path(command.order_id), body, idempotency_key)
        return self._receipt("update", reply)

    def refund(
        self, command: RefundOrder, *, idempotency_key: str, order: OrderSnapshot | None = None
    ) -> ProviderReceipt:
        """FastPOD cannot refund: a full refund of an order not yet in production cancels it.

        Raises:
            Unsupported: A partial refund, or an order past ``draft``/``new_order``/``on_hold``.
            Unprocessable: The order is already cancelled; reconciling it finds the refund done.
        """
        order = order if order is not None else self.find(command.order_id)
        found = reconcile(command, order)
        if found.verdict is Verdict.DONE:
            raise Unprocessable(f"fastpod: not sent: {found.message}", provider=self.name)
        refuse_unless_possible(found, provider=self.name)
        return self._cancel(command.order_id, idempotency_key, operation="cancel_for_refund")

    def reconcile(
        self,
        command: AnyCommand,
        order: OrderSnapshot,
        *,
        since: datetime | None = None,
        before: Fingerprint | None = None,
    ) -> Reconciliation:
        """Pure: see ``providers.fastpod.reconcile`` (FastPOD keeps no refund records)."""
        return reconcile(command, order, since=since)

    def fingerprint(self, command: AnyCommand, order: OrderSnapshot) -> Fingerprint | None:
        """None: FastPOD keeps no refund records to fingerprint."""
        return None

    def _cancel(self, order_id: str, idempotency_key: str, *, operation: str) -> ProviderReceipt:
        reply = self._mutate("POST", _path(order_id, "/cancel"), None, idempotency_key)
        return self._receipt(operation, reply)

    def _mutate(
        self, method: str, path: str, body: dict[str, Any] | None, idempotency_key: str
    ) -> Reply:
        return call(
            self._client,
            method,
            path,
            provider=self.name,
            idempotency_key=idempotency_key,
            json_body=body,
            check=_refused,
        )

    def _receipt(self, operation: str, reply: Reply) -> ProviderReceipt:
        order = order_of(reply.body)
        message = reply.body.get("message")
        return ProviderReceipt(
            provider=self.name,
            operation=operation,
            http_status=reply.status_code,
            order_status=order["order_status"] if order is not None else None,
            message=message[:500] if isinstance(message, str) else "",
        )


def _path(order_id: str, suffix: str = "") -> str:
    return f"/v1/orders/{quote(order_id, safe='')}{suffix}"


def _refused(response: Response, body: dict[str, Any]) -> ProviderError | None:
    """FastPOD answers ``{"status": false, "message": ..}`` when it refuses (providers.md 3.6)."""
    if body.get("status") is False or body.get("status") == "false":
        return refusal(response, provider=FastpodProvider.name)
    return None
