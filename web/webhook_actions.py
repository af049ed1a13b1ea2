"""Webhook actions shared by the operator API, the producers' API and the page, each audited.

An operator sees and acts on every subscription; a producer (its API key) on its own only: the
others are unknown to it (404, never 403, so their ids tell it nothing).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from config.webhooks import InvalidProducerName, InvalidWebhookUrl
from store import keys
from store.clock import redis_now_ms
from store.search import Search
from store.webhooks.deliveries import DEAD_LETTER_MAX, DeadDelivery, DeadFilter, Deliveries
from store.webhooks.endpoints import Endpoints
from store.webhooks.gaps import Gaps
from store.webhooks.subscriptions import Subscription, Subscriptions, UnknownSubscription
from web.state import AppState


@dataclass(frozen=True)
class Scope:
    """Who acts: an operator (``producer`` None: every subscription) or one producer."""

    actor: str  # as the audit log names it
    producer: str | None = None

    @classmethod
    def of_producer(cls, name: str) -> Scope:
        """A producer acting through its API key."""
        return cls(f"producer:{name}", name)

    def sees(self, sub: Subscription) -> bool:
        """Whether the subscription is this actor's to see and change."""
        return self.producer is None or sub.producer == self.producer


def field_of(exc: Exception) -> str:
    """The request field a refused subscription names: its URL, producer or event kinds."""
    if isinstance(exc, InvalidWebhookUrl):
        return "url"
    return "producer" if isinstance(exc, InvalidProducerName) else "events"


class WebhookActions:
    """What one actor may do to webhooks in one app."""

    def __init__(self, state: AppState, scope: Scope) -> None:
        self.client = state.store.client
        self.subs = Subscriptions(self.client, state.settings)
        self.deliveries = Deliveries(self.client)
        self.endpoints = Endpoints(self.client, state.settings.webhook_policy)
        self.gaps = Gaps(self.client)
        self.search = Search.of(self.client, state.settings)
        self.scope = scope

    def audit(self, action: str, why: str) -> None:
        """One audit entry for a webhook action."""
        self.client.xadd(keys.audit(), {"action": action, "command_id": "",
                                        "actor": self.scope.actor, "why": why,
                                        "at_ms": redis_now_ms(self.client)})  # fmt: skip

    def listed(self) -> list[Subscription]:
        """The subscriptions this actor sees."""
        return [s for s in self.subs.all() if self.scope.sees(s)]

    def rows(self) -> list[dict[str, object]]:
        """The subscriptions with their delivery state, dead count and endpoint breaker."""
        dead: dict[str, int] = {}
        for d in self.dead(DeadFilter(), limit=DEAD_LETTER_MAX):
            dead[d.subscription_id] = dead.get(d.subscription_id, 0) + 1
        return [s.public() | {"state": self.deliveries.state(s.id), "dead": dead.get(s.id, 0),
                              "endpoint_breaker": self.endpoints.breaker(s.url).get("state"),
                              "gaps": [asdict(g) | {"from_ms": g.from_ms, "to_ms": g.to_ms}
                                       for g in self.gaps.of(s.id)]}
                for s in self.listed()]  # fmt: skip

    def get(self, sub_id: str) -> Subscription:
        """One subscription this actor sees.

        Raises:
            UnknownSubscription: none with that id, or another producer's.
        """
        sub = self.subs.get(sub_id)
        if not self.scope.sees(sub):
            raise UnknownSubscription(f"no webhook subscription {sub_id}")
        return sub

    def create(
        self,
        url: str,
        events: list[str],
        *,
        provider: str | None = None,
        account: str | None = None,
        producer: str | None = None,
    ) -> tuple[Subscription, str]:
        """A new subscription and its secret (shown this once); a producer's is its own.

        Raises:
            InvalidWebhookUrl: the URL is refused; ConfigError: an unknown event kind.
        """
        owner = self.scope.producer or producer or None
        sub, secret = self.subs.create(url, events, provider=provider or None,
                                       account=account or None, producer=owner)  # fmt: skip
        self.audit("webhook_add", f"{sub.id} {sub.url} for {owner or 'every producer'}")
        return sub, secret

    def rotate(self, sub_id: str, *, overlap_s: float, why: str = "") -> str:
        """A new secret (shown this once); the current ones sign ``overlap_s`` more."""
        self.get(sub_id)
        secret = self.subs.rotate(sub_id, overlap_s=overlap_s)
        self.audit("webhook_rotate", f"{sub_id} overlap {overlap_s:g} s{_because(why)}")
        return secret

    def disable(self, sub_id: str, why: str) -> None:
        """Stop deliveries; events wait in the stream for the re-enable."""
        self.get(sub_id)
        self.deliveries.disable(sub_id, why)
        self.audit("webhook_disable", f"{sub_id}: {why}")

    def enable(self, sub_id: str, why: str = "") -> int:
        """Resume deliveries and deliver what was missed; how many dead ones were replayed."""
        self.get(sub_id)
        replayed = self.deliveries.enable(sub_id)
        self.audit("webhook_enable",
                   f"{sub_id}: {replayed} dead deliveries replayed{_because(why)}")  # fmt: skip
        return replayed

    def remove(self, sub_id: str, why: str = "") -> None:
        """Delete a subscription made through an API (settings' stay in the settings)."""
        self.get(sub_id)
        if not self.subs.delete(sub_id):
            raise UnknownSubscription(f"{sub_id} is in the settings: remove it there")
        self.audit("webhook_remove", f"{sub_id}{_because(why)}")

    def fill_gap(self, sub_id: str, number: int, why: str = "") -> int:
        """Rebuild a gap's final events from the command records and queue them; how many.

        Raises:
            UnknownSubscription: not a subscription this actor sees.
            NoSuchGap: no such gap, or it was filled already.
        """
        return self.gaps.fill(self.get(sub_id), self.search, number, actor=self.scope.actor,
                              why=why)  # fmt: skip

    def dead(self, where: DeadFilter, *, limit: int) -> list[DeadDelivery]:
        """Dead deliveries of the subscriptions this actor sees, matching ``where``."""
        mine = {s.id for s in self.listed()}
        found = self.deliveries.dead(limit=DEAD_LETTER_MAX)
        return [d for d in found if d.subscription_id in mine and where.matches(d)][:limit]

    def replay(self, where: DeadFilter, *, dry_run: bool, why: str = "") -> int:
        """Replay the matching dead deliveries, each once (dry: count them); how many."""
        chosen = self.dead(where, limit=DEAD_LETTER_MAX)
        if dry_run:
            return len(chosen)
        done = sum(self.deliveries.replay(d) for d in chosen)
        self.audit("webhook_replay", f"{done} dead deliveries {where}{_because(why)}")
        return done


def _because(why: str) -> str:
    return f": {why}" if why else ""
