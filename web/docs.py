"""``/docs`` (Swagger UI, from ``web/static``) and ``/openapi.json``, behind sign-in or a key.

The API page works offline: Swagger UI's files are vendored in ``web/static/swagger-ui`` (see
its ``VENDORED.md``). ReDoc is not shipped; ``/redoc`` sends readers to ``/docs``.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Request, Security
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
from fastapi.security import HTTPAuthorizationCredentials

from web.credentials import KeyRefused, authenticate
from web.guards import bearer, client_address, session_user
from web.intake_auth import api_key
from web.render import HERE, SECURITY_HEADERS
from web.state import AppState, app_state

router = APIRouter(include_in_schema=False)
VENDORED = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css"}
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ordercmd API</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/swagger-ui/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/static/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/static/docs.js"></script></body></html>
"""
# Swagger UI sets inline styles; everything else stays as strict as the dashboard's pages.
DOCS_HEADERS = SECURITY_HEADERS | {
    "Content-Security-Policy": SECURITY_HEADERS["Content-Security-Policy"].replace(
        "style-src 'self'", "style-src 'self' 'unsafe-inline'"
    )
}


def docs_reader(
    request: Request,
    state: Annotated[AppState, Depends(app_state)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
    header_key: Annotated[str | None, Security(api_key)],
) -> str:
    """A signed-in operator, or an operator's token or producer's key; browsers go sign in.

    Raises:
        HTTPException: 303 to ``/login`` for a browser, else 401 (429 past a failure limit).
    """
    user = session_user(request, state)
    if user is not None:
        return user.name
    key = credentials.credentials if credentials else header_key
    if key:
        try:
            return authenticate(state.store.client, state.settings.web, key,
                                client_address(request), {"operator", "producer"}).name  # fmt: skip
        except KeyRefused as exc:
            raise HTTPException(exc.status, exc.reason) from None
    if "text/html" in request.headers.get("accept", ""):
        target = quote(request.url.path)
        raise HTTPException(303, "sign in first", headers={"Location": f"/login?next={target}"})
    raise HTTPException(401, "sign in, or send an API token or key",
                        headers={"WWW-Authenticate": "Bearer"})  # fmt: skip


Reader = Annotated[str, Depends(docs_reader)]


@router.get("/openapi.json")
def openapi(request: Request, _: Reader) -> JSONResponse:
    """The OpenAPI document of the intake and the operator API."""
    return JSONResponse(request.app.openapi(), headers={"Cache-Control": "no-store"})


@router.get("/docs")
def docs(_: Reader) -> HTMLResponse:
    """Swagger UI over ``/openapi.json``, from the app's own files."""
    return HTMLResponse(PAGE, headers=DOCS_HEADERS)


@router.get("/redoc")
def redoc(_: Reader) -> RedirectResponse:
    """ReDoc is not shipped: the same document is at ``/docs``."""
    return RedirectResponse("/docs", status_code=303)


@router.get("/static/swagger-ui/{name}")
def swagger_file(name: str) -> FileResponse:
    """Swagger UI's vendored script and stylesheet.

    Raises:
        HTTPException: 404 for any other name.
    """
    if name not in VENDORED:
        raise HTTPException(404)
    path = HERE / "static" / "swagger-ui" / name
    cached = SECURITY_HEADERS | {"Cache-Control": "public, max-age=86400"}  # 1.7 MB, versioned
    return FileResponse(path, media_type=VENDORED[name], headers=cached)
