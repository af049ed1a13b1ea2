"""Webhook subscriptions: those named in the settings and those made through the APIs.

A subscription belongs to a producer (the API key identity that submitted the commands): it gets
the outcomes of that producer's commands only. One without a producer is an operator's and gets
every command's.

An API subscription is stored in Redis with its signing secrets; the secret is shown once, when
it is made or rotated, and never read back out by any listing. A rotation keeps the old secret
signing for an overlap period, so receivers can switch without missing a delivery.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import redis

from config.settings import Settings
from config.webhooks import (
    WebhookSubscription,
    check_event_kinds,
    check_producer_name,
    check_webhook_url,
)
from providers.errors import OrderCmdError
from store import keys
from store.clock import redis_now_ms, utcnow
from store.outcomes import Outcome, Outcomes
from store.webhooks.signing import new_secret

SETTINGS_PREFIX = "cfg_"  # ids of subscriptions named in the settings
API_PREFIX = "wh_"


class UnknownSubscription(OrderCmdError, LookupError):
    """No webhook subscription has that id."""


@dataclass(frozen=True)
class Subscription:
    """Where outcome events go, which ones, and the secrets that sign them now."""

    id: str
    url: str
    events: frozenset[str]
    provider: str | None = None
    account: str | None = None
    producer: str | None = None  # whose commands; None: every producer's (an operator's)
    source: str = "api"  # or "settings"
    created_ms: int = 0
    signing_secrets: tuple[str, ...] = field(default=(), repr=False)

    def matches(self, outcome: Outcome) -> bool:
        """Whether the subscription wants this event."""
        return (
            outcome.event in self.events
            and self.producer in (None, outcome.producer)
            and self.provider in (None, outcome.provider)
            and self.account in (None, outcome.account)
        )

    def public(self) -> dict[str, object]:
        """What operators see: everything but the secrets."""
        return {
            "id": self.id,
            "url": self.url,
            "events": sorted(self.events),
            "provider": self.provider,
            "account": self.account,
            "producer": self.producer,
            "source": self.source,
            "created_ms": self.created_ms,
            "secrets_signing": len(self.signing_secrets),
        }


def from_settings(name: str, sub: WebhookSubscription) -> Subscription:
    """A subscription named in the settings."""
    signing = [sub.secret] + ([sub.previous_secret] if sub.previous_secret else [])
    return Subscription(
        id=SETTINGS_PREFIX + name,
        url=sub.url,
        events=frozenset(sub.events),
        provider=sub.provider,
        account=sub.account,
        producer=sub.producer,
        source="settings",
        signing_secrets=tuple(s.get_secret_value() for s in signing),
    )


class Subscriptions:
    """The subscriptions of one deployment: its settings' and those stored in Redis."""

    def __init__(self, client: redis.Redis, settings: Settings) -> None:
        self.client = client
        self.configured = [from_settings(n, s) for n, s in sorted(settings.webhooks.items())]

    def any(self) -> bool:
        """Whether there is a subscription at all (one ZCARD when the settings have none)."""
        return bool(self.configured) or bool(self.client.zcard(keys.webhooks()))

    def all(self) -> list[Subscription]:
        """Every subscription: the settings' first, then the API's by creation."""
        ids = [str(i) for i in self.client.zrange(keys.webhooks(), 0, -1)]
        pipe = self.client.pipeline(transaction=False)
        for sub_id in ids:
            pipe.hgetall(keys.webhook(sub_id))
        stored = [_stored(fields) for fields in pipe.execute() if fields]
        return self.configured + [s for s in stored if s is not None]

    def of_producer(self, producer: str) -> list[Subscription]:
        """The subscriptions that belong to ``producer``."""
        return [s for s in self.all() if s.producer == producer]

    def get(self, sub_id: str) -> Subscription:
        """One subscription.

        Raises:
            UnknownSubscription: no subscription has that id.
        """
        for sub in self.configured:
            if sub.id == sub_id:
                return sub
        found = _stored(self.client.hgetall(keys.webhook(sub_id)))  # type: ignore[arg-type]
        if found is None:
            raise UnknownSubscription(f"no webhook subscription {sub_id}")
        return found

    def create(
        self,
        url: str,
        events: Iterable[str],
        *,
        provider: str | None = None,
        account: str | None = None,
        producer: str | None = None,
    ) -> tuple[Subscription, str]:
        """Store a new subscription; it gets the events from now on.

        ``producer`` limits it to that producer's commands (None: every command's).

        Returns:
            The subscription and its secret: shown this once, never read back.

        Raises:
            InvalidWebhookUrl: the URL is refused (credentials or a secret in it, not https).
            InvalidProducerName: ``producer`` cannot be a producer's name.
            ConfigError: an unknown event kind.
        """
        url = check_webhook_url(url)
        producer = check_producer_name(producer or None)
        kinds = check_event_kinds(sorted(set(events)))
        sub_id = API_PREFIX + uuid.uuid4().hex[:16]
        secret = new_secret()
        now_ms = redis_now_ms(self.client)
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(keys.webhook(sub_id), mapping={
            "id": sub_id, "url": url, "events": ",".join(kinds), "provider": provider or "",
            "account": account or "", "producer": producer or "", "created_ms": now_ms,
            "secrets": json.dumps([{"secret": secret, "until_ms": None}]),
        })  # fmt: skip
        pipe.hset(keys.webhook_state(sub_id), "cursor", Outcomes(self.client).last_id())
        pipe.zadd(keys.webhooks(), {sub_id: now_ms})
        pipe.execute()
        return self.get(sub_id), secret

    def rotate(self, sub_id: str, *, overlap_s: float) -> str:
        """Give a stored subscription a new secret; the current ones sign ``overlap_s`` more.

        Returns:
            The new secret (shown this once).

        Raises:
            UnknownSubscription: no stored subscription has that id (settings rotate in the
                settings: set ``previous_secret`` to the old one for the overlap).
        """
        if sub_id.startswith(SETTINGS_PREFIX) or not self.client.exists(keys.webhook(sub_id)):
            raise UnknownSubscription(f"no subscription {sub_id} made through the API")
        now_ms = redis_now_ms(self.client)
        until_ms = now_ms + round(overlap_s * 1000)
        current = _live_secrets(self.client.hget(keys.webhook(sub_id), "secrets"), now_ms)  # type: ignore[arg-type]
        secret = new_secret()
        kept = [{"secret": s, "until_ms": min(u or until_ms, until_ms)} for s, u in current]
        entries = [{"secret": secret, "until_ms": None}, *kept]
        self.client.hset(keys.webhook(sub_id), "secrets", json.dumps(entries))
        return secret

    def delete(self, sub_id: str) -> bool:
        """Remove a stored subscription and its delivery state; False if there was none."""
        removed = self.client.zrem(keys.webhooks(), sub_id)
        self.client.delete(keys.webhook(sub_id), keys.webhook_state(sub_id),
                           keys.webhook_redeliver(sub_id), keys.webhook_gaps(sub_id))  # fmt: skip
        return bool(removed)


def _live_secrets(raw: str | None, now_ms: int) -> list[tuple[str, int | None]]:
    """The secrets still signing at ``now_ms`` (newest first)."""
    entries = json.loads(raw or "[]")
    return [
        (e["secret"], e["until_ms"])
        for e in entries
        if e["until_ms"] is None or int(e["until_ms"]) > now_ms
    ]


def _stored(fields: Mapping[str, str]) -> Subscription | None:
    if not fields:
        return None
    # the wall clock only filters out secrets whose overlap is over
    live = _live_secrets(fields.get("secrets"), int(utcnow().timestamp() * 1000))
    return Subscription(
        id=fields["id"],
        url=fields["url"],
        events=frozenset(fields["events"].split(",")),
        provider=fields.get("provider") or None,
        account=fields.get("account") or None,
        producer=fields.get("producer") or None,
        source="api",
        created_ms=int(fields.get("created_ms", 0)),
        signing_secrets=tuple(s for s, _ in live),
    )
