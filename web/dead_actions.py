"""Dead-letter forms: replay, edit-and-replay and discard of one; replay or discard of a selection.

Discarding asks first: the form without ``confirm=yes`` shows a confirmation page (it works
without JavaScript). A refused edit re-renders the command page with the operator's text and
reason kept and the error as an alert; other refusals come back as an error flash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from store.records import read_records
from web import actions
from web.auth import Principal
from web.guards import form_operator
from web.render import redirect, render
from web.search_pages import command_context
from web.state import AppState, app_state

router = APIRouter(include_in_schema=False)
MAX_SELECTED = 100  # two pages of the list; a larger set is a bulk run over a filter
WHY_MAX = 500
COMMAND_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
Why = Annotated[str, Form(max_length=WHY_MAX)]
State = Annotated[AppState, Depends(app_state)]
Operator = Annotated[Principal, Depends(form_operator)]
NO_WHY = "why: say why, for the audit log"


@dataclass(frozen=True)
class Asked:
    """An action waiting for its confirmation or its reason, and the page to return to."""

    action: str
    ids: list[str]
    why: str
    back: str


def describe(detail: Any) -> str:
    """An HTTP error's detail as one line (``field: problem; ...`` for validation errors)."""
    if isinstance(detail, list):
        return "; ".join(f"{d.get('field')}: {d.get('problem')}" for d in detail)
    return str(detail)


def _command_url(command_id: str) -> str:
    return f"/commands/{command_id}"


@router.post("/dead-letters/{command_id}/replay")
def replay(
    request: Request, command_id: str, state: State, user: Operator, why: Why = ""
) -> RedirectResponse:
    """Replay one dead letter (same key; the order is read before anything is sent)."""
    if not why.strip():
        return redirect(request, _command_url(command_id), error=f"Not replayed: {NO_WHY}")
    try:
        now = actions.replay(state, command_id, actor=user.name, why=why.strip())
    except HTTPException as exc:
        return redirect(request, _command_url(command_id), error=f"Not replayed: {exc.detail}")
    return redirect(request, _command_url(command_id), f"Replayed: now {now}")


@router.post("/dead-letters/{command_id}/edit", response_model=None)
def edit(
    request: Request,
    command_id: str,
    state: State,
    user: Operator,
    why: Why = "",
    command: Annotated[str, Form(max_length=100_000)] = "",
) -> Response:
    """Replay one dead letter with an edited command, validated like a new submission."""
    try:
        if not why.strip():
            raise HTTPException(422, NO_WHY)
        data = actions.parse_json_object(command)
        now = actions.edit(state, command_id, data, actor=user.name, why=why.strip())
    except HTTPException as exc:
        return render(
            request, "command.html", user, status_code=422, **command_context(state, command_id),
            edit_text=command, edit_why=why, flash_error=f"Not edited: {describe(exc.detail)}",
        )  # fmt: skip
    return redirect(request, _command_url(command_id), f"Edited and replayed: now {now}")


@router.post("/dead-letters/{command_id}/discard", response_model=None)
def discard(
    request: Request, command_id: str, state: State, user: Operator, why: Why = "",
    confirm: Annotated[str, Form(max_length=3)] = "",
) -> Response:  # fmt: skip
    """Discard one dead letter for good, once confirmed on the confirmation page."""
    back = _command_url(command_id)
    if confirm != "yes" or not why.strip():
        asked = Asked("discard", [command_id], why.strip(), back)
        return confirmation(request, state, user, asked, missing_why=confirm == "yes")
    try:
        actions.discard(state, command_id, actor=user.name, why=why.strip())
    except HTTPException as exc:
        return redirect(request, back, error=f"Not discarded: {exc.detail}")
    return redirect(request, back, "Discarded.")


@router.post("/dead-letters/selection", response_model=None)
async def act_on_selection(request: Request, state: State, user: Operator) -> Response:
    """Replay or discard the ticked dead letters, each on its own and audited; discard asks."""
    form = await request.form()
    back = str(form.get("back") or "/dead-letters")
    back = back if back.startswith("/dead-letters") else "/dead-letters"
    ids = list(dict.fromkeys(str(i) for i in form.getlist("ids")))  # once each, in order
    action, why = str(form.get("action") or ""), str(form.get("why") or "").strip()[:WHY_MAX]
    problem = _selection_problem(action, ids)
    if problem:
        return redirect(request, back, error=f"Nothing done: {problem}")
    confirmed = action == "replay" or form.get("confirm") == "yes"
    if not why or not confirmed:
        asked = Asked(action, ids, why, back)
        return confirmation(request, state, user, asked, missing_why=confirmed and not why)
    outcome = actions.act_on_each(state, ids, discard=action == "discard", actor=user.name, why=why)
    verb = "Discarded" if action == "discard" else "Replayed"
    news = f"{verb} {len(outcome.done)} of {len(ids)}." if outcome.done else None
    refused = "; ".join(f"{i}: {why_not}" for i, why_not in outcome.refused)
    return redirect(request, back, news, error=f"Not done: {refused}" if refused else None)


def _selection_problem(action: str, ids: list[str]) -> str | None:
    if action not in ("replay", "discard"):
        return "action: choose Replay or Discard"
    if not ids:
        return "select at least one dead letter"
    if len(ids) > MAX_SELECTED:
        return f"{len(ids)} selected; at most {MAX_SELECTED} (use a bulk run over a filter)"
    bad = next((i for i in ids if not COMMAND_ID.match(i)), None)
    return f"ids: {bad[:70]!r} is not a command id" if bad is not None else None


def confirmation(
    request: Request, state: AppState, user: Principal, asked: Asked, *, missing_why: bool
) -> HTMLResponse:
    """The page that asks before acting (422 with an alert when the reason was missing)."""
    records = {r.id: r for r in read_records(state.store.client, asked.ids) if r is not None}
    problem = f"Not done yet: {NO_WHY}" if missing_why else None
    return render(
        request, "dead_confirm.html", user, status_code=422 if missing_why else 200,
        action=asked.action, ids=asked.ids, records=records, why=asked.why, back=asked.back,
        problem=problem,
    )  # fmt: skip
