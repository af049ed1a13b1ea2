"""``/health``: does the store answer and accept a write, has it evicted keys, are workers seen."""

from __future__ import annotations

import time
from typing import Annotated, Any

import redis
from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from redisconn.client import evicted_keys
from store import keys
from store.summary import workers_seen
from web.state import AppState, app_state

router = APIRouter(tags=["health"])

PROBE_TTL_MS = 10_000  # the write probe's key expires by itself


@router.get("/health")
def health(state: Annotated[AppState, Depends(app_state)]) -> JSONResponse:
    """200 when Redis answers, accepts a write and has evicted nothing; 503 (degraded) otherwise.

    The body says which: ``redis`` is ``ok``, ``unreachable: …``, ``refuses writes: …`` or
    ``evicting: …``; ``evicted_keys`` is the server's count since it started, and
    ``workers_seen`` how many workers' schedulers ticked in the last minute.
    """
    body: dict[str, Any] = {"redis": "ok"}
    client = state.store.client
    try:
        seen = workers_seen(client)
        evicted = evicted_keys(client)
    except redis.RedisError as exc:
        body["redis"] = f"unreachable: {type(exc).__name__}"
        return JSONResponse(body, status_code=503)
    body |= {"evicted_keys": evicted, "workers_seen": len(seen)}  # a count: it names no hosts
    try:
        client.set(keys.health_probe(), str(round(time.time() * 1000)), px=PROBE_TTL_MS)
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        body["redis"] = f"unreachable: {type(exc).__name__}"
        return JSONResponse(body, status_code=503)
    except redis.RedisError as exc:  # noeviction at maxmemory answers OOM; a replica READONLY
        body["redis"] = f"refuses writes: {type(exc).__name__}: {str(exc)[:200]}"
        return JSONResponse(body, status_code=503)
    if evicted:
        body["redis"] = (
            f"evicting: {evicted} keys evicted since the server started; commands may be lost "
            "(set maxmemory-policy noeviction, then CONFIG RESETSTAT)"
        )
        return JSONResponse(body, status_code=503)
    return JSONResponse(body)
