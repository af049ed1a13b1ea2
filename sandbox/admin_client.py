"""``SandboxAdmin``: a small httpx client for the ``/_admin`` API, for tests and the demo."""

from __future__ import annotations

from typing import Any

import httpx

from schemas import Provider

ADMIN_TIMEOUT_S = 10.0


class SandboxAdmin:
    """Arrange and inspect a running sandbox over HTTP (``url`` is the sandbox root)."""

    def __init__(self, url: str, *, client: httpx.Client | None = None) -> None:
        self._client = client or httpx.Client(base_url=f"{url}/_admin", timeout=ADMIN_TIMEOUT_S)

    def close(self) -> None:
        """Close the underlying HTTP client."""
        self._client.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._client.request(method, path, **kwargs)
        response.raise_for_status()
        return response.json()

    def create_order(
        self,
        provider: Provider | str,
        state: str,
        *,
        order_id: str | None = None,
        count: int = 1,
        **fields: Any,
    ) -> dict[str, Any]:
        """Create an order (or ``count`` orders) in ``state``; returns the first one.

        Args:
            provider: which provider's book to add to.
            state: the provider's status value (Backd ``order_confirmed``, FastPOD ``draft``...).
            order_id: a chosen id; generated in the seeded id format when absent.
            count: how many equal orders to create.
            **fields: order fields laid over the factory defaults.

        Returns:
            The (first) created order as the provider stores it.
        """
        body = {"provider": str(provider), "state": state, "order_id": order_id, "count": count}
        created = self._call("POST", "/orders", json=body | {"fields": fields})
        return dict(created["orders"][0])

    def create_orders(self, provider: Provider | str, state: str, count: int) -> list[str]:
        """Create ``count`` orders in ``state`` and return their ids."""
        body = {"provider": str(provider), "state": state, "count": count}
        created = self._call("POST", "/orders", json=body)["orders"]
        key = "backd_order_id" if str(provider) == Provider.BACKD else "id"
        return [order[key] for order in created]

    def order(self, provider: Provider | str, order_id: str) -> dict[str, Any]:
        """The stored order (raises ``httpx.HTTPStatusError`` 404 when unknown)."""
        return dict(self._call("GET", f"/orders/{provider}/{order_id}"))

    def orders(self, provider: Provider | str | None = None) -> list[dict[str, Any]]:
        """``{provider, order_id, state}`` of every order."""
        params = {"provider": str(provider)} if provider else {}
        return list(self._call("GET", "/orders", params=params)["orders"])

    def mutations(
        self,
        *,
        provider: Provider | str | None = None,
        order_id: str | None = None,
        operation: str | None = None,
    ) -> list[dict[str, Any]]:
        """Applied mutations matching every filter given."""
        filters = {"provider": provider, "order_id": order_id, "operation": operation}
        params = {key: str(value) for key, value in filters.items() if value is not None}
        return list(self._call("GET", "/mutations", params=params)["mutations"])

    def requests(self) -> dict[str, Any]:
        """Request counters per provider (``total``, ``by_status``, ``by_fault``)."""
        return dict(self._call("GET", "/requests"))

    def reset(self, *, seed: int | None = None, orders_per_provider: int | None = None) -> None:
        """Back to the start configuration (optionally with a new seed or book size)."""
        body = {"seed": seed, "orders_per_provider": orders_per_provider}
        self._call("POST", "/reset", json={k: v for k, v in body.items() if v is not None})

    def set_faults(self, provider: Provider | str | None = None, **settings: Any) -> dict[str, Any]:
        """Replace the faults of ``provider`` (all providers when None); see ``FaultSettings``."""
        body = settings | ({"provider": str(provider)} if provider else {})
        return dict(self._call("POST", "/faults", json=body))

    def clear_faults(self) -> None:
        """Remove every fault."""
        self._call("DELETE", "/faults")

    def faults(self) -> dict[str, Any]:
        """Current fault settings per provider."""
        return dict(self._call("GET", "/faults"))

    def update_settings(self, **changes: Any) -> dict[str, Any]:
        """Change run-time rules (``shoplazza_bucket_size``, ``backd_refusal_status``...)."""
        return dict(self._call("POST", "/settings", json=changes))
