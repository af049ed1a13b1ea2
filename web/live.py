"""Live pages: a version per watched scope, polled by ``static/live.js`` behind the session.

A page names its scope (``store`` for the overview, lists and workers, ``command:<id>`` for a
command page) and the version it was rendered at. The script asks ``/live/version`` every few
seconds while the tab is visible and fetches the page again only when the version moved, so an
unchanged page costs one small request. Versions come from one reader per process
(`LiveVersions`): a scope is read from Redis at most once per ``TTL_S`` however many tabs
watch it (the store scope is one round trip of O(1) commands). Live requests carry ``X-Live``:
the session serves them but they do not count as activity (``web.sessions``), so an open tab
does not keep an idle session alive.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from typing import Annotated

import redis
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response

from schemas import CommandRecord
from store import keys
from web.guards import session_user
from web.render import SECURITY_HEADERS, templates
from web.shared_reads import SharedReads, per_app
from web.state import AppState, app_state

router = APIRouter(include_in_schema=False)
TTL_S = 1.0  # a scope's version is read from Redis at most this often per process
POLL_S = 2.0  # how often a visible page asks
MAX_SCOPES = 2000  # versions remembered per process (a command page each)
SCOPE = re.compile(r"^(store|command:[A-Za-z0-9_-]{1,64})$")
WORKER_SEEN_MS = 60_000  # as store.summary.WORKER_SEEN_S: a worker coming or going moves it


def command_version(state: str | None, updated_ms: int | str | None, attempts: int) -> str:
    """A command page's version: its state, last update and attempt count (from its record)."""
    return f"{state or 'gone'}.{updated_ms or 0}.{attempts}"


def record_version(record: CommandRecord) -> str:
    """The version of a command page rendered from ``record`` (as `read_command_version`)."""
    updated_ms = round(record.updated_at.timestamp() * 1000)
    return command_version(record.state, updated_ms, len(record.attempts))


def store_version(client: redis.Redis) -> str:
    """A digest of the store's state in one round trip of O(1) reads.

    It moves when a command is admitted, claimed, finishes, retries, dies or is acted on, when
    an operator acts (a pause or resume included: the audit stream), and when a broker message
    is quarantined or a worker comes or goes.
    """
    pipe = client.pipeline(transaction=False)
    for key in (keys.dispatch(), keys.running(), keys.schedule(), keys.dead_letters(),
                keys.quarantine()):  # fmt: skip
        pipe.zcard(key)
    pipe.get(keys.sequence())
    pipe.xrevrange(keys.outcomes(), count=1)
    pipe.xrevrange(keys.audit(), count=1)
    pipe.zcount(keys.workers_seen(), time.time() * 1000 - WORKER_SEEN_MS, "+inf")
    *counts, sequence, last, acted, workers = pipe.execute()
    last_id, acted_id = (entry[0][0] if entry else "0-0" for entry in (last, acted))
    text = f"{counts}|{sequence}|{last_id}|{acted_id}|{workers}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def read_command_version(client: redis.Redis, command_id: str) -> str:
    """The version of ``command_id``'s page, read from its record."""
    pipe = client.pipeline(transaction=False)
    pipe.hmget(keys.command(command_id), "state", "updated_ms")
    pipe.llen(keys.attempts(command_id))
    (state, updated_ms), attempts = pipe.execute()
    return command_version(state, updated_ms, int(attempts))


class LiveVersions(SharedReads[str]):
    """The one reader of versions in a web process: each scope at most once per ``ttl_s``."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        ttl_s: float = TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(self._read, ttl_s=ttl_s, clock=clock, max_keys=MAX_SCOPES)
        self.client = client

    def version(self, scope: str) -> str:
        """The version of ``scope`` (``store`` or ``command:<id>``), at most ``ttl_s`` old."""
        return self.get(scope)

    def _read(self, scope: str) -> str:
        kind, _, command_id = scope.partition(":")
        if kind == "command":
            return read_command_version(self.client, command_id)
        return store_version(self.client)


def live_versions(request: Request) -> LiveVersions:
    """The app's reader, made on first use."""
    reader: LiveVersions = per_app(request, "live_versions", lambda o: LiveVersions(o.store.client))
    return reader


def live_version(request: Request, scope: str) -> str:
    """Templates: the version a page is rendered at (read before or with its data)."""
    return live_versions(request).version(scope)


templates.env.globals["live_version"] = live_version
templates.env.globals["record_version"] = record_version


@router.get("/live/version")
def version(
    request: Request,
    state: Annotated[AppState, Depends(app_state)],
    scope: Annotated[str, Query(max_length=80)],
    since: Annotated[str | None, Query(max_length=80)] = None,
) -> Response:
    """The scope's version for a signed-in session; 204 when it is still ``since``."""
    if session_user(request, state) is None:
        raise HTTPException(401, "sign in first")
    if not SCOPE.match(scope):
        raise HTTPException(422, "scope: 'store' or 'command:<id>'")
    current = live_versions(request).version(scope)
    if since == current:
        return Response(status_code=204, headers=SECURITY_HEADERS)
    body = {"scope": scope, "version": current, "poll_s": POLL_S}
    return JSONResponse(body, headers=SECURITY_HEADERS)
