"""``/health``: is the store reachable, and have workers been seen."""

from __future__ import annotations

from typing import Annotated, Any

import redis
from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from web.state import AppState, app_state

router = APIRouter(tags=["health"])


@router.get("/health")
def health(state: Annotated[AppState, Depends(app_state)]) -> JSONResponse:
    """200 when Redis answers, 503 otherwise."""
    body: dict[str, Any] = {"redis": "ok"}
    try:
        state.store.client.ping()
    except redis.RedisError as exc:
        body["redis"] = f"unreachable: {type(exc).__name__}"
        return JSONResponse(body, status_code=503)
    return JSONResponse(body)
