"""Shoplazza OpenAPI 2022-01 stand-in under ``/shoplazza/{store}``.

Every store name is accepted and all stores share one order book; the leaky bucket is per store.
Checks run in this order: ``Access-Token`` (401), the store's bucket (429 + ``Retry-After``),
``Content-Type: application/json`` on a non-empty body (400), the order (404), its state (406).
The state refusal's status and the 429's ``Retry-After`` follow the dialect.
Cancel works from opened/placed; update from opened/placed/finished. The refund list's shape
and a new refund record's status follow the dialect (``sandbox.dialects``).
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox import shoplazza_rules as rules
from sandbox.common import BodyError, applied, get_state, has_json_content_type, read_object
from sandbox.formats import shoplazza_time
from sandbox.replies import shoplazza_error
from schemas import Provider

PREFIX = "/openapi/2022-01/orders/{order_id}"
LIMIT_HEADER = "X-Shoplazza-Shop-Api-Call-Limit"
NOT_FOUND = "Unable to find resource"
BAD_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"
Handler = Callable[[Request, dict[str, Any], dict[str, Any]], Awaitable[Response]]


async def _guard(request: Request) -> Response | dict[str, Any]:
    """Auth, rate limit, content type and JSON body; the parsed body when all pass."""
    state = get_state(request)
    if request.headers.get("access-token") not in state.config.shoplazza_tokens:
        return shoplazza_error(401, BAD_TOKEN)
    bucket = state.bucket(request.path_params["store"])
    wait_s = bucket.admit(state.clock())
    if wait_s is not None:
        headers = {LIMIT_HEADER: bucket.header()}
        if state.config.shoplazza_retry_after:
            headers["Retry-After"] = str(max(1, math.ceil(wait_s)))
        message = "Exceeded 2 calls per second for api client. Reduce request rates."
        return shoplazza_error(429, message, headers)
    raw = await request.body()
    if raw.strip() and not has_json_content_type(request):
        return shoplazza_error(400, "Content-Type must be application/json")
    try:
        return await read_object(request)
    except BodyError as exc:
        return shoplazza_error(400, str(exc))


def endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler with the guard, the order lookup and the call-limit header."""

    async def run(request: Request) -> Response:
        guarded = await _guard(request)
        if isinstance(guarded, Response):
            return guarded
        order = get_state(request).find(Provider.SHOPLAZZA, request.path_params["order_id"])
        if order is None:
            response: Response = shoplazza_error(404, NOT_FOUND)
        else:
            try:
                response = await handler(request, order, guarded)
            except rules.RuleError as exc:
                refusal = get_state(request).config.shoplazza_state_refusal
                response = shoplazza_error(refusal if exc.status == 406 else exc.status, str(exc))
        bucket = get_state(request).bucket(request.path_params["store"])
        response.headers[LIMIT_HEADER] = bucket.header()
        return response

    return run


def _applied(request: Request, order: dict[str, Any], operation: str, body: Any) -> None:
    store = request.path_params["store"]
    applied(request, Provider.SHOPLAZZA, order["id"], operation, account=store, body=body)


def _order_view(order: dict[str, Any]) -> JSONResponse:
    return JSONResponse({"order": order})


@endpoint
async def get_order(request: Request, order: dict[str, Any], body: dict[str, Any]) -> Response:
    """``GET /openapi/2022-01/orders/{id}``."""
    return _order_view(order)


@endpoint
async def cancel_order(request: Request, order: dict[str, Any], body: dict[str, Any]) -> Response:
    """``POST .../orders/{id}/cancel`` with optional ``{"reason"}``; does not refund."""
    if order["status"] not in rules.CANCELLABLE:
        raise rules.RuleError(406, f"Order in status {order['status']} cannot be cancelled")
    reason = body.get("reason", "")
    if not isinstance(reason, str):
        raise rules.RuleError(422, "reason must be a string")
    at = shoplazza_time(get_state(request).now())
    order.update(status="cancelled", cancel_reason=reason, canceled_at=at, updated_at=at)
    order["fulfillment_status"] = "cancelled"
    _applied(request, order, "cancel", body or None)
    return _order_view(order)


@endpoint
async def update_order(request: Request, order: dict[str, Any], body: dict[str, Any]) -> Response:
    """``PUT .../orders/{id}``: note, tags, buyer_accepts_marketing, shipping_address."""
    changes = rules.update_fields(body)
    if order["status"] not in rules.UPDATABLE:
        raise rules.RuleError(406, f"Order in status {order['status']} cannot be updated")
    if "shipping_address" in changes:
        changes["shipping_address"] = order["shipping_address"] | changes["shipping_address"]
    order.update(changes, updated_at=shoplazza_time(get_state(request).now()))
    _applied(request, order, "update", body)
    return _order_view(order)


@endpoint
async def full_refund(request: Request, order: dict[str, Any], body: dict[str, Any]) -> Response:
    """``POST .../orders/{id}/refund`` (no body): refunds everything still refundable."""
    rules.check_refundable(order)
    at = shoplazza_time(get_state(request).now())
    status = get_state(request).config.shoplazza_refund_status
    record = rules.apply_refund(order, rules.refundable(order), [], at, status)
    _applied(request, order, "refund", body or None)
    return JSONResponse(record)


@endpoint
async def list_refunds(request: Request, order: dict[str, Any], body: dict[str, Any]) -> Response:
    """``GET .../orders/{id}/refund``: the order's refund records (shape: the dialect's)."""
    shape = get_state(request).config.shoplazza_refund_list
    return JSONResponse(rules.listing(order, shape))


@endpoint
async def partial_refund(request: Request, order: dict[str, Any], body: dict[str, Any]) -> Response:
    """``POST .../orders/{id}/partial_refund`` ``{is_return, price, line_items}``."""
    price, lines = rules.parse_partial(order, body)
    at = shoplazza_time(get_state(request).now())
    record = rules.apply_refund(
        order, price, lines, at, get_state(request).config.shoplazza_refund_status
    )
    _applied(request, order, "partial_refund", body)
    return JSONResponse(record)


async def not_found(request: Request) -> Response:
    """Any other path under a store's base URL (other API versions included)."""
    return shoplazza_error(404, "Not Found")


ROUTES = [
    Route(PREFIX, get_order, methods=["GET"]),
    Route(PREFIX, update_order, methods=["PUT"]),
    Route(f"{PREFIX}/cancel", cancel_order, methods=["POST"]),
    Route(f"{PREFIX}/refund", full_refund, methods=["POST"]),
    Route(f"{PREFIX}/refund", list_refunds, methods=["GET"]),
    Route(f"{PREFIX}/partial_refund", partial_refund, methods=["POST"]),
    Route("/{path:path}", not_found, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
]
