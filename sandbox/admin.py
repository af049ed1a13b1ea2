"""The unauthenticated ``/_admin`` API tests and the demo use to arrange and inspect the sandbox.

- ``GET /health`` -> ``{"ok": true}``
- ``GET /orders?provider=`` -> ``{"orders": [{provider, order_id, state}]}``
- ``POST /orders`` ``{provider, state, order_id?, fields?, count?}`` -> 201 ``{"orders": [...]}``
- ``GET /orders/{provider}/{order_id}`` -> the stored order (404 when unknown)
- ``GET /mutations?provider=&order_id=&operation=`` -> ``{"count", "mutations": [{seq,
  provider, account, order_id, operation, idempotency_key, body, at}]}``
- ``GET /requests`` -> ``{provider: {"total", "by_status", "by_fault"}}``
- ``POST /reset`` ``{seed?, orders_per_provider?}``: fresh books, no mutations, start faults
- ``GET /faults``; ``POST /faults`` ``{provider?, ...FaultSettings}`` replaces the faults of
  one provider (all when absent); ``DELETE /faults`` clears them all
- ``GET /settings``; ``POST /settings`` ``RuntimeSettings`` (Shoplazza bucket, Backd rules, the
  dialect options of ``sandbox.dialects``); reset puts them back to the start configuration
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.common import BodyError, get_state, read_object
from sandbox.config import RuntimeSettings
from sandbox.faults import FaultSettings
from sandbox.seed import STATE_FIELD
from schemas import Provider


class CreateOrders(BaseModel):
    """Body of ``POST /_admin/orders``."""

    model_config = ConfigDict(extra="forbid")

    provider: Provider
    state: str
    order_id: str | None = None
    fields: dict[str, Any] = Field(default_factory=dict)
    count: int = Field(default=1, ge=1, le=100_000)


class Reset(BaseModel):
    """Body of ``POST /_admin/reset``: overrides of the start configuration."""

    model_config = ConfigDict(extra="forbid")

    seed: int | None = None
    orders_per_provider: int | None = Field(default=None, ge=0)


class SetFaults(FaultSettings):
    """Body of ``POST /_admin/faults``: fault settings and the provider they are for."""

    provider: Provider | None = None


def _bad(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


M = TypeVar("M", bound=BaseModel)


async def _model(request: Request, model: type[M]) -> M | JSONResponse:
    try:
        return model.model_validate(await read_object(request))
    except (BodyError, ValidationError) as exc:
        return _bad(str(exc))


BY_NAME = {p.value: p for p in Provider}


async def health(request: Request) -> Response:
    """Liveness."""
    return JSONResponse({"ok": True})


async def list_orders(request: Request) -> Response:
    """Ids and states of every order (optionally of one provider)."""
    wanted = BY_NAME.get(request.query_params.get("provider", ""))
    state = get_state(request)
    rows = [
        {"provider": p.value, "order_id": oid, "state": order[STATE_FIELD[p]]}
        for p in Provider
        if wanted in (None, p)
        for oid, order in state.orders[p].items()
    ]
    return JSONResponse({"orders": rows})


async def create_orders(request: Request) -> Response:
    """Create ``count`` orders in a given state; a given ``order_id`` needs ``count == 1``."""
    body = await _model(request, CreateOrders)
    if isinstance(body, JSONResponse):
        return body
    if body.order_id is not None and body.count != 1:
        return _bad("order_id can only be given with count 1")
    state = get_state(request)
    try:
        orders = [
            state.add_order(body.provider, body.state, oid=body.order_id, fields=body.fields)
            for _ in range(body.count)
        ]
    except ValueError as exc:
        return _bad(str(exc))
    return JSONResponse({"orders": orders}, status_code=201)


async def read_order(request: Request) -> Response:
    """One stored order, as the provider holds it."""
    provider = BY_NAME.get(request.path_params["provider"])
    if provider is None:
        return _bad("unknown provider", 404)
    order = get_state(request).find(provider, request.path_params["order_id"])
    return JSONResponse(order) if order is not None else _bad("order not found", 404)


async def mutations(request: Request) -> Response:
    """Applied mutations, filtered by provider, order_id and operation."""
    query = request.query_params
    rows = [
        m.as_json()
        for m in get_state(request).mutations
        if query.get("provider") in (None, m.provider.value)
        and query.get("order_id") in (None, m.order_id)
        and query.get("operation") in (None, m.operation)
    ]
    return JSONResponse({"count": len(rows), "mutations": rows})


async def requests(request: Request) -> Response:
    """Requests answered per provider, by HTTP status and by fault."""
    state = get_state(request)
    return JSONResponse(
        {
            p.value: {
                "total": sum(state.requests[p].values()),
                "by_status": dict(state.requests[p]),
                "by_fault": dict(state.fault_counts[p]),
            }
            for p in Provider
        }
    )


async def reset(request: Request) -> Response:
    """Back to the start configuration (optionally with a new seed or book size)."""
    body = await _model(request, Reset)
    if isinstance(body, JSONResponse):
        return body
    state = get_state(request)
    state.reset(state.start_config.model_copy(update=body.model_dump(exclude_none=True)))
    return JSONResponse({"ok": True})


async def faults(request: Request) -> Response:
    """Read, replace (POST) or clear (DELETE) the fault settings."""
    state = get_state(request)
    if request.method == "POST":
        body = await _model(request, SetFaults)
        if isinstance(body, JSONResponse):
            return body
        settings = FaultSettings.model_validate(body.model_dump(exclude={"provider"}))
        for provider in [body.provider] if body.provider else list(Provider):
            state.set_faults(provider, settings)
    elif request.method == "DELETE":
        for provider in Provider:
            state.set_faults(provider, FaultSettings())
    return JSONResponse(
        {p.value: plan.settings.model_dump(mode="json") for p, plan in state.faults.items()}
    )


async def settings(request: Request) -> Response:
    """Read or change (POST) the run-time provider rules."""
    state = get_state(request)
    if request.method == "POST":
        body = await _model(request, RuntimeSettings)
        if isinstance(body, JSONResponse):
            return body
        state.update_settings(body)
    fields = RuntimeSettings.model_fields
    return JSONResponse(state.config.model_dump(mode="json", include=set(fields)))


ROUTES = [
    Route("/health", health, methods=["GET"]),
    Route("/orders", list_orders, methods=["GET"]),
    Route("/orders", create_orders, methods=["POST"]),
    Route("/orders/{provider}/{order_id}", read_order, methods=["GET"]),
    Route("/mutations", mutations, methods=["GET"]),
    Route("/requests", requests, methods=["GET"]),
    Route("/reset", reset, methods=["POST"]),
    Route("/faults", faults, methods=["GET", "POST", "DELETE"]),
    Route("/settings", settings, methods=["GET", "POST"]),
]
