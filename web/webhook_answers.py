"""The webhook APIs' answers: one body per action for operators and producers alike.

The operators' API (``/api/webhooks``) and the producers' (``/v1/webhooks``) act through
`WebhookActions` in their own scope and answer the same JSON; each turns a refusal (unknown
subscription 404, gap 409, refused subscription 422) into its own error shape.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from providers.errors import ConfigError
from store.webhooks.deliveries import DeadDelivery, DeadFilter
from store.webhooks.gaps import NoSuchGap
from store.webhooks.subscriptions import UnknownSubscription
from web.webhook_actions import WebhookActions, field_of

Refuse = Callable[[int, str, str], Exception]  # status, field, problem -> the API's error


@dataclass(frozen=True)
class Answers:
    """What one API answers for one actor's webhook actions."""

    acting: WebhookActions
    refuse: Refuse

    @contextmanager
    def refusals(self) -> Iterator[None]:
        """Refused actions as the API's errors, naming the field at fault."""
        try:
            yield
        except UnknownSubscription as exc:
            raise self.refuse(404, "subscription_id", str(exc)) from None
        except NoSuchGap as exc:
            raise self.refuse(409, "number", str(exc)) from None
        except ConfigError as exc:
            raise self.refuse(422, field_of(exc), str(exc)) from None

    def created(
        self, url: str, events: list[str], *, provider: str | None, account: str | None,
        producer: str | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """A new subscription with its secret, shown this once."""
        with self.refusals():
            sub, secret = self.acting.create(url, events, provider=provider, account=account,
                                             producer=producer)  # fmt: skip
        return sub.public() | {"secret": secret}

    def rotated(self, sub_id: str, *, overlap_s: float) -> dict[str, Any]:
        """A new secret, shown this once; the current one signs ``overlap_s`` more."""
        with self.refusals():
            secret = self.acting.rotate(sub_id, overlap_s=overlap_s)
        return {"id": sub_id, "secret": secret, "overlap_s": overlap_s}

    def disabled(self, sub_id: str, why: str) -> dict[str, Any]:
        """Deliveries stopped."""
        with self.refusals():
            self.acting.disable(sub_id, why)
        return {"id": sub_id, "disabled": True}

    def enabled(self, sub_id: str) -> dict[str, Any]:
        """Deliveries resumed, with how many dead ones were replayed."""
        with self.refusals():
            replayed = self.acting.enable(sub_id)
        return {"id": sub_id, "disabled": False, "replayed": replayed}

    def removed(self, sub_id: str) -> dict[str, Any]:
        """The subscription deleted."""
        with self.refusals():
            self.acting.remove(sub_id)
        return {"id": sub_id, "removed": True}

    def gap_filled(self, sub_id: str, number: int, why: str) -> dict[str, Any]:
        """Gap ``number`` filled, with how many final events were rebuilt."""
        with self.refusals():
            filled = self.acting.fill_gap(sub_id, number, why)
        return {"id": sub_id, "gap": number, "rebuilt": filled}

    def dead(self, where: DeadFilter, *, limit: int) -> list[dict[str, Any]]:
        """The actor's dead deliveries matching ``where``, oldest first."""
        return [dead_view(d) for d in self.acting.dead(where, limit=limit)]

    def replayed(self, where: DeadFilter, *, dry_run: bool) -> dict[str, Any]:
        """How many matching dead deliveries were replayed (a dry run: would be)."""
        return {"dry_run": dry_run, "count": self.acting.replay(where, dry_run=dry_run)}


def dead_view(d: DeadDelivery) -> dict[str, Any]:
    """A dead delivery as the APIs show it."""
    return {"subscription_id": d.subscription_id, "event": d.event.as_dict(),
            "attempts": d.attempts, "error": d.error, "dead_ms": d.dead_ms}  # fmt: skip
