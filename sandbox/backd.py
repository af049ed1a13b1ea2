"""Backd BNPL API stand-in under ``/backd``: Basic auth, the envelope and the status rules.

Errors reuse the envelope with ``error: true``: 401 bad keys, 400 malformed body, 404 unknown
``backd_order_id``. Business refusals (wrong status, refund over the total, update over the
credit limit, no open refund to delete) carry ``status.code`` 422 and come back with the HTTP
status of the ``backd_refusal_status`` dialect (200 by default). Cancel sets the
``backd_cancelled`` dialect's status; times follow ``backd_time`` (``sandbox.dialects``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox import backd_rules as rules
from sandbox.common import BodyError, applied, get_state, is_number, read_object
from sandbox.replies import backd_error, backd_ok
from schemas import Provider

Handler = Callable[[Request, str, dict[str, Any], dict[str, Any]], Awaitable[Response]]


def _account(request: Request) -> str | None:
    """The public key of a valid Basic credential, else None."""
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    keys = get_state(request).config.backd_keys
    return user if user in keys and keys[user] == password else None


def refusal(request: Request, message: str) -> JSONResponse:
    """A business-rule refusal: ``error: true``, code 422, HTTP per the dialect (200 default)."""
    return backd_error(422, message, http_status=get_state(request).config.backd_refusal_status)


def _view(
    order: dict[str, Any], *, refunds: bool = True, merchant_status: bool = True
) -> dict[str, Any]:
    data = dict(order)
    if not refunds:
        data.pop("refunds")
    if not merchant_status:
        data.pop("merchant_order_status", None)
    return data


async def find_order(request: Request) -> Response:
    """``GET /find_order/{backd_order_id}``."""
    if _account(request) is None:
        return backd_error(401, "Unauthorized: invalid public or secret key")
    state = get_state(request)
    order = state.find(Provider.BACKD, request.path_params["order_id"])
    if order is None:
        return backd_error(404, "Order not found")
    rules.settle(order, state.now(), state.config.backd_time)
    return backd_ok(_view(order))


def _mutation(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Authenticate, parse the JSON body and find the order named by ``backd_order_id``."""

    async def endpoint(request: Request) -> Response:
        account = _account(request)
        if account is None:
            return backd_error(401, "Unauthorized: invalid public or secret key")
        try:
            body = await read_object(request)
        except BodyError as exc:
            return backd_error(400, str(exc))
        if not isinstance(body.get("backd_order_id"), str):
            return backd_error(400, "backd_order_id is required")
        state = get_state(request)
        order = state.find(Provider.BACKD, body["backd_order_id"])
        if order is None:
            return backd_error(404, "Order not found")
        rules.settle(order, state.now(), state.config.backd_time)
        return await handler(request, account, body, order)

    return endpoint


@_mutation
async def cancel_order(
    request: Request, account: str, body: dict[str, Any], order: dict[str, Any]
) -> Response:
    """``POST /cancel_order`` — only from ``order_placed``."""
    if order["status"] != "order_placed":
        return refusal(request, f"Order cannot be cancelled in status {order['status']}")
    order["status"] = get_state(request).config.backd_cancelled
    applied(request, Provider.BACKD, order["backd_order_id"], "cancel", account=account, body=body)
    return backd_ok(_view(order, refunds=False, merchant_status=False))


@_mutation
async def update_order(
    request: Request, account: str, body: dict[str, Any], order: dict[str, Any]
) -> Response:
    """``POST /update_order`` — a full snapshot overwrite, only in ``order_placed``."""
    error = rules.update_error(body)
    if error is not None:
        return backd_error(400, error)
    if order["status"] != "order_placed":
        return refusal(request, f"Order cannot be updated in status {order['status']}")
    new = rules.merged(order, body)
    error = rules.totals_error(new)
    if error is not None:
        return backd_error(400, error)
    limit = get_state(request).config.backd_credit_limit
    if new["order_total"] > max(order["order_total"], limit):
        return refusal(request, "order_total increase exceeds the merchant's agreed limit")
    order.update(new)
    applied(request, Provider.BACKD, order["backd_order_id"], "update", account=account, body=body)
    return backd_ok(_view(order, refunds=False))


def _refund_precondition(
    request: Request, body: dict[str, Any], order: dict[str, Any]
) -> Response | None:
    if body.get("merchant_order_id") != order["merchant_order_id"]:
        return backd_error(400, "merchant_order_id is required and must match the order")
    if order["status"] != "order_confirmed":
        return refusal(
            request, f"Refunds are only possible when order_confirmed, not {order['status']}"
        )
    return None


@_mutation
async def create_refund(
    request: Request, account: str, body: dict[str, Any], order: dict[str, Any]
) -> Response:
    """``POST /refund`` — opens a request or replaces the open one."""
    amount = body.get("refund_amount")
    if not is_number(amount) or amount <= 0:
        return backd_error(400, "refund_amount must be a positive number")
    refused = _refund_precondition(request, body, order)
    if refused is not None:
        return refused
    if amount > order["order_total"]:
        return refusal(request, "refund_amount exceeds the order total")
    state = get_state(request)
    config = state.config
    rules.place_refund(order, amount, state.now(), config.backd_time, config.backd_replaced_refund)
    applied(request, Provider.BACKD, order["backd_order_id"], "refund", account=account, body=body)
    return backd_ok(_view(order))


@_mutation
async def delete_refund(
    request: Request, account: str, body: dict[str, Any], order: dict[str, Any]
) -> Response:
    """``DELETE /refund`` — withdraws the open, unlocked request."""
    refused = _refund_precondition(request, body, order)
    if refused is not None:
        return refused
    current = rules.open_request(order)
    if current is None:
        return refusal(request, "There is no open refund request to delete (none or locked)")
    rules.withdraw(order, current, get_state(request).config.backd_replaced_refund)
    applied(
        request,
        Provider.BACKD,
        order["backd_order_id"],
        "refund_delete",
        account=account,
        body=body,
    )
    return backd_ok(_view(order))


async def not_found(request: Request) -> Response:
    """Any other path under the Backd base URL."""
    return backd_error(404, f"Route {request.method} {request.url.path} not found")


ROUTES = [
    Route("/find_order/{order_id}", find_order, methods=["GET"]),
    Route("/cancel_order", cancel_order, methods=["POST"]),
    Route("/update_order", update_order, methods=["POST"]),
    Route("/refund", create_refund, methods=["POST"]),
    Route("/refund", delete_refund, methods=["DELETE"]),
    Route("/{path:path}", not_found, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
]
