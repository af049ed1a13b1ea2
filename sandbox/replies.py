"""Response bodies in each provider's own shape: Backd's envelope, Shoplazza's and FastPOD's."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from starlette.responses import JSONResponse

from schemas import Provider

BACKD_SUCCESS = "API Backd - Success"
# Messages of injected 422s: each provider's flavour of "locked / being edited, try later".
_LOCKED = {
    Provider.BACKD: "Order is locked for processing, try again later",
    Provider.SHOPLAZZA: "The order is being edited, try again later",
    Provider.FASTPOD: "Parameter Error",
}


def phrase(status: int) -> str:
    """The standard reason phrase of an HTTP status (``"Service Unavailable"``)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def backd_ok(data: Any) -> JSONResponse:
    """Backd success: the envelope with ``error: false``."""
    body = {"data": data, "message": BACKD_SUCCESS, "status": {"type": "success", "code": 200}}
    return JSONResponse(body | {"error": False})


def backd_error(code: int, message: str, *, http_status: int | None = None) -> JSONResponse:
    """Backd failure: the envelope with ``error: true``; ``status.code`` carries ``code``.

    Args:
        code: the error code put in ``status.code`` (401, 404, 422, 500...).
        message: human message.
        http_status: HTTP status of the response when it differs from ``code`` (business
            refusals come back as HTTP 200 by default).
    """
    body = {"data": None, "message": message, "status": {"type": "error", "code": code}}
    headers = {"WWW-Authenticate": 'Basic realm="backd"'} if code == 401 else None
    return JSONResponse(body | {"error": True}, status_code=http_status or code, headers=headers)


def shoplazza_error(
    status: int, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """Shoplazza 2022-01 failure: ``{"errors": [message]}``."""
    return JSONResponse({"errors": [message]}, status_code=status, headers=headers)


def fastpod_error(
    status: int, message: str, errors: dict[str, list[str]] | None = None
) -> JSONResponse:
    """FastPOD (Laravel) failure ``{status: false, message, errors?}``; 401 is the bare one."""
    if status == 401:
        return JSONResponse({"message": "Unauthenticated."}, status_code=401)
    body: dict[str, Any] = {"status": False, "message": message}
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status)


def fastpod_ok(message: str, data: Any) -> JSONResponse:
    """FastPOD success envelope ``{status: true, message, data}``."""
    return JSONResponse({"status": True, "message": message, "data": data})


def injected_error(
    provider: Provider, status: int, retry_after_s: int | None = None
) -> JSONResponse:
    """The error a provider (or the gateway in front of it) answers during an injected fault."""
    message = _LOCKED[provider] if status == 422 else phrase(status)
    if provider is Provider.FASTPOD and status >= 500:
        message = "Server Error"
    match provider:
        case Provider.BACKD:
            response = backd_error(status, message)
        case Provider.SHOPLAZZA:
            response = shoplazza_error(status, message)
        case Provider.FASTPOD:
            errors = {"order": ["The order is locked."]} if status == 422 else None
            response = fastpod_error(status, message, errors)
    if retry_after_s is not None:
        response.headers["Retry-After"] = str(retry_after_s)
    return response
