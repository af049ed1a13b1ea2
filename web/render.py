"""Server-rendered pages: Jinja2 (autoescaped) templates, security headers, flash messages.

A flash is news (``flash``, shown as a status) or a refusal (``flash_error``, shown as an alert).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from schemas import WAIT_TEXT
from web.auth import Principal
from web.guards import csrf_token

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def when(value: datetime | int | float | str | None) -> str:
    """A UTC time as ``2026-11-23 12:00:05``, from a datetime or ms since the epoch."""
    if value in (None, ""):
        return ""
    if not isinstance(value, datetime):
        value = datetime.fromtimestamp(float(value) / 1000, UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def utc_time(value: datetime | int | float | str | None) -> Markup:
    """A ``<time>`` element labelled UTC; ``dead_letters.js`` adds the browser's local time."""
    text = when(value)
    if not text:
        return Markup("")
    stamp = text.replace(" ", "T") + "Z"
    return Markup('<time datetime="{}" data-utc>{} UTC</time>').format(stamp, text)


def pretty_json(value: Any) -> str:
    """Indented JSON of a model or plain data."""
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, str):
        value = json.loads(value)
    return json.dumps(value, indent=2, sort_keys=True)


templates.env.filters["when"] = when
templates.env.filters["pretty_json"] = pretty_json
templates.env.filters["utc_time"] = utc_time
templates.env.globals["wait_text"] = WAIT_TEXT


def render(
    request: Request, name: str, user: Principal | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """Render template ``name`` with the user, CSRF token and any flash messages."""
    flashes = {k: request.session.pop(k, None) for k in ("flash", "flash_error")}
    response = templates.TemplateResponse(
        request,
        name,
        {"user": user, "csrf": csrf_token(request), **flashes, **context},
        status_code=status_code,
        headers=SECURITY_HEADERS,
    )
    return response


def redirect(
    request: Request, url: str, flash: str | None = None, *, error: str | None = None
) -> RedirectResponse:
    """303 to ``url`` (a path of ours), showing ``flash`` (news) and ``error`` on the next page."""
    if flash:
        request.session["flash"] = flash
    if error:
        request.session["flash_error"] = error
    if not url.startswith("/") or url.startswith(("//", "/\\")):  # never off-site
        url = "/"
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})
