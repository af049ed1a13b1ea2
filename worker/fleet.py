"""The fleet at a glance: workers, what each runs, the broker's and the store's queue depths."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import redis

from config.settings import Settings
from schemas import CommandState, WaitingFor
from store import keys
from store.backlog import Backlogs
from store.clock import redis_now_ms
from store.quarantine import Quarantine
from store.summary import oldest_waiting
from store.workers import RunningCommand, WorkerView, read_workers
from worker.queue_depths import BrokerDepths, broker_depths


@dataclass(frozen=True)
class StoreQueues:
    """Where commands wait in the store, and how long the oldest of each waiting state has."""

    outbox: int  # due to be sent by a scheduler (bulk first messages, unclaimed re-sends)
    sent_unclaimed: int  # a broker message is out, no worker has claimed it yet
    running: int
    retrying: int  # an attempt failed: parked in the retry schedule until the next
    waiting: dict[str, int]  # waiting their turn (no attempt spent), by what for
    bulk_backlog: int  # bulk commands waiting for a slot of their account
    quarantined: int  # broker messages refused
    oldest_waiting_s: dict[str, float | None]  # since admission, per state (waiting: what for)


@dataclass(frozen=True)
class WorkersOverview:
    """Everything on the workers page, read at ``now_ms`` (Redis time)."""

    now_ms: int
    workers: list[WorkerView]
    unattributed: list[RunningCommand]  # running, held by no live worker's process
    broker: BrokerDepths
    store: StoreQueues

    def to_json(self) -> dict[str, object]:
        """Plain JSON values (``/api/workers``)."""
        return {
            "now_ms": self.now_ms,
            "workers": [w.to_json() for w in self.workers],
            "unattributed": [asdict(r) for r in self.unattributed],
            "broker": self.broker.to_json(),
            "store": asdict(self.store),
        }


def read_overview(client: redis.Redis, settings: Settings) -> WorkersOverview:
    """Read the workers, the broker's queues and the store's, in a few round trips."""
    now_ms = redis_now_ms(client)
    workers, unattributed = read_workers(client, now_ms)
    apart = settings.broker_url if settings.broker_url != settings.redis_url else None
    broker = broker_depths(client, apart)
    return WorkersOverview(now_ms, workers, unattributed, broker, _store_queues(client, now_ms))


def _store_queues(client: redis.Redis, now_ms: int) -> StoreQueues:
    pipe = client.pipeline(transaction=False)
    pipe.zcount(keys.dispatch(), "-inf", now_ms)
    pipe.zcount(keys.dispatch(), f"({now_ms}", "+inf")
    pipe.zcard(keys.running())
    pipe.zcard(keys.index("state", CommandState.RETRYING))
    for what in WaitingFor:
        pipe.zcard(keys.index("waiting_for", what))
    outbox, sent, running, retrying, *waiting = pipe.execute()
    oldest = {
        name: (max(0.0, (now_ms - ms) / 1000) if ms is not None else None)
        for name, ms in oldest_waiting(client).items()
    }
    return StoreQueues(
        outbox=int(outbox),
        sent_unclaimed=int(sent),
        running=int(running),
        retrying=int(retrying),
        waiting={str(w): int(n) for w, n in zip(WaitingFor, waiting, strict=True)},
        bulk_backlog=sum(d.depth for d in Backlogs(client, {}).depths()),
        quarantined=Quarantine(client).count(),
        oldest_waiting_s=oldest,
    )
