"""The operator dashboard: its pages, the operator API and metrics, as one router.

Pages need a signed-in session (forms also a CSRF token and a same-origin request); the
``/api`` routes and ``/metrics`` need an operator's bearer token. Only ``/login``, the public
part of ``/health`` and the static CSS and JS are served to anyone.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

from web import (
    audit_page,
    bulk_batch_pages,
    bulk_upload_pages,
    charts,
    dead_actions,
    dead_pages,
    live,
    metrics,
    operator_api,
    overview,
    pause_api,
    providers_page,
    quarantine_page,
    run_pages,
    search_pages,
    signin,
    webhook_api,
    webhook_page,
    webhook_run_api,
    webhook_run_pages,
    workers_page,
)
from web.render import HERE, SECURITY_HEADERS

router = APIRouter(tags=["dashboard"])
for module in (signin, overview, search_pages, dead_pages, dead_actions, run_pages, audit_page,
               quarantine_page, webhook_page, webhook_run_pages, operator_api, webhook_api,
               webhook_run_api,
               metrics, live,
               workers_page, charts, bulk_upload_pages, bulk_batch_pages, providers_page,
               pause_api):  # fmt: skip
    router.include_router(module.router)

STATIC = {"app.css": "text/css", "app.js": "text/javascript", "docs.js": "text/javascript",
          "live.js": "text/javascript",
          "bulk.js": "text/javascript", "bulk.css": "text/css",
          "dead_letters.js": "text/javascript", "dead_letters.css": "text/css",
          "favicon.svg": "image/svg+xml"}  # fmt: skip


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> FileResponse:
    """The icon, for what asks the conventional path (pages link ``/static/favicon.svg``)."""
    return static("favicon.svg")


@router.get("/static/{name}", include_in_schema=False)
def static(name: str) -> FileResponse:
    """The dashboard's own stylesheet and script (no third-party files)."""
    if name not in STATIC:
        raise HTTPException(404)
    return FileResponse(HERE / "static" / name, media_type=STATIC[name], headers=SECURITY_HEADERS)
