"""Request plumbing shared by the provider stand-ins: state, JSON bodies, mutation logging."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, TypeGuard, cast

from starlette.requests import Request

from sandbox.state import SandboxState
from schemas import Provider

CONTEXT_KEY = "sandbox.context"
MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass
class RequestContext:
    """Per-request facts the fault pipeline shares with the handlers through the ASGI scope."""

    provider: Provider
    idempotency_key: str | None
    applied: bool = False


class BodyError(Exception):
    """The request body is not the JSON the endpoint needs."""


def get_state(request: Request) -> SandboxState:
    """The ``SandboxState`` of the app serving ``request``."""
    return cast(SandboxState, request.app.state.sandbox)


async def read_json(request: Request) -> Any:
    """The parsed JSON body, or None when the body is empty.

    Raises:
        BodyError: the body is not valid JSON.
    """
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise BodyError(f"Invalid JSON body: {exc.msg}") from exc
    except UnicodeDecodeError as exc:
        raise BodyError("Invalid JSON body: not UTF-8") from exc


async def read_object(request: Request) -> dict[str, Any]:
    """The JSON body as an object (an empty body counts as ``{}``).

    Raises:
        BodyError: the body is not valid JSON or not an object.
    """
    body = await read_json(request)
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise BodyError("The request body must be a JSON object")
    return body


def has_json_content_type(request: Request) -> bool:
    """Whether the request declares ``Content-Type: application/json``."""
    return (
        request.headers.get("content-type", "").split(";")[0].strip().lower() == "application/json"
    )


def applied(
    request: Request,
    provider: Provider,
    order_id: str,
    operation: str,
    *,
    account: str | None,
    body: Any,
) -> None:
    """Log a mutation the handler has just applied and mark the request as having applied one."""
    context = request.scope.get(CONTEXT_KEY)
    key = request.headers.get("idempotency-key")
    get_state(request).record(provider, order_id, operation, account=account, key=key, body=body)
    if isinstance(context, RequestContext):
        context.applied = True


def is_number(value: Any) -> TypeGuard[int | float]:
    """A JSON number (booleans excluded)."""
    return isinstance(value, int | float) and not isinstance(value, bool)
