"""The providers page: each account's operator pause, held commands and flow state; pause forms.

Viewers see it; only operators get the forms, and the posts check the role, the CSRF token and
the origin (``form_operator``). Every pause and resume needs a reason and is audited.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from schemas import Provider
from store.pause_state import account_pauses, provider_pauses
from web.auth import Principal
from web.flow_view import flow_summary
from web.guards import form_operator, page_user
from web.pause_view import act
from web.render import redirect, render
from web.state import AppState, app_state

router = APIRouter(include_in_schema=False)
Target = Annotated[str, Form(max_length=250)]
Why = Annotated[str, Form(max_length=1000)]  # blank or too long: refused naming ``why``


@router.get("/providers", response_class=HTMLResponse)
def providers_page(
    request: Request,
    state: Annotated[AppState, Depends(app_state)],
    user: Annotated[Principal, Depends(page_user)],
) -> HTMLResponse:
    """Per provider and account: paused or not (by whom, why), commands held, breaker, limit."""
    client = state.store.client
    rows = account_pauses(client, state.settings)
    providers = [p.value for p in Provider if any(r.provider == p.value for r in rows)]
    return render(
        request, "providers.html", user, rows=rows, providers=providers,
        whole=provider_pauses(client),
        flow={p: flow_summary(client, state.settings, Provider(p)) for p in providers},
    )  # fmt: skip


def _act(request: Request, state: AppState, user: Principal, action: str, target: str,
         why: str) -> RedirectResponse:  # fmt: skip
    try:
        field, held = act(state.store.client, state.settings, action, target,
                          actor=user.name, why=why)  # fmt: skip
    except HTTPException as exc:
        return redirect(request, "/providers", error=f"Not done: {_detail(exc.detail)}")
    if action == "pause":
        return redirect(request, "/providers", f"Paused {field}: {held} command(s) held.")
    return redirect(request, "/providers",
                    f"Resumed {field}: {held} held command(s) go out in order.")  # fmt: skip


def _detail(detail: object) -> str:
    if isinstance(detail, list):
        return "; ".join(f"{d['field']}: {d['problem']}" for d in detail)
    return str(detail)


@router.post("/providers/pause")
def pause(
    request: Request,
    target: Target,
    state: Annotated[AppState, Depends(app_state)],
    user: Annotated[Principal, Depends(form_operator)],
    why: Why = "",
) -> RedirectResponse:
    """Pause a provider or one account until resumed."""
    return _act(request, state, user, "pause", target, why)


@router.post("/providers/resume")
def resume(
    request: Request,
    target: Target,
    state: Annotated[AppState, Depends(app_state)],
    user: Annotated[Principal, Depends(form_operator)],
    why: Why = "",
) -> RedirectResponse:
    """Lift a pause; held commands go out in admission order at the account's rate."""
    return _act(request, state, user, "resume", target, why)
