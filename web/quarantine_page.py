"""The quarantine page: broker messages the workers refused, newest first, why, and raw bytes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from store.quarantine import Quarantine
from web.auth import Principal
from web.guards import page_user
from web.render import render
from web.state import AppState, app_state

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


@router.get("/quarantine", response_class=HTMLResponse)
def quarantine_page(
    request: Request,
    state: Annotated[AppState, Depends(app_state)],
    user: Annotated[Principal, Depends(page_user)],
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> HTMLResponse:
    """Quarantined broker messages, 50 a page; nothing here can be executed."""
    quarantine = Quarantine(state.store.client)
    return render(
        request,
        "quarantine.html",
        user,
        entries=quarantine.page(offset=offset, limit=PAGE_SIZE),
        total=quarantine.count(),
        totals={str(reason): n for reason, n in sorted(quarantine.totals().items())},
        offset=offset,
        page_size=PAGE_SIZE,
    )
