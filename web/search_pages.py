"""The search page and the command page (envelope, attempts, lane, the order's other commands)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from store import keys
from store.records import read_records
from store.search import SearchFilter
from web.actions import get_record, http_errors, search_of
from web.auth import Principal
from web.filters import CHOICES, form_filter, query_without_cursor
from web.guards import page_user
from web.render import render
from web.state import AppState, app_state

router = APIRouter(include_in_schema=False)


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    state: Annotated[AppState, Depends(app_state)],
    user: Annotated[Principal, Depends(page_user)],
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    """Commands matching the form's fields, newest first, 50 a page."""
    where, problems = form_filter(request.query_params)
    page = None
    if where != SearchFilter() and not problems:
        with http_errors():
            page = search_of(state).page(where, cursor=cursor, limit=50)
    return render(
        request, "search.html", user, where=where, problems=problems, page=page,
        choices=CHOICES, query=query_without_cursor(request.query_params),
    )  # fmt: skip


@router.get("/commands/{command_id}", response_class=HTMLResponse)
def command_page(
    request: Request,
    command_id: str,
    state: Annotated[AppState, Depends(app_state)],
    user: Annotated[Principal, Depends(page_user)],
) -> HTMLResponse:
    """One command: its envelope, every attempt, its lane, and its order's other commands."""
    return render(request, "command.html", user, **command_context(state, command_id))


def command_context(state: AppState, command_id: str) -> dict[str, Any]:
    """What the command page shows (the edit form re-renders it to keep a refused edit)."""
    record = get_record(state, command_id)
    lane = record.envelope.command.lane
    client = state.store.client
    order = [r for r in read_records(client, state.store.order_ids(lane)) if r is not None]
    original = client.hget(keys.command(command_id), "original_envelope")
    return {"record": record, "order": order, "lane": lane, "original": original,
            "lane_length": len(state.store.lane_ids(lane))}  # fmt: skip
