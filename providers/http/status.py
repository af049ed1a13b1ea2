"""The one status→class mapping, and decoding of 2xx bodies that never escapes the error tree."""

from __future__ import annotations

from typing import Any

import httpx

from providers.errors import (
    AuthFailed,
    InvalidCommand,
    NotAllowed,
    OrderNotFound,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    Unprocessable,
)
from providers.http.body import UNPARSED, loads, provider_message
from providers.http.wire import retry_after_s

MAX_BODY_BYTES = 5_000_000  # a bigger 2xx body is treated as garbage, not parsed
_STATUS_CLASSES: dict[int, type[ProviderError]] = {
    400: InvalidCommand,
    401: AuthFailed,
    403: AuthFailed,
    404: OrderNotFound,
    405: NotAllowed,
    406: NotAllowed,
    408: ProviderUnavailable,
    409: Unprocessable,
    422: Unprocessable,
    423: Unprocessable,
    429: RateLimited,
}


def class_for_status(status: int) -> type[ProviderError] | None:
    """The class a status maps to; ``None`` for 2xx.

    400 and unlisted 4xx are ``InvalidCommand``; 5xx, 1xx and 3xx are ``ProviderUnavailable``.
    """
    if 200 <= status < 300:
        return None
    if status in _STATUS_CLASSES:
        return _STATUS_CLASSES[status]
    return InvalidCommand if 400 <= status < 500 else ProviderUnavailable


def raise_for_provider_response(
    response: httpx.Response, *, provider: str, mutation: bool = True
) -> None:
    """Return on 2xx; otherwise raise the class ``class_for_status`` picks.

    Args:
        response: The provider's answer.
        provider: The provider's name, carried by the error.
        mutation: Whether the request could have changed the order: a 5xx then is ambiguous.

    Raises:
        ProviderError: With the provider's trimmed message; never credentials or headers.
    """
    status = response.status_code
    cls = class_for_status(status)
    if cls is None:
        return
    message, code = provider_message(response)
    text = f"{provider} answered HTTP {status}: {message}"
    facts: dict[str, Any] = {
        "provider": provider,
        "status_code": status,
        "provider_code": code,
        "raw_message": message,
    }
    if cls is RateLimited:
        raise RateLimited(text, retry_after_s=retry_after_s(response), **facts)
    if cls is ProviderUnavailable:
        # A 408 means the server gave up reading the request, so it was not applied.
        raise ProviderUnavailable(text, ambiguous=mutation and status != 408, **facts)
    raise cls(text, **facts)


def decode_object(
    response: httpx.Response, *, provider: str, mutation: bool, list_key: str | None = None
) -> dict[str, Any]:
    """The JSON object of a 2xx body; ``{}`` when the body is empty.

    With ``list_key``, a body that is a JSON list is accepted as ``{list_key: [...]}``.

    Raises:
        ProviderUnavailable: The body is not a JSON object (HTML, truncated, huge, a list);
            ambiguous for a mutation, since the provider may have applied it.
    """
    raw = response.content
    if not raw.strip():
        return {}
    body = loads(raw) if len(raw) <= MAX_BODY_BYTES else UNPARSED
    if isinstance(body, dict):
        return body
    if list_key is not None and isinstance(body, list):
        return {list_key: body}
    message, _ = provider_message(response)
    raise ProviderUnavailable(
        f"{provider} answered HTTP {response.status_code} with a body that is not a JSON "
        f"object ({len(raw)} bytes): {message}",
        ambiguous=mutation,
        provider=provider,
        status_code=response.status_code,
        raw_message=message,
    )


def refusal(response: httpx.Response, *, provider: str) -> ProviderError:
    """The error for a 2xx whose body says "refused" (Backd ``error: true``, FastPOD ``false``).

    Returns:
        ``OrderNotFound`` when the provider's message says "not found", else ``NotAllowed``.
    """
    message, code = provider_message(response)
    cls = OrderNotFound if "not found" in message.lower() else NotAllowed
    return cls(
        f"{provider} refused (HTTP {response.status_code}): {message}",
        provider=provider,
        status_code=response.status_code,
        provider_code=code,
        raw_message=message,
    )
