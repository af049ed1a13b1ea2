"""What a provider's error body says: its message from any known shape, trimmed and redacted."""

from __future__ import annotations

import base64
import binascii
import json
import re

import httpx

MAX_MESSAGE_CHARS = 500  # a provider message kept in errors and dead letters
PARSE_LIMIT_BYTES = 64 * 1024  # error bodies past this are excerpted, never parsed
EXCERPT_CHARS = 200  # what is kept of a body that has no known shape (HTML, text, garbage)
UNPARSED = object()  # what ``loads`` returns for a body that is not JSON

_MESSAGE_KEYS = ("message", "error", "errors", "msg", "detail", "error_description")
_MAX_DEPTH = 4
_MAX_ITEMS = 20
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\s]+")
_AUTH_HEADERS = ("authorization", "access-token")


def loads(raw: bytes) -> object:
    """Parse JSON bytes; ``UNPARSED`` when they are not JSON (or nest absurdly deep)."""
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return UNPARSED


def provider_message(response: httpx.Response) -> tuple[str, str | None]:
    """The provider's own message and code, from whatever shape its body has.

    Known shapes: ``{"errors": [..]}``, ``{"errors": {field: [..]}}``, ``{"error": ".."}``,
    ``{"message": ".."}``, ``{"code": .., "message": ..}`` and a bare JSON string. Anything
    else (HTML, truncated JSON, huge bodies) gives a short excerpt. Credentials the request
    carried are masked; the result is at most ``MAX_MESSAGE_CHARS`` long.

    Args:
        response: The provider's answer.

    Returns:
        ``(message, provider_code)``; the code is ``None`` when the body has none.
    """
    raw = response.content
    secrets = request_secrets(response)
    body = loads(raw) if len(raw) <= PARSE_LIMIT_BYTES else UNPARSED
    texts = _texts(body) if body is not UNPARSED else []
    if not texts:
        return _finish(excerpt(raw), secrets, EXCERPT_CHARS), None
    message = _finish("; ".join(dict.fromkeys(texts)), secrets, MAX_MESSAGE_CHARS)
    code = body.get("code") if isinstance(body, dict) else None
    if isinstance(code, bool) or not isinstance(code, str | int):
        return message, None
    return message, _finish(str(code), secrets, 100)


def excerpt(raw: bytes) -> str:
    """Readable text from a body with no known shape: an HTML title, else the tag-free text."""
    if not raw.strip():
        return "(empty body)"
    text = raw[:PARSE_LIMIT_BYTES].decode("utf-8", errors="replace")
    title = _TITLE.search(text)
    if title and title.group(1).strip():
        text = title.group(1)
    text = _CONTROL.sub(" ", _TAG.sub(" ", text)).strip()
    return text or f"({len(raw)} bytes, no text)"


def request_secrets(response: httpx.Response) -> list[str]:
    """The credentials the request behind ``response`` carried, longest first."""
    try:
        headers = response.request.headers
    except RuntimeError:  # a response built without a request (tests)
        return []
    found: list[str] = []
    for name in _AUTH_HEADERS:
        value = headers.get(name, "")
        scheme, _, token = value.partition(" ")
        found += [value, token]
        if scheme.lower() == "basic":
            found += _basic_credentials(token)
    return sorted({secret for secret in found if len(secret) >= 4}, key=len, reverse=True)


def redact(text: str, secrets: list[str]) -> str:
    """``text`` with every secret replaced by ``***``."""
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def _basic_credentials(token: str) -> list[str]:
    try:
        pair = base64.b64decode(token, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return []
    return [pair, pair.partition(":")[2]]


def _finish(text: str, secrets: list[str], limit: int) -> str:
    # Mask before cutting, so a cut can never leave part of a secret behind.
    return _CONTROL.sub(" ", redact(text, secrets)).strip()[:limit]


def _texts(value: object, depth: int = 0) -> list[str]:
    """Every human message in a decoded body; field maps become ``field: message``."""
    if depth > _MAX_DEPTH:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list):
        return [text for item in value[:_MAX_ITEMS] for text in _texts(item, depth + 1)]
    if not isinstance(value, dict):
        return []
    found = [text for key in _MESSAGE_KEYS for text in _texts(value.get(key), depth + 1)]
    if found or depth == 0:
        return found
    fields = list(value.items())[:_MAX_ITEMS]
    return [f"{key}: {', '.join(_texts(item, depth + 1))}" for key, item in fields]
