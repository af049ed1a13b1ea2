"""``/health``: is the store reachable, and have workers been seen."""

from __future__ import annotations

from typing import Annotated, Any

import redis
from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from store.summary import workers_seen
from web.state import AppState, app_state

router = APIRouter(tags=["health"])


@router.get("/health")
def health(state: Annotated[AppState, Depends(app_state)]) -> JSONResponse:
    """200 when Redis answers (with how many workers were seen in the last minute), else 503."""
    body: dict[str, Any] = {"redis": "ok"}
    client = state.store.client
    try:
        seen = workers_seen(client)
    except redis.RedisError as exc:
        body["redis"] = f"unreachable: {type(exc).__name__}"
        return JSONResponse(body, status_code=503)
    body["workers_seen"] = len(seen)  # a count: the public /health names no hosts
    return JSONResponse(body)
