"""What every route reaches through ``request.app.state.ordercmd``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from fastapi import Request

from config.settings import Settings
from producer import Producer
from store.clock import utcnow
from store.command_store import CommandStore
from store.dispatching import Publish


@dataclass(frozen=True)
class AppState:
    """Settings, store, broker publisher and producer of one app, and its clock."""

    settings: Settings
    store: CommandStore
    publish: Publish
    producer: Producer
    clock: Callable[[], datetime] = utcnow  # sessions and sign-in delays; tests pass their own

    def now_ms(self) -> int:
        """The app clock in ms since the epoch."""
        return int(self.clock().timestamp() * 1000)


def app_state(request: Request) -> AppState:
    """FastAPI dependency: the app's state."""
    state: AppState = request.app.state.ordercmd
    return state
