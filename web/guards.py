"""FastAPI dependencies guarding routes: session + CSRF + Origin for pages, bearer for ``/api``."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from web.auth import Principal, principal_named
from web.credentials import KeyRefused, authenticate
from web.state import AppState, app_state

bearer = HTTPBearer(
    auto_error=False,
    description="An operator's API token (oc_<key id>_<secret>); web.operators.<name>.token_hash.",
)
SAFE_FETCH_SITES = {None, "same-origin", "none"}


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use; every form posts it back."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def client_address(request: Request) -> str:
    """The peer's address (the proxy's, behind one), for failure limits and logs."""
    return request.client.host if request.client else "unknown"


def session_user(request: Request, state: AppState) -> Principal | None:
    """The signed-in operator of this browser session, if any."""
    return principal_named(state.settings.web, request.session.get("user"))


def page_user(request: Request, state: Annotated[AppState, Depends(app_state)]) -> Principal:
    """Pages: the signed-in operator; anyone else is sent to the sign-in page."""
    user = session_user(request, state)
    if user is None:
        target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        raise HTTPException(303, "sign in first", headers={"Location": f"/login?next={target}"})
    return user


async def check_form(request: Request) -> None:
    """Refuse a cross-site form post: Sec-Fetch-Site, Origin, then the CSRF token.

    Raises:
        HTTPException: 403 when any check fails.
    """
    if request.headers.get("sec-fetch-site") not in SAFE_FETCH_SITES:
        raise HTTPException(403, "cross-site request refused")
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != request.headers.get("host"):
        raise HTTPException(403, "cross-origin request refused")
    sent = (await request.form()).get("csrf_token")
    expected = request.session.get("csrf")
    if not isinstance(sent, str) or not isinstance(expected, str):
        raise HTTPException(403, "missing CSRF token")
    if not hmac.compare_digest(sent.encode(), expected.encode()):
        raise HTTPException(403, "bad CSRF token")


async def form_user(request: Request, state: Annotated[AppState, Depends(app_state)]) -> Principal:
    """Form posts of any signed-in operator (sign out): 401 without a session, 403 on CSRF."""
    user = session_user(request, state)
    if user is None:
        raise HTTPException(401, "sign in first")
    await check_form(request)
    return user


async def form_operator(user: Annotated[Principal, Depends(form_user)]) -> Principal:
    """Form posts that change commands: an operator only (a viewer gets 403)."""
    if not user.can_act:
        raise HTTPException(403, f"{user.name} is a viewer and cannot act")
    return user


def api_user(
    request: Request,
    state: Annotated[AppState, Depends(app_state)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> Principal:
    """``/api``: the operator whose token is in ``Authorization: Bearer``.

    Raises:
        HTTPException: 401 without a valid token, 429 past a failure limit.
    """
    if credentials is None:
        raise HTTPException(401, "a valid bearer token is needed",
                            headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
    web = state.settings.web
    try:
        holder = authenticate(state.store.client, web, credentials.credentials,
                              client_address(request), {"operator"})  # fmt: skip
    except KeyRefused as exc:
        raise HTTPException(
            exc.status, exc.reason, headers={"WWW-Authenticate": "Bearer"}
        ) from None
    user = principal_named(web, holder.name)
    assert user is not None  # the holder was found among the operators
    return user


def api_operator(user: Annotated[Principal, Depends(api_user)]) -> Principal:
    """``/api`` actions: an operator's token only (a viewer's gets 403)."""
    if not user.can_act:
        raise HTTPException(403, f"{user.name} is a viewer and cannot act")
    return user
