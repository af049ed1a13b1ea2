"""Builds the one FastAPI app: intake routes, operator API, dashboard pages, health."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.sessions import SessionMiddleware

from config.settings import Settings
from producer import Producer
from store.command_store import CommandStore
from store.dispatching import Publish
from web import dashboard, health, intake
from web.auth import session_options
from web.state import AppState


def create_app(settings: Settings, store: CommandStore, publish: Publish) -> FastAPI:
    """The app over one store and broker; ``app.state.ordercmd`` holds what routes need."""
    app = FastAPI(title="ordercmd", version="0.1.0")
    app.state.ordercmd = AppState(settings, store, publish, Producer(settings, store, publish))
    app.include_router(health.router)
    app.include_router(intake.router)
    app.include_router(dashboard.router)
    app.add_middleware(SessionMiddleware, **session_options(settings.web))
    return app
