"""The audit log: who did what, when, to which commands, and why (newest first)."""

from __future__ import annotations

from typing import Annotated

import redis
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from store import keys
from web.auth import Principal
from web.guards import page_user
from web.render import render
from web.state import AppState, app_state

router = APIRouter(include_in_schema=False)


def read_audit(
    client: redis.Redis, *, before: str | None = None, limit: int = 100
) -> tuple[list[dict[str, str]], str | None]:
    """Audit entries newest first (each with its stream ``id``) and the next page's cursor."""
    high = f"({before}" if before else "+"
    try:
        entries = client.xrevrange(keys.audit(), max=high, min="-", count=limit) or []
    except redis.ResponseError:  # a malformed cursor
        entries = []
    rows = [{"id": str(entry_id), **{str(k): str(v) for k, v in (fields or {}).items()}}
            for entry_id, fields in entries]  # fmt: skip
    return rows, rows[-1]["id"] if len(rows) == limit else None


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    state: Annotated[AppState, Depends(app_state)],
    user: Annotated[Principal, Depends(page_user)],
    before: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    """Every operator action, newest first, 100 a page."""
    rows, cursor = read_audit(state.store.client, before=before)
    return render(request, "audit.html", user, rows=rows, cursor=cursor)
