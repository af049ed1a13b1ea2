"""The overview's charts: their series as JSON (for the page and the operator API) and uPlot.

The page fetches ``/charts.json`` with its session; ``/api/charts`` serves the same by bearer
token; both read through one cache per process (``ChartCache``). uPlot (MIT,
``web/static/uplot/VENDORED.md``) is served from the app, never a CDN.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated, Any, Literal

import redis
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse

from store.clock import redis_now_ms
from web import chart_data, series
from web.auth import Principal
from web.guards import api_user, page_user
from web.render import HERE, SECURITY_HEADERS
from web.shared_reads import SharedReads, per_app

router = APIRouter()
TTL_S = 2.0  # as fresh as the live overview's polls; every tab of a process shares one read
Span = Annotated[
    Literal["3h", "7d"],
    Query(alias="range", description="3h: per minute, last 3 hours; 7d: per hour, last 7 days"),
]
VENDORED = {"uPlot.iife.min.js": "text/javascript", "uPlot.min.css": "text/css"}
OURS = {"charts.js": "text/javascript", "charts.css": "text/css"}


class ChartCache(SharedReads[dict[str, Any]]):
    """The charts of a web process: each span read from Redis at most once per ``ttl_s``.

    A read is one pipelined round trip of up to 348 ``HGETALL`` (7 days), so tabs share it.
    """

    def __init__(
        self,
        client: redis.Redis,
        *,
        ttl_s: float = TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(lambda span: payload(client, span), ttl_s=ttl_s, clock=clock)
        self.client = client

    def payload(self, span: str) -> dict[str, Any]:
        """The charts over ``span``, at most ``ttl_s`` old."""
        return self.get(span)


def chart_cache(request: Request) -> ChartCache:
    """FastAPI dependency: the app's chart cache, made on first use."""
    cache: ChartCache = per_app(request, "chart_cache", lambda o: ChartCache(o.store.client))
    return cache


Cache = Annotated[ChartCache, Depends(chart_cache)]


def payload(client: redis.Redis, span: str) -> dict[str, Any]:
    """Every chart's series over ``span``, with the buckets' start times (s since the epoch)."""
    now_ms = redis_now_ms(client)
    if span == "7d":
        buckets, window, per = series.hours(client, now_ms), series.HOURS, "hour"
    else:
        buckets, window, per = series.minutes(client, now_ms), series.MINUTES, "minute"
    return {
        "range": span,
        "step_s": window.step_ms // 1000,
        "now_ms": now_ms,
        "minutes_kept_from_ms": series.MINUTES.starts(now_ms)[0],
        "t": [b.start_ms // 1000 for b in buckets],
        "charts": chart_data.charts(buckets, window.step_ms, per),
    }


@router.get("/charts.json", include_in_schema=False)
def charts_for_page(
    cache: Cache, _: Annotated[Principal, Depends(page_user)], span: Span = "3h"
) -> JSONResponse:
    """The overview's charts, fetched by the page (``static/charts/charts.js``) with its session."""
    return JSONResponse(cache.payload(span), headers={"Cache-Control": "no-store"})


@router.get("/api/charts", tags=["operator"])
def charts_api(
    cache: Cache, _: Annotated[Principal, Depends(api_user)], span: Span = "3h"
) -> dict[str, Any]:
    """The overview's charts: per minute (``3h``) or per hour (``7d``).

    Outcomes by state, retries and waits, dead letters by reason, latency p50/p95/p99 per
    provider and rate-limit use per account.

    Each chart has ``series`` of ``label``, ``values`` (one per time in ``t``, null: not
    kept) and ``total``. Retries, waits, discards and rate-limit use are kept per minute
    only, so per hour they cover the hours since ``minutes_kept_from_ms``.
    """
    return cache.payload(span)


@router.get("/static/uplot/{name}", include_in_schema=False)
def uplot_file(name: str) -> FileResponse:
    """The vendored uPlot script and stylesheet.

    Raises:
        HTTPException: 404 for any other name.
    """
    return _static("uplot", name, VENDORED)


@router.get("/static/charts/{name}", include_in_schema=False)
def charts_file(name: str) -> FileResponse:
    """The charts' own script and stylesheet.

    Raises:
        HTTPException: 404 for any other name.
    """
    return _static("charts", name, OURS)


def _static(folder: str, name: str, served: dict[str, str]) -> FileResponse:
    if name not in served:
        raise HTTPException(404)
    headers = SECURITY_HEADERS
    if folder == "uplot":  # a versioned file: cached a day (ours change with the app)
        headers = headers | {"Cache-Control": "public, max-age=86400"}
    return FileResponse(HERE / "static" / folder / name, media_type=served[name], headers=headers)
