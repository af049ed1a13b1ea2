"""Builds the one FastAPI app: intake routes, operator API, dashboard pages, API docs, health."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from config.settings import Settings
from producer import Producer
from store.clock import utcnow
from store.command_store import CommandStore
from store.dispatching import Publish
from web import dashboard, docs, health, intake, webhook_producer_api
from web.auth import limit_hashes
from web.sessions import SessionMiddleware, SessionStore
from web.state import AppState


def create_app(
    settings: Settings,
    store: CommandStore,
    publish: Publish,
    *,
    clock: Callable[[], datetime] = utcnow,
) -> FastAPI:
    """The app over one store and broker; ``app.state.ordercmd`` holds what routes need.

    ``/docs`` and ``/openapi.json`` are served by ``web.docs``, behind sign-in or a key.
    """
    app = FastAPI(title="ordercmd", version="0.1.0", docs_url=None, redoc_url=None,
                  openapi_url=None)  # fmt: skip
    state = AppState(settings, store, publish, Producer(settings, store, publish), clock)
    app.state.ordercmd = state
    app.add_exception_handler(RequestValidationError, refused)  # type: ignore[arg-type]
    web = settings.web
    limit_hashes(web.keys.concurrent_hashes)
    app.include_router(health.router)
    app.include_router(intake.router)
    app.include_router(webhook_producer_api.router)
    app.include_router(dashboard.router)
    app.include_router(docs.router)
    sessions = SessionStore(store.client, web.session, clock)
    app.add_middleware(SessionMiddleware, store=sessions, secure=web.secure_cookies)
    return app


async def refused(_: Request, exc: RequestValidationError) -> JSONResponse:
    """FastAPI's 422, save that a ``NaN`` or ``Infinity`` read from a body is echoed as text.

    Python's JSON reader takes them, its writer refuses them: echoed as numbers, a 422 was a 500.
    """
    finite = {float: lambda x: x if math.isfinite(x) else str(x)}
    return JSONResponse({"detail": jsonable_encoder(exc.errors(), custom_encoder=finite)}, 422)
