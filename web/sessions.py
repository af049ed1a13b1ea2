"""Server-side dashboard sessions in Redis: the cookie holds only a random id (OWASP sessions).

A session ends at logout (its key is deleted, so a copied cookie is refused), after
``idle_s`` without a request and ``absolute_s`` after sign-in, whichever comes first (a live
page's own polls, sent with ``X-Live: 1``, are served but are not requests of the operator's:
they neither save nor slide the session). Ids come
only from the server (an unknown id is never adopted) and a new one is issued at sign-in.
Redis holds each session under the SHA-256 of its id, with a TTL as a second bound.

Not ``starsessions`` (2.2): it bounds one lifetime (idle or absolute, not both), adopts an
unknown id that a client sends, leaves the old id alive when it regenerates one, reads
``time.time()`` rather than an injectable clock, and needs a second, asyncio Redis client.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis
from anyio import to_thread
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import HTTPConnection, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from config.web import SessionLimits
from store import keys

COOKIE = "ordercmd_session"
STATE = "ordercmd.session"  # the scope key of a request's SessionState
PASSIVE_HEADER = "x-live"  # sent by live pages' polls (web.live)
Clock = Callable[[], datetime]


@dataclass
class SessionState:
    """What the middleware knows of this request's session beyond its data."""

    session_id: str | None
    created_ms: int
    address: str  # the client's, for the limit on new signed-out sessions
    renew: bool = False  # a new id at the next save; the old one is deleted
    passive: bool = False  # a live page's poll (``X-Live: 1``): read, never saved or slid


class SessionStore:
    """Sessions as JSON in Redis, checked against the idle and absolute limits on each read."""

    def __init__(self, client: redis.Redis, limits: SessionLimits, clock: Clock) -> None:
        self.client = client
        self.limits = limits
        self.clock = clock

    def now_ms(self) -> int:
        """The app clock in ms since the epoch."""
        return int(self.clock().timestamp() * 1000)

    def load(self, session_id: str) -> tuple[dict[str, Any], int] | None:
        """The data and creation time (ms) of a live session, or ``None`` (gone or timed out)."""
        raw = self.client.get(keys.session(_digest(session_id)))
        if raw is None:
            return None
        stored = json.loads(raw)
        data, created_ms = stored["data"], int(stored["created_ms"])
        if self._ttl_ms(data, created_ms, int(stored["seen_ms"])) <= 0:
            self.delete(session_id)
            return None
        return data, created_ms

    def save(self, session_id: str, data: dict[str, Any], created_ms: int, *, new: bool) -> bool:
        """Store ``data`` as seen now; False when the session timed out or was ended meanwhile.

        An existing session is only overwritten while its key exists (``XX``), so a request
        that was running when its session ended cannot bring it back.
        """
        now_ms = self.now_ms()
        ttl_ms = self._ttl_ms(data, created_ms, now_ms)
        if ttl_ms <= 0:
            return False
        body = json.dumps({"data": data, "created_ms": created_ms, "seen_ms": now_ms})
        key = keys.session(_digest(session_id))
        return bool(self.client.set(key, body, px=ttl_ms, nx=new, xx=not new))

    def may_start_anonymous(self, address: str) -> bool:
        """Count a new signed-out session for ``address``; False past its limit.

        Every sign-in form needs a session for its CSRF token: this keeps a flood of form
        loads from filling Redis (each session is about 250 bytes for ``anonymous_idle_s``).
        """
        key = keys.limit_counter("session-addr", hashlib.sha256(address.encode()).hexdigest()[:32])
        pipe = self.client.pipeline(transaction=True)
        pipe.incr(key)
        pipe.expire(key, self.limits.anonymous_idle_s, nx=True)
        count, _ = pipe.execute()
        return int(count) <= self.limits.anonymous_per_address

    def delete(self, session_id: str) -> None:
        """End a session: its id is refused from now on."""
        self.client.delete(keys.session(_digest(session_id)))

    def _ttl_ms(self, data: dict[str, Any], created_ms: int, seen_ms: int) -> int:
        """How long a session seen at ``seen_ms`` lives on from now (<= 0: it has ended)."""
        limits = self.limits
        idle_s = limits.idle_s if "user" in data else min(limits.idle_s, limits.anonymous_idle_s)
        now_ms = self.now_ms()
        idle_end_ms = seen_ms + idle_s * 1000
        absolute_end_ms = created_ms + limits.absolute_s * 1000
        return min(idle_end_ms, absolute_end_ms) - now_ms


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def renew_session(request: Request) -> None:
    """Give the session a new id and a new start (at sign-in: no fixation); the old id ends."""
    state: SessionState = request.scope[STATE]
    state.renew = True
    state.created_ms = 0  # the absolute timeout counts from now


def end_session(request: Request) -> None:
    """Sign out: forget the data; the id is deleted in Redis when the response starts."""
    request.session.clear()
    request.scope[STATE].renew = True


class SessionMiddleware:
    """Puts the Redis session in ``request.session`` and writes it back with the response."""

    def __init__(self, app: ASGIApp, store: SessionStore, *, secure: bool) -> None:
        self.app = app
        self.store = store
        self.flags = "Path=/; HttpOnly; SameSite=Strict" + ("; Secure" if secure else "")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Load the session before the app runs; save it when the response starts."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cookie = HTTPConnection(scope).cookies.get(COOKIE)
        loaded = await to_thread.run_sync(self.store.load, cookie) if cookie else None
        scope["session"] = dict(loaded[0]) if loaded else {}
        address = scope["client"][0] if scope.get("client") else "unknown"
        state = SessionState(cookie if loaded else None, loaded[1] if loaded else 0, address)
        state.passive = Headers(scope=scope).get(PASSIVE_HEADER) == "1"
        scope[STATE] = state

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                value = await to_thread.run_sync(self._persist, scope["session"], state)
                if value is not None or (cookie and not loaded):
                    MutableHeaders(scope=message).append("Set-Cookie", self._cookie(value))
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _persist(self, data: dict[str, Any], state: SessionState) -> str | None:
        """Save the session; the cookie value to send ("" clears it, None sends none)."""
        old_id = state.session_id
        if state.passive and not state.renew:
            return None  # automatic requests are not activity: the idle timeout runs on
        if old_id is not None and state.renew:
            self.store.delete(old_id)
        if not data:
            return "" if old_id is not None else None
        if old_id is None or state.renew:
            if "user" not in data and not self.store.may_start_anonymous(state.address):
                return None
            new_id = secrets.token_urlsafe(32)
            created_ms = state.created_ms or self.store.now_ms()
            return new_id if self.store.save(new_id, data, created_ms, new=True) else ""
        return None if self.store.save(old_id, data, state.created_ms, new=False) else ""

    def _cookie(self, value: str | None) -> str:
        if not value:
            return f'{COOKIE}=""; Max-Age=0; {self.flags}'
        return f"{COOKIE}={value}; {self.flags}"
