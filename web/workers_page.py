"""The workers page and ``/api/workers``: who is online, what each runs, how deep each queue is."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from store.summary import WORKER_SEEN_S
from web.auth import Principal
from web.guards import api_user, page_user
from web.render import render
from web.state import AppState, app_state
from worker.fleet import read_overview

router = APIRouter()


@router.get("/workers", response_class=HTMLResponse, include_in_schema=False)
def workers_page(
    request: Request,
    state: Annotated[AppState, Depends(app_state)],
    user: Annotated[Principal, Depends(page_user)],
) -> HTMLResponse:
    """Workers online and lately gone, what each runs now, and the queues' depths."""
    overview = read_overview(state.store.client, state.settings)
    return render(request, "workers.html", user, view=overview, seen_s=WORKER_SEEN_S)


@router.get("/api/workers", tags=["operator"])
def workers_api(
    state: Annotated[AppState, Depends(app_state)],
    _: Annotated[Principal, Depends(api_user)],
) -> dict[str, object]:
    """Workers (heartbeats, pool, concurrency, running commands) and queue depths, as JSON.

    A worker whose scheduler has not ticked for a minute is listed with ``alive: false`` and
    its last tick, for a day.
    """
    return read_overview(state.store.client, state.settings).to_json()
