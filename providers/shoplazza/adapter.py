"""The Shoplazza OpenAPI adapter (2022-01): orders, cancel, update, full and partial refund.

``find`` reads two things: the order (``GET .../orders/{id}``) and its refund records
(``GET .../orders/{id}/refund``), normalised into ``raw["refund_records"]`` as
``[{"id", "status", "amount", "created_at"}]`` so a partial refund can be reconciled. When the
refund list answers 404, ``raw["refund_records"]`` is ``None``: unknown, never "no refunds".
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import quote

from providers.accounts import ShoplazzaAccount
from providers.errors import OrderNotFound, ProviderUnavailable
from providers.http import Client, Reply, Sleep, call, read
from providers.shoplazza.payloads import partial_refund_body, refund_records, update_body
from providers.shoplazza.reconcile import reconcile, refund_fingerprint
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


class ShoplazzaProvider:
    """Shoplazza's OpenAPI (providers.md 2): ``Access-Token``, per-store host, pinned version.

    Success is any 2xx; 406 (wrong state) is ``NotAllowed``. A timeout or a 5xx on a mutation
    raises an ambiguous ``ProviderUnavailable``: read the order (and its refund records)
    before re-sending, since Shoplazza does not de-duplicate.
    """

    name: ClassVar[str] = "shoplazza"

    def __init__(
        self,
        account: ShoplazzaAccount,
        client: Client,
        *,
        sleep: Sleep = time.sleep,
    ) -> None:
        self.account = account
        self._client = client
        self._sleep = sleep
        self._orders = f"/openapi/{account.api_version}/orders"

    def find(self, order_id: str) -> OrderSnapshot:
        """The order, plus its refund records in ``raw["refund_records"]`` (module docstring)."""
        reply = read(self._client, self._path(order_id), provider=self.name, sleep=self._sleep)
        order = reply.body.get("order")
        if not isinstance(order, dict) or not isinstance(order.get("status"), str):
            raise ProviderUnavailable(
                f"shoplazza: the order read for {order_id} has no order object",
                ambiguous=False,
                provider=self.name,
            )
        raw = {**order, "refund_records": self._refund_records(order_id)}
        return OrderSnapshot(order_id=order_id, status=order["status"], raw=raw)

    def reads_first(self, command: AnyCommand) -> bool:
        """Never: every Shoplazza call is built from the command alone."""
        return False

    def cancel(
        self, command: CancelOrder, *, idempotency_key: str, order: OrderSnapshot | None = None
    ) -> ProviderReceipt:
        """``POST .../orders/{id}/cancel`` with ``{"reason"}`` when the command has one."""
        body = {"reason": command.reason} if command.reason else {}
        reply = self._post(self._path(command.order_id, "/cancel"), body, idempotency_key)
        return self._receipt("cancel", reply)

    def update(
        self, command: UpdateOrder, *, idempotency_key: str, order: OrderSnapshot | None = None
    ) -> ProviderReceipt:
        """``PUT .../orders/{id}`` with only the patched fields (flat 2022-01 body)."""
        reply = call(
            self._client,
            "PUT",
            self._path(command.order_id),
            provider=self.name,
            idempotency_key=idempotency_key,
            json_body=update_body(command.changes.changed()),
        )
        return self._receipt("update", reply)

    def refund(
        self, command: RefundOrder, *, idempotency_key: str, order: OrderSnapshot | None = None
    ) -> ProviderReceipt:
        """Full: ``POST .../refund`` with no body. Partial: ``POST .../partial_refund``."""
        if command.amount is None:
            reply = self._post(self._path(command.order_id, "/refund"), None, idempotency_key)
            return self._receipt("refund", reply)
        path = self._path(command.order_id, "/partial_refund")
        body = partial_refund_body(command, command.amount)
        return self._receipt("partial_refund", self._post(path, body, idempotency_key))

    def reconcile(
        self,
        command: AnyCommand,
        order: OrderSnapshot,
        *,
        since: datetime | None = None,
        before: Fingerprint | None = None,
    ) -> Reconciliation:
        """Pure: see ``providers.shoplazza.reconcile``."""
        return reconcile(command, order, since=since, before=before)

    def fingerprint(self, command: AnyCommand, order: OrderSnapshot) -> Fingerprint | None:
        """For a partial refund, the fingerprint of the order's refund records."""
        return refund_fingerprint(command, order)

    def _refund_records(self, order_id: str) -> list[dict[str, Any]] | None:
        path = self._path(order_id, "/refund")
        try:
            reply = read(
                self._client, path, provider=self.name, sleep=self._sleep, list_key="records"
            )
        except OrderNotFound:
            return None  # the order exists (just read): the list itself is unavailable
        return refund_records(reply.body)

    def _path(self, order_id: str, suffix: str = "") -> str:
        return f"{self._orders}/{quote(order_id, safe='')}{suffix}"

    def _post(self, path: str, body: dict[str, Any] | None, idempotency_key: str) -> Reply:
        return call(
            self._client,
            "POST",
            path,
            provider=self.name,
            idempotency_key=idempotency_key,
            json_body=body,
        )

    def _receipt(self, operation: str, reply: Reply) -> ProviderReceipt:
        order = reply.body.get("order")
        status = order.get("status") if isinstance(order, dict) else None
        return ProviderReceipt(
            provider=self.name,
            operation=operation,
            http_status=reply.status_code,
            order_status=status if isinstance(status, str) else None,
        )
