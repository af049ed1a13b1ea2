"""Operator pauses as the web app acts on them (the page's forms and the API alike)."""

from __future__ import annotations

import redis
from fastapi import HTTPException

from config.settings import Settings
from store.pauses import NotPaused, Pauses
from web.actions import http_errors


def act(client: redis.Redis, settings: Settings, action: str, target: str, *, actor: str,
        why: str) -> tuple[str, int]:  # fmt: skip
    """Pause or resume ``target`` (``provider[:account]``): the target and its held commands.

    Raises:
        HTTPException: 422 naming the field (provider, account, why), 409 when not paused.
    """
    pauses = Pauses(client, settings.accounts)
    with http_errors():
        parsed = pauses.target(target)
        if action == "pause":
            return parsed.field, pauses.pause(parsed, actor=actor, why=why)
        try:
            return parsed.field, pauses.resume(parsed, actor=actor, why=why)
        except NotPaused as exc:
            raise HTTPException(409, str(exc)) from None
