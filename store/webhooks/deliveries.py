"""How far deliveries to each subscription got, its lease, and the dead deliveries.

Each subscription reads the outcome stream with a cursor of its own. One task at a time holds
its lease (``hook_lease.lua``) and sends in stream order, so a command's events arrive in the
order they happened; the cursor moves only past events delivered or dead-lettered
(``hook_save.lua``, fenced by the lease), so none is lost (at least once). Dead deliveries keep
the event, so a replay (``hook_replay.lua``) delivers it even after the stream trimmed it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import redis

from store import keys
from store.outcomes import Outcome
from store.scripts import script

DEAD_LETTER_MAX = 100_000  # dead deliveries kept, the oldest dropped first
REDELIVER_READ = 100  # replayed deliveries one lease looks at


@dataclass(frozen=True)
class Lease:
    """A task's hold on one subscription's deliveries."""

    subscription_id: str
    token: str
    cursor: str  # the last stream event delivered (or dead-lettered)
    head_attempts: int  # attempts spent on the next delivery so far
    failures: int  # failed calls in a row
    failing_since_ms: int | None
    now_ms: int  # Redis time when it was taken


@dataclass(frozen=True)
class DeadDelivery:
    """A delivery that ran out of attempts, with its event."""

    subscription_id: str
    event: Outcome
    attempts: int
    error: str
    dead_ms: int

    @property
    def member(self) -> str:
        """Its member in the dead-delivery set."""
        return f"{self.subscription_id} {self.event.event_id}"

    def body(self) -> str:
        """As stored."""
        return json.dumps({
            "subscription_id": self.subscription_id, "event_json": json.dumps(self.event.as_dict()),
            "attempts": self.attempts, "error": self.error, "dead_ms": self.dead_ms,
        })  # fmt: skip

    @classmethod
    def of(cls, body: str) -> DeadDelivery:
        """From its stored body."""
        data = json.loads(body)
        event = json.loads(data["event_json"])
        return cls(
            subscription_id=data["subscription_id"],
            event=outcome_of(event),
            attempts=int(data["attempts"]),
            error=data["error"],
            dead_ms=int(data["dead_ms"]),
        )


@dataclass(frozen=True)
class BatchCounts:
    """What one leased batch did, saved with its state."""

    redelivered: int  # replayed deliveries done (popped from the redeliver list)
    delivered: int  # calls the endpoint answered 2xx
    failed: int  # calls that failed (a batch stops at its first)
    dead: list[DeadDelivery]  # deliveries that ran out of attempts


@dataclass(frozen=True)
class DeadFilter:
    """Which dead deliveries to list or replay; ``None`` means any."""

    subscription_id: str | None = None
    event: str | None = None
    command_id: str | None = None
    event_id: str | None = None  # one delivery (with its subscription)

    def matches(self, dead: DeadDelivery) -> bool:
        """Whether ``dead`` passes every given field."""
        return (
            self.subscription_id in (None, dead.subscription_id)
            and self.event in (None, str(dead.event.event))
            and self.command_id in (None, dead.event.command_id)
            and self.event_id in (None, dead.event.event_id)
        )

    def __str__(self) -> str:
        given = [f"{k}={v}" for k, v in vars(self).items() if v is not None]
        return "where " + " ".join(given) if given else "(all)"


def outcome_of(data: dict[str, Any]) -> Outcome:
    """An outcome from its ``as_dict`` form (a redelivery, a dead delivery)."""
    fields = {k: str(v) for k, v in data.items()}
    fields |= {"id": fields["command_id"], "key": fields["idempotency_key"]}
    return Outcome.of(fields["event_id"], fields)


class Deliveries:
    """Delivery state of every subscription in one store."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self._lease = script(client, "hook_lease")
        self._save = script(client, "hook_save")
        self._replay = script(client, "hook_replay")

    def lease(self, sub_id: str, token: str, *, lease_ms: int) -> Lease | str:
        """Take the subscription's deliveries, or why not: ``disabled``, ``busy``, ``not_due``."""
        reply = self._lease(
            keys=[keys.webhook_state(sub_id), keys.outcomes()], args=[token, lease_ms]
        )
        if reply[0] != "leased":
            return str(reply[0])
        since = str(reply[4])
        return Lease(sub_id, token, str(reply[1]), int(reply[2]), int(reply[3]),
                     int(since) if since else None, int(reply[5]))  # fmt: skip

    def redeliveries(self, sub_id: str) -> list[Outcome]:
        """The replayed events waiting for the subscription, first first."""
        raw = self.client.lrange(keys.webhook_redeliver(sub_id), 0, REDELIVER_READ - 1)
        return [outcome_of(json.loads(str(item))) for item in raw]

    def save(self, lease: Lease, fields: dict[str, str], batch: BatchCounts) -> bool:
        """End the lease, saving ``fields`` ('' deletes one); False when the lease was lost."""
        pairs = [x for d in batch.dead for x in (d.member, d.body())]
        return bool(self._save(
            keys=[keys.webhook_state(lease.subscription_id),
                  keys.webhook_redeliver(lease.subscription_id),
                  keys.webhook_dead_letters(), keys.webhook_dead_letter_bodies()],
            args=[lease.token, json.dumps(fields), batch.redelivered, DEAD_LETTER_MAX,
                  batch.delivered, batch.failed, *pairs],
        ))  # fmt: skip

    def state(self, sub_id: str) -> dict[str, str]:
        """The subscription's delivery state, for status pages."""
        fields: dict[str, str] = self.client.hgetall(keys.webhook_state(sub_id))  # type: ignore[assignment]
        fields.pop("lease_token", None)
        fields["redeliver"] = str(self.client.llen(keys.webhook_redeliver(sub_id)))
        return fields

    def dead(self, *, limit: int = 1000) -> list[DeadDelivery]:
        """Dead deliveries, oldest first."""
        members = self.client.zrange(keys.webhook_dead_letters(), 0, limit - 1)
        if not members:
            return []
        bodies = self.client.hmget(keys.webhook_dead_letter_bodies(), members)  # type: ignore[arg-type]
        return [DeadDelivery.of(str(b)) for b in bodies if b]

    def replay(self, dead: DeadDelivery) -> bool:
        """Queue a dead delivery to be sent again, once; False if it was replayed already."""
        return self.replay_member(dead.member)

    def replay_member(self, member: str) -> bool:
        """``replay`` by its member in the dead-delivery set (``<subscription id> <event id>``)."""
        subscription_id = member.partition(" ")[0]
        return bool(self._replay(
            keys=[keys.webhook_dead_letters(), keys.webhook_dead_letter_bodies(),
                  keys.webhook_redeliver(subscription_id)],
            args=[member],
        ))  # fmt: skip

    def disable(self, sub_id: str, why: str) -> None:
        """Stop deliveries to the subscription (shown to operators)."""
        self.client.hset(keys.webhook_state(sub_id), mapping={"disabled": 1, "disabled_why": why})

    def enable(self, sub_id: str) -> int:
        """Resume deliveries, and deliver what the subscription missed.

        That is the stream from its cursor on, and the deliveries that died since it started
        failing (replayed).

        Returns:
            How many dead deliveries were replayed.
        """
        state = self.client.hmget(keys.webhook_state(sub_id), ["failing_since_ms"])
        since = int(state[0] or 0)
        mine = [d for d in self.dead(limit=DEAD_LETTER_MAX) if d.subscription_id == sub_id]
        replayed = sum(self.replay(d) for d in mine if d.dead_ms >= since)
        self.client.hdel(
            keys.webhook_state(sub_id), "disabled", "disabled_why", "next_ms", "failures",
            "head_attempts", "failing_since_ms",
        )  # fmt: skip
        return replayed
