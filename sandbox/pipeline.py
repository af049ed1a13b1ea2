"""The ASGI layer in front of the provider routes: outages, faults, latency, replays, lost replies.

Order per provider request: outage (503 + ``Retry-After``) -> pick a fault (script, then seeded
rates) -> latency -> injected error or HTML gateway page (nothing applied) -> timeout hold (the
request is then processed: the change lands after the client gave up) -> ``Idempotency-Key``
replay or the handler -> delivery, possibly broken (truncated, wrong type, huge, reply lost).

Reply lost: the handler has applied and logged the change; the pipeline starts the response with
the full ``Content-Length``, sends half of the body and returns without finishing it. Uvicorn then
closes the connection, so the client sees a protocol error (httpx ``RemoteProtocolError``).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math

from starlette.datastructures import Headers
from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from sandbox.common import CONTEXT_KEY, MUTATING_METHODS, RequestContext
from sandbox.delivery import GATEWAY_PAGE, buffered, capture, deliver
from sandbox.faults import ActionKind, BadResponse
from sandbox.replies import injected_error
from sandbox.state import IdempotencyKey, SandboxState, StoredResponse
from schemas import Provider

PREFIXES = (
    ("/backd", Provider.BACKD),
    ("/shoplazza", Provider.SHOPLAZZA),
    ("/fastpod", Provider.FASTPOD),
)
# How often a held (timeout-fault) request checks whether the server is stopping.
HOLD_POLL_S = 0.05
CONFLICT = StoredResponse(
    409,
    [(b"content-type", b"application/json")],
    json.dumps({"error": "A request with this Idempotency-Key is in progress"}).encode(),
)


def provider_for(path: str) -> Provider | None:
    """The provider whose prefix ``path`` falls under, or None (admin and unknown paths)."""
    for prefix, provider in PREFIXES:
        if path == prefix or path.startswith(prefix + "/"):
            return provider
    return None


def _credential(headers: Headers) -> str:
    """A digest of the caller's credentials, so a key never replays across accounts."""
    secret = f"{headers.get('authorization', '')}|{headers.get('access-token', '')}"
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


class FaultPipeline:
    """ASGI middleware that stands between the client and the provider routes."""

    def __init__(self, app: ASGIApp, state: SandboxState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI event; provider HTTP requests go through the fault pipeline."""
        provider = provider_for(scope["path"]) if scope["type"] == "http" else None
        if provider is None:
            await self.app(scope, receive, send)
            return
        status, label = await self._handle(provider, scope, receive, send)
        self.state.count(provider, status, label)

    async def _handle(
        self, provider: Provider, scope: Scope, receive: Receive, send: Send
    ) -> tuple[int, str]:
        plan = self.state.faults[provider]
        outage_s = plan.settings.outage_left_s(self.state.clock())
        if outage_s > 0:
            await injected_error(provider, 503, math.ceil(outage_s))(scope, receive, send)
            return 503, "outage"
        mutating = scope["method"] in MUTATING_METHODS
        receive = await buffered(receive)
        action = plan.next_action(is_mutation=mutating)
        delay_s = plan.delay_s()
        if delay_s > 0:
            await asyncio.sleep(delay_s)
        if action.kind is ActionKind.ERROR:
            retry_after_s = 1 if action.status in {429, 503} else None
            await injected_error(provider, action.status, retry_after_s)(scope, receive, send)
            return action.status, action.label
        if action.bad is BadResponse.HTML:
            await HTMLResponse(GATEWAY_PAGE, status_code=502)(scope, receive, send)
            return 502, action.label
        if action.kind is ActionKind.TIMEOUT and not await self._hold(plan.settings.timeout_hold_s):
            await injected_error(provider, 503)(scope, receive, send)
            return 503, "stopping"
        reply = await self._reply(provider, scope, receive, mutating)
        await deliver(reply, action, plan.settings, send)
        return reply.status, action.label

    async def _hold(self, hold_s: float) -> bool:
        """Hold a request for ``hold_s``; False when the server began stopping meanwhile."""
        deadline = asyncio.get_running_loop().time() + hold_s
        while (left_s := deadline - asyncio.get_running_loop().time()) > 0:
            if self.state.stopping:
                return False
            await asyncio.sleep(min(left_s, HOLD_POLL_S))
        return True

    async def _reply(
        self, provider: Provider, scope: Scope, receive: Receive, mutating: bool
    ) -> StoredResponse:
        """The handler's response, or the stored one for a repeated ``Idempotency-Key``."""
        headers = Headers(scope=scope)
        key = headers.get("idempotency-key")
        context = RequestContext(provider, key)
        scope[CONTEXT_KEY] = context
        if not (mutating and key):
            return await capture(self.app, scope, receive)
        cache_key: IdempotencyKey = (scope["method"], scope["path"], key, _credential(headers))
        stored = self.state.replies.get(cache_key)
        if stored is not None:
            self.state.fault_counts[provider]["replayed"] += 1
            return StoredResponse(
                stored.status, [*stored.headers, (b"idempotent-replayed", b"true")], stored.body
            )
        if cache_key in self.state.in_flight:
            return CONFLICT
        self.state.in_flight.add(cache_key)
        try:
            reply = await capture(self.app, scope, receive)
        finally:
            self.state.in_flight.discard(cache_key)
        if context.applied:
            self.state.remember(cache_key, reply)
        return reply
