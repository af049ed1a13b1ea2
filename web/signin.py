"""Sign in and out of the dashboard: argon2 password check, failure limits, audited failures.

Every failed sign-in and every lockout writes a log line and an audit entry (the name tried and
the address, never the password). A new session id is issued at sign-in; signing out deletes
the session in Redis, so a copy of the cookie is refused from then on.
"""

from __future__ import annotations

import math
from typing import Annotated

import redis
import structlog
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from store import keys
from web.auth import Principal, check_password
from web.guards import check_form, client_address, form_user, session_user
from web.render import redirect, render
from web.sessions import end_session, renew_session
from web.state import AppState, app_state
from web.throttle import Gate, SignInThrottle

router = APIRouter(include_in_schema=False)
log = structlog.get_logger("ordercmd.web")
REFUSALS = {
    "wait": "Too many failed sign-ins for this name: wait {s} s and try again.",
    "locked": "This name is locked after too many failed sign-ins: try again in {s} s.",
    "address": "Too many failed sign-ins from your address: try again in {s} s.",
}


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
    """Check the password (after Origin and CSRF checks and the failure limits); new session."""
    await check_form(request)
    web = state.settings.web
    address = client_address(request)
    throttle = SignInThrottle(state.store.client, web.sign_in)
    gate = await run_in_threadpool(throttle.enter, name, address, state.now_ms())
    if gate.verdict != "go":
        seconds = math.ceil(gate.retry_after_ms / 1000)
        log.warning("sign_in_refused", user=name, address=address, why=gate.verdict)
        return _refused(request, next, REFUSALS[gate.verdict].format(s=seconds), 429, seconds)
    user: Principal | None = await run_in_threadpool(check_password, web, name, password)
    if user is None:
        await run_in_threadpool(_failed, state, throttle, gate, name, address)
        return _refused(request, next, "Wrong name or password.", 401)
    await run_in_threadpool(throttle.succeeded, name, address)
    request.session.clear()  # a new session: new id, fresh CSRF token
    renew_session(request)
    request.session["user"] = user.name
    log.info("sign_in", user=user.name, address=address)
    return redirect(request, next, f"Signed in as {user.name} ({user.role}).")


def _failed(state: AppState, throttle: SignInThrottle, gate: Gate, name: str, address: str) -> None:
    """Log and audit a wrong password, and the lockouts it causes."""
    limits = throttle.limits
    client, now_ms = state.store.client, state.now_ms()
    why = f"from {address}: failure {gate.failures} of {limits.lockout_after} before a lockout"
    log.warning("sign_in_failed", user=name, address=address, failures=gate.failures)
    _audit(client, "sign_in_failed", name, why, now_ms)
    if throttle.locks_now(gate):
        why = f"from {address}: {gate.failures} failed sign-ins; locked for {limits.lockout_s} s"
        log.warning("sign_in_locked", user=name, address=address, lockout_s=limits.lockout_s)
        _audit(client, "sign_in_locked", name, why, now_ms)
    if gate.by_address == limits.failures_per_address:
        why = f"{address}: {gate.by_address} failed sign-ins within {limits.window_s} s"
        log.warning("sign_in_address_limited", address=address, failures=gate.by_address)
        _audit(client, "sign_in_address_limited", name, why, now_ms)


def _audit(client: redis.Redis, action: str, name: str, why: str, at_ms: int) -> None:
    client.xadd(keys.audit(), {"action": action, "command_id": "", "actor": name[:64],
                               "why": why, "at_ms": at_ms})  # fmt: skip


def _refused(
    request: Request, next: str, message: str, status: int, retry_after_s: int | None = None
) -> HTMLResponse:
    response = render(request, "login.html", None, status_code=status, next=next, error=message)
    if retry_after_s is not None:
        response.headers["Retry-After"] = str(retry_after_s)
    return response


@router.post("/logout")
def logout(request: Request, user: Annotated[Principal, Depends(form_user)]) -> RedirectResponse:
    """End the session: its id is deleted in Redis, so any copy of the cookie stops working."""
    end_session(request)
    log.info("sign_out", user=user.name, address=client_address(request))
    return redirect(request, "/login")
