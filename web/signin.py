"""Sign in and out of the dashboard: password checked by argon2, attempts throttled in Redis."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from web.auth import Principal, check_password, sign_in_allowed
from web.guards import check_form, form_user, session_user
from web.render import redirect, render
from web.state import AppState, app_state

router = APIRouter(include_in_schema=False)


@router.get("/login", response_model=None)
def login_page(
    request: Request, state: Annotated[AppState, Depends(app_state)], next: str = "/"
) -> HTMLResponse | RedirectResponse:
    """The sign-in form."""
    if session_user(request, state) is not None:
        return redirect(request, next)
    return render(request, "login.html", None, next=next)


@router.post("/login", response_model=None)
async def login(
    request: Request,
    state: Annotated[AppState, Depends(app_state)],
    name: Annotated[str, Form(max_length=128)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form(max_length=2048)] = "/",
) -> HTMLResponse | RedirectResponse:
    """Check the password (after Origin and CSRF checks) and start a session."""
    await check_form(request)
    web = state.settings.web
    address = request.client.host if request.client else "unknown"
    if not sign_in_allowed(state.store.client, name, address, web.sign_in_attempts_per_minute):
        return _refused(request, next, "Too many attempts: wait a minute and try again.", 429)
    user: Principal | None = check_password(web, name, password)
    if user is None:
        return _refused(request, next, "Wrong name or password.", 401)
    request.session.clear()  # a new session: fresh CSRF token
    request.session["user"] = user.name
    return redirect(request, next, f"Signed in as {user.name} ({user.role}).")


def _refused(request: Request, next: str, message: str, status: int) -> HTMLResponse:
    return render(request, "login.html", None, status_code=status, next=next, error=message)


@router.post("/logout")
def logout(request: Request, _: Annotated[Principal, Depends(form_user)]) -> RedirectResponse:
    """End the session."""
    request.session.clear()
    return redirect(request, "/login")
