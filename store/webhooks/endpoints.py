"""Each webhook endpoint's circuit breaker and rate limit, shared by every worker through Redis.

An endpoint is a subscription URL's origin (scheme, host, port): subscriptions sending to one
receiver share its limit and its breaker. They are the flow primitives provider accounts have
(``store.flow``): the breaker hash that ``breaker.lua`` records calls in, and a GCRA arrival
time, checked by ``hook_gate.lua`` before each call.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from urllib.parse import urlsplit

import redis

from config.webhooks import WebhookPolicy
from store import keys
from store.scripts import script

FLOW_PROVIDER = "webhook"  # the flow keys' provider part: {ordercmd}:breaker:webhook:<endpoint>


def endpoint_of(url: str) -> str:
    """The endpoint a URL sends to: its origin, lower-cased, with its port."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"


def endpoint_id(url: str) -> str:
    """A short stable name of the URL's endpoint, for its flow keys."""
    return hashlib.sha256(endpoint_of(url).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Gate:
    """What the endpoint's gate said: ``calls`` may go now (``clean`` breaker), or wait."""

    calls: int
    wait_ms: int  # when no call may go
    why: str  # '', 'open', 'probing' or 'rate'
    clean: bool


class Endpoints:
    """The breakers and rate limits of webhook endpoints in one store."""

    def __init__(self, client: redis.Redis, policy: WebhookPolicy) -> None:
        self.client = client
        self.policy = policy
        self._gate = script(client, "hook_gate")
        self._breaker = script(client, "breaker")

    def gate(self, url: str, wanted: int = 1) -> Gate:
        """Take the slots free now for up to ``wanted`` calls, or learn how long to wait."""
        name, policy = endpoint_id(url), self.policy
        calls, wait_ms, why, clean = self._gate(
            keys=[keys.breaker(FLOW_PROVIDER, name), keys.rate(FLOW_PROVIDER, name)],
            args=[max(1, round(1000 / policy.rate_per_s)), policy.burst,
                  round(policy.timeout_s * 2000), 1000, max(1, wanted)],
        )  # fmt: skip
        return Gate(int(calls), int(wait_ms), str(why), bool(int(clean)))

    def record(self, url: str, *, ok: bool) -> str:
        """Tell the endpoint's breaker how a call went; its state after (closed or open)."""
        policy = self.policy
        return str(self._breaker(
            keys=[keys.breaker(FLOW_PROVIDER, endpoint_id(url))],
            args=["ok" if ok else "fail", policy.breaker_failures,
                  round(policy.cool_down_s * 1000), round(policy.breaker_window_s * 1000)],
        ))  # fmt: skip

    def breaker(self, url: str) -> dict[str, str]:
        """The endpoint breaker's fields, for status pages."""
        fields: dict[str, str] = self.client.hgetall(keys.breaker(FLOW_PROVIDER, endpoint_id(url)))  # type: ignore[assignment]
        return fields
