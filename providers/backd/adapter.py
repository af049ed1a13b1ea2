"""The Backd BNPL adapter: find_order, cancel_order, update_order (full snapshot) and refund."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import quote

from providers.accounts import BackdAccount
from providers.backd.reconcile import full_amount, reconcile, refund_fingerprint
from providers.backd.snapshot import update_body
from providers.errors import InvalidCommand, NotAllowed, ProviderError, ProviderUnavailable
from providers.http import Client, Reply, Response, Sleep, call, json_number, read, refusal
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
)


class BackdProvider:
    """Backd's BNPL API (providers.md 1): HTTP Basic, endpoints under the account's base URL.

    Success is a 2xx whose envelope has ``error`` false or missing; ``error: true`` raises
    ``OrderNotFound`` when the message says "not found", else ``NotAllowed``. A timeout or a
    5xx on a mutation raises an ambiguous ``ProviderUnavailable``: read before re-sending.
    Refund and update need the order (``reads_first``) and send nothing when what was read
    rules the call out (update and cancel only ``order_placed``, refund only ``order_confirmed``).
    """

    name: ClassVar[str] = "backd"

    def __init__(
        self,
        account: BackdAccount,
        client: Client,
        *,
        sleep: Sleep = time.sleep,
    ) -> None:
        self.account = account
        self._client = client
        self._sleep = sleep

    def find(self, order_id: str) -> OrderSnapshot:
        """``GET /find_order/{id}``: the envelope's ``data``, its ``status`` as the status."""
        path = f"/find_order/{quote(order_id, safe='')}"
        reply = read(self._client, path, provider=self.name, check=_refused, sleep=self._sleep)
        data = reply.body.get("data")
        if not isinstance(data, dict) or not isinstance(data.get("status"), str):
            raise _unexpected(f"find_order answered without order data for {order_id}")
        return OrderSnapshot(order_id=order_id, status=data["status"], raw=data)

    def reads_first(self, command: AnyCommand) -> bool:
        """Update and refund put the order's data in the call; cancel needs only the id."""
        return not isinstance(command, CancelOrder)

    def cancel(
        self, command: CancelOrder, *, idempotency_key: str, order: OrderSnapshot | None = None
    ) -> ProviderReceipt:
        """``POST /cancel_order {"backd_order_id"}`` (Backd cancels only ``order_placed``)."""
        reply = self._post("/cancel_order", {"backd_order_id": command.order_id}, idempotency_key)
        return self._receipt("cancel_order", reply)

    def update(
        self, command: UpdateOrder, *, idempotency_key: str, order: OrderSnapshot | None = None
    ) -> ProviderReceipt:
        """Merge the patch into the order (read unless given), ``POST /update_order`` it whole."""
        order = self._checked(command, order)
        body = update_body(order.raw, command.changes.changed(), order_id=command.order_id)
        return self._receipt("update_order", self._post("/update_order", body, idempotency_key))

    def refund(
        self, command: RefundOrder, *, idempotency_key: str, order: OrderSnapshot | None = None
    ) -> ProviderReceipt:
        """``POST /refund`` with ``merchant_order_id`` from the order (read unless given).

        ``refund_amount`` is the command's amount, or ``order_total`` for a full refund.
        """
        order = self._checked(command, order)
        amount = command.amount if command.amount is not None else full_amount(order)
        merchant_order_id = order.raw.get("merchant_order_id")
        if amount is None or not isinstance(merchant_order_id, str) or not merchant_order_id:
            raise _unexpected(
                f"find_order lacks order_total or merchant_order_id for {order.order_id}"
            )
        body = {
            "backd_order_id": command.order_id,
            "merchant_order_id": merchant_order_id,
            "refund_amount": json_number(amount),
        }
        return self._receipt("refund", self._post("/refund", body, idempotency_key))

    def reconcile(
        self,
        command: AnyCommand,
        order: OrderSnapshot,
        *,
        since: datetime | None = None,
        before: Fingerprint | None = None,
    ) -> Reconciliation:
        """Pure: see ``providers.backd.reconcile``."""
        return reconcile(command, order, since=since, before=before)

    def fingerprint(self, command: AnyCommand, order: OrderSnapshot) -> Fingerprint | None:
        """For a refund, the fingerprint of the order's ``refunds[]``."""
        return refund_fingerprint(command, order)

    def _checked(self, command: AnyCommand, order: OrderSnapshot | None) -> OrderSnapshot:
        """The order (read unless given), once its status allows ``command`` (providers.md 1.5)."""
        order = order if order is not None else self.find(command.order_id)
        found = reconcile(command, order, before=refund_fingerprint(command, order))
        refuse_unless_possible(found, provider=self.name)
        return order

    def _post(self, path: str, body: dict[str, Any], idempotency_key: str) -> Reply:
        """POST; a 400 is a business refusal at Backd (providers.md 1.7 rule 4), not bad input."""
        try:
            return call(
                self._client,
                "POST",
                path,
                provider=self.name,
                idempotency_key=idempotency_key,
                json_body=body,
                check=_refused,
            )
        except InvalidCommand as exc:
            if exc.status_code != 400:
                raise
            raise NotAllowed(
                str(exc),
                provider=self.name,
                status_code=exc.status_code,
                provider_code=exc.provider_code,
                raw_message=exc.raw_message,
            ) from exc

    def _receipt(self, operation: str, reply: Reply) -> ProviderReceipt:
        data = reply.body.get("data")
        status = data.get("status") if isinstance(data, dict) else None
        message = reply.body.get("message")
        return ProviderReceipt(
            provider=self.name,
            operation=operation,
            http_status=reply.status_code,
            order_status=status if isinstance(status, str) else None,
            message=message[:500] if isinstance(message, str) else "",
        )


def _refused(response: Response, body: dict[str, Any]) -> ProviderError | None:
    """Backd may refuse with HTTP 200 and ``"error": true`` (providers.md 1.7)."""
    if body.get("error") is True or body.get("error") == "true":
        return refusal(response, provider=BackdProvider.name)
    return None


def _unexpected(message: str) -> ProviderUnavailable:
    return ProviderUnavailable(f"backd: {message}", ambiguous=False, provider=BackdProvider.name)
