"""FastPOD API v2 stand-in under ``/fastpod``: bearer auth, order get/cancel/update/status.

Requests need ``Accept: application/json`` (406 otherwise) and a known bearer token (401
``{"message": "Unauthenticated."}``). GET returns the bare order; mutations return
``{status, message, data}``. Cancel and PUT work only in draft/new_order/on_hold, the status
endpoint only moves draft/on_hold to new_order; otherwise a refusal in the ``fastpod_errors``
dialect's shape (``sandbox.dialects``). There is no refund endpoint: every other path answers
Laravel's JSON 404.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox import fastpod_rules as rules
from sandbox.common import BodyError, applied, get_state, read_object
from sandbox.formats import fastpod_time
from sandbox.replies import fastpod_error, fastpod_ok
from schemas import Provider

PREFIX = "/v1/orders/{order_id}"
Handler = Callable[[Request, dict[str, Any]], Awaitable[Response]]


def _guard(request: Request) -> Response | None:
    if "application/json" not in request.headers.get("accept", ""):
        return fastpod_error(406, "The Accept header must include application/json.")
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or token not in get_state(request).config.fastpod_tokens:
        return fastpod_error(401, "Unauthenticated.")
    return None


def endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler with the header checks and the order lookup (404)."""

    async def run(request: Request) -> Response:
        refused = _guard(request)
        if refused is not None:
            return refused
        order = get_state(request).find(Provider.FASTPOD, request.path_params["order_id"])
        if order is None:
            return fastpod_error(404, "Order not found.")
        return await handler(request, order)

    return run


def refusal(request: Request, message: str, errors: dict[str, list[str]]) -> JSONResponse:
    """A refusal (wrong state, invalid body) in the ``fastpod_errors`` dialect's shape."""
    match get_state(request).config.fastpod_errors:
        case "laravel":
            return JSONResponse({"message": message, "errors": errors}, status_code=422)
        case "status_false":
            return JSONResponse({"status": False, "message": message}, status_code=422)
        case "ok_false":
            return JSONResponse({"status": False, "message": message})
        case _:
            return fastpod_error(422, message, errors)


def _wrong_state(request: Request, order: dict[str, Any], action: str) -> JSONResponse:
    message = f"The order cannot be {action} in status {order['order_status']}."
    return refusal(request, message, {"order_status": [message]})


def _now(request: Request) -> str:
    return fastpod_time(get_state(request).now())


def _applied(request: Request, order: dict[str, Any], operation: str, body: Any) -> None:
    applied(request, Provider.FASTPOD, order["id"], operation, account=None, body=body)


async def _body(request: Request) -> dict[str, Any] | Response:
    try:
        return await read_object(request)
    except BodyError as exc:
        return fastpod_error(400, str(exc))


@endpoint
async def get_order(request: Request, order: dict[str, Any]) -> Response:
    """``GET /v1/orders/{id}`` — the order object itself, no envelope."""
    return JSONResponse(order)


@endpoint
async def cancel_order(request: Request, order: dict[str, Any]) -> Response:
    """``POST /v1/orders/{id}/cancel`` (no body)."""
    if order["order_status"] not in rules.EDITABLE:
        return _wrong_state(request, order, "cancelled")
    at = _now(request)
    order.update(order_status="cancelled", cancelled_at=at, updated_at=at)
    _applied(request, order, "cancel", None)
    return fastpod_ok("Order cancelled successfully.", order)


@endpoint
async def update_order(request: Request, order: dict[str, Any]) -> Response:
    """``PUT /v1/orders/{id}`` — the whole order, only while editable."""
    body = await _body(request)
    if isinstance(body, Response):
        return body
    if order["order_status"] not in rules.EDITABLE:
        return _wrong_state(request, order, "updated")
    errors = rules.update_errors(body)
    if errors:
        return refusal(request, rules.laravel_message(errors), errors)
    rules.apply_update(order, body, _now(request))
    _applied(request, order, "update", body)
    return fastpod_ok("Order updated successfully.", order)


@endpoint
async def update_status(request: Request, order: dict[str, Any]) -> Response:
    """``PUT /v1/orders/{id}/status`` ``{"order_status": "new_order"}`` from draft/on_hold."""
    body = await _body(request)
    if isinstance(body, Response):
        return body
    if body.get("order_status") != "new_order":
        errors = {"order_status": ["The selected order status is invalid."]}
        return refusal(request, errors["order_status"][0], errors)
    if order["order_status"] not in {"draft", "on_hold"}:
        return _wrong_state(request, order, "moved to new_order")
    rules.set_status(order, "new_order", _now(request))
    _applied(request, order, "status", body)
    return fastpod_ok("Order status updated successfully.", order)


async def not_found(request: Request) -> Response:
    """Any other path, refunds included: FastPOD has no refund endpoint."""
    path = request.url.path.removeprefix("/fastpod/")
    return JSONResponse({"message": f"The route {path} could not be found."}, status_code=404)


ROUTES = [
    Route(PREFIX, get_order, methods=["GET"]),
    Route(PREFIX, update_order, methods=["PUT"]),
    Route(f"{PREFIX}/cancel", cancel_order, methods=["POST"]),
    Route(f"{PREFIX}/status", update_status, methods=["PUT"]),
    Route("/{path:path}", not_found, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
]
