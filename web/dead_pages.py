"""The dead-letter page and its per-item actions: replay, edit-and-replay, discard."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from store.search import with_state
from web import actions
from web.auth import Principal
from web.filters import CHOICES, form_filter, query_without_cursor
from web.guards import form_operator, page_user
from web.render import redirect, render
from web.state import AppState, app_state

router = APIRouter(include_in_schema=False)
Why = Annotated[str, Form(min_length=1, max_length=500)]


@router.get("/dead-letters", response_class=HTMLResponse)
def dead_letters_page(
    request: Request,
    state: Annotated[AppState, Depends(app_state)],
    user: Annotated[Principal, Depends(page_user)],
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    """Dead letters matching the filter, newest death first, 50 a page."""
    where, problems = form_filter(request.query_params)
    where = with_state(where, "dead")
    page = None
    if not problems:
        with actions.http_errors():
            page = actions.search_of(state).page(where, cursor=cursor, limit=50)
    return render(
        request, "dead_letters.html", user, where=where, problems=problems, page=page,
        choices=CHOICES, query=query_without_cursor(request.query_params),
    )  # fmt: skip


def _command_url(command_id: str) -> str:
    return f"/commands/{command_id}"


def _act(request: Request, command_id: str, act: Callable[[], str]) -> RedirectResponse:
    """Run ``act`` and come back to the command page with what happened, or the error."""
    try:
        message = act()
    except HTTPException as exc:
        return redirect(request, _command_url(command_id), f"Not done: {exc.detail}")
    return redirect(request, _command_url(command_id), str(message))


@router.post("/dead-letters/{command_id}/replay")
def replay(
    request: Request,
    command_id: str,
    why: Why,
    state: Annotated[AppState, Depends(app_state)],
    user: Annotated[Principal, Depends(form_operator)],
) -> RedirectResponse:
    """Replay one dead letter (same key; the order is read before anything is sent)."""
    return _act(request, command_id, lambda: "Replayed: now " + actions.replay(
        state, command_id, actor=user.name, why=why))  # fmt: skip


@router.post("/dead-letters/{command_id}/edit")
def edit(
    request: Request,
    command_id: str,
    why: Why,
    command: Annotated[str, Form(min_length=2, max_length=100_000)],
    state: Annotated[AppState, Depends(app_state)],
    user: Annotated[Principal, Depends(form_operator)],
) -> RedirectResponse:
    """Replay one dead letter with an edited command, validated like a new submission."""

    def act() -> str:
        data = actions.parse_json_object(command)
        return "Edited and replayed: now " + actions.edit(
            state, command_id, data, actor=user.name, why=why
        )

    return _act(request, command_id, act)


@router.post("/dead-letters/{command_id}/discard")
def discard(
    request: Request,
    command_id: str,
    why: Why,
    state: Annotated[AppState, Depends(app_state)],
    user: Annotated[Principal, Depends(form_operator)],
) -> RedirectResponse:
    """Discard one dead letter for good."""

    def act() -> str:
        actions.discard(state, command_id, actor=user.name, why=why)
        return "Discarded."

    return _act(request, command_id, act)
