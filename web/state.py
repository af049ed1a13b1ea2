"""What every route reaches through ``request.app.state.ordercmd``."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from config.settings import Settings
from producer import Producer
from store.command_store import CommandStore
from store.dispatching import Publish


@dataclass(frozen=True)
class AppState:
    """Settings, store, broker publisher and producer of one app."""

    settings: Settings
    store: CommandStore
    publish: Publish
    producer: Producer


def app_state(request: Request) -> AppState:
    """FastAPI dependency: the app's state."""
    state: AppState = request.app.state.ordercmd
    return state
