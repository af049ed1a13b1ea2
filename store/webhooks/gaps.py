"""Gaps in a subscription's deliveries: events the stream's bound trimmed before it read them.

A subscription that lags past the outcome stream's bound reads on from the stream's first entry:
the events between its cursor and that entry are gone. Each gap is recorded explicitly (the lost
range of event ids and its times), counted for ``/metrics``, shown to operators, and can be
filled from the command records: each command whose final state came in the gap's time, and that
the subscription wants, gets its final event rebuilt from its record (``reconstructed``; the
notable events in between, retries and replays, cannot be rebuilt, and a command whose record
expired is gone). A rebuilt event's id is stable, so filling twice sends the same ``webhook-id``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import redis

from providers.errors import OrderCmdError
from store import keys
from store.clock import redis_now_ms
from store.outcomes import FINAL_EVENTS, Outcome, OutcomeEvent, Outcomes
from store.search import Search, SearchFilter
from store.webhooks.subscriptions import Subscription

GAPS_KEPT = 100  # gaps one subscription keeps, the oldest dropped first
FILL_LOOKBACK_MS = 7 * 24 * 3600 * 1000  # commands admitted this long before a gap are looked at
FINAL_STATES = tuple(str(e) for e in FINAL_EVENTS)  # their states are named like their events


class NoSuchGap(OrderCmdError, LookupError):
    """The subscription has no gap with that number, or it was filled already."""


@dataclass(frozen=True)
class Gap:
    """Events after ``after`` and before ``before`` (stream ids) were trimmed unread."""

    after: str
    before: str
    found_ms: int
    filled: int | None = None  # events rebuilt from the records, once filled

    @property
    def from_ms(self) -> int:
        """The time of the last event the subscription had."""
        return int(self.after.partition("-")[0])

    @property
    def to_ms(self) -> int:
        """The time of the first event it could read again."""
        return int(self.before.partition("-")[0])


class Gaps:
    """The delivery gaps of every subscription in one store."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def record(self, sub_id: str, after: str, before: str) -> bool:
        """Keep a gap (once: the same range again is the same gap); whether it was new."""
        newest = self.client.lindex(keys.webhook_gaps(sub_id), 0)
        if newest and json.loads(str(newest))["after"] == after:
            return False
        gap = Gap(after, before, redis_now_ms(self.client))
        pipe = self.client.pipeline(transaction=True)
        pipe.lpush(keys.webhook_gaps(sub_id), json.dumps(asdict(gap)))
        pipe.ltrim(keys.webhook_gaps(sub_id), 0, GAPS_KEPT - 1)
        pipe.hincrby(keys.webhook_state(sub_id), "gaps_total", 1)
        pipe.execute()
        return True

    def of(self, sub_id: str) -> list[Gap]:
        """The subscription's gaps, newest first (number 0)."""
        raw = self.client.lrange(keys.webhook_gaps(sub_id), 0, -1)
        return [Gap(**json.loads(str(item))) for item in raw]

    def fill(
        self, sub: Subscription, search: Search, number: int = 0, *, actor: str, why: str
    ) -> int:
        """Queue the rebuilt final events of gap ``number`` for the subscription, once (audited).

        Returns:
            How many events were rebuilt.

        Raises:
            NoSuchGap: no such gap, or it was filled already.
        """
        gaps = self.of(sub.id)
        if not 0 <= number < len(gaps) or gaps[number].filled is not None:
            raise NoSuchGap(f"{sub.id} has no unfilled gap number {number}")
        gap = gaps[number]
        rebuilt = [o for o in self._rebuilt(sub, search, gap) if sub.matches(o)]
        filled = Gap(gap.after, gap.before, gap.found_ms, len(rebuilt))
        pipe = self.client.pipeline(transaction=True)
        for outcome in rebuilt:
            pipe.rpush(keys.webhook_redeliver(sub.id), json.dumps(outcome.as_dict()))
        pipe.lset(keys.webhook_gaps(sub.id), number, json.dumps(asdict(filled)))
        pipe.xadd(keys.audit(), {"action": "webhook_fill_gap", "command_id": "", "actor": actor,
                                 "why": f"{sub.id} gap {number}: {len(rebuilt)} events rebuilt"
                                 + (f": {why}" if why else ""),
                                 "at_ms": redis_now_ms(self.client)})  # fmt: skip
        pipe.execute()
        return len(rebuilt)

    def _rebuilt(self, sub: Subscription, search: Search, gap: Gap) -> Iterator[Outcome]:
        """The final event of each command that ended in the gap, oldest first."""
        states = [s for s in FINAL_STATES if s in sub.events]
        # the gap ends inside a millisecond: events of that ms still in the stream were read
        kept = {o.command_id for o in Outcomes(self.client).between(gap.before, gap.to_ms + 1)
                if o.final}  # fmt: skip
        found: list[Outcome] = []
        for state in states:
            where = SearchFilter(state=state, provider=sub.provider, account=sub.account,
                                 since_ms=max(0, gap.from_ms - FILL_LOOKBACK_MS),
                                 until_ms=gap.to_ms)  # fmt: skip
            for ids in search.iter_ids(where):
                found += self._ended_in(ids, gap)
        yield from sorted((o for o in found if o.command_id not in kept),
                          key=lambda o: (o.at_ms, o.command_id))  # fmt: skip

    def _ended_in(self, ids: list[str], gap: Gap) -> list[Outcome]:
        pipe = self.client.pipeline(transaction=False)
        for command_id in ids:
            pipe.hmget(keys.command(command_id), "envelope", "state", "dead_reason",
                       "last_message", "finished_ms", "updated_ms")  # fmt: skip
            pipe.llen(keys.attempts(command_id))
        replies = pipe.execute()
        ended = []
        for command_id, fields, attempts in zip(ids, replies[0::2], replies[1::2], strict=True):
            envelope, state, reason, message, finished_ms, updated_ms = fields
            at_ms = int(finished_ms or updated_ms or 0)
            if not envelope or state not in FINAL_STATES or not gap.from_ms < at_ms <= gap.to_ms:
                continue
            data = json.loads(envelope)
            command = data["command"]
            ended.append(Outcome(
                event_id=f"gap-{command_id}-{state}", event=OutcomeEvent(state),
                command_id=command_id, idempotency_key=data["idempotency_key"],
                provider=command["provider"], account=command["account"],
                order_id=command["order_id"], kind=command["kind"], state=state,
                reason=reason or "", attempts=int(attempts), message=message or "",
                at_ms=at_ms, producer=data.get("producer") or "", reconstructed=True,
            ))  # fmt: skip
        return ended
