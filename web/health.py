"""``/health``: is the store reachable, and have workers been seen."""

from __future__ import annotations

import time
from typing import Annotated, Any

import redis
from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from store import keys
from web.state import AppState, app_state

router = APIRouter(tags=["health"])

WORKER_SEEN_S = 60  # a worker whose scheduler ticked this recently counts as alive


@router.get("/health")
def health(state: Annotated[AppState, Depends(app_state)]) -> JSONResponse:
    """200 when Redis answers (with the workers seen in the last minute), 503 otherwise."""
    body: dict[str, Any] = {"redis": "ok"}
    client = state.store.client
    try:
        now_ms = time.time() * 1000
        seen = client.zrangebyscore(keys.workers_seen(), now_ms - WORKER_SEEN_S * 1000, "+inf")
    except redis.RedisError as exc:
        body["redis"] = f"unreachable: {type(exc).__name__}"
        return JSONResponse(body, status_code=503)
    body["workers_seen"] = sorted(seen)
    return JSONResponse(body)
