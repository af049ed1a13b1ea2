"""Workers as the store knows them: each live worker's card, and what the running commands are.

A worker's scheduler writes its node name in ``workers_seen`` on every tick and, every
``CARD_EVERY_S``, a small card (pool, concurrency, queues, host, main and pool pids, start
time) that expires after ``CARD_TTL_S``: a worker that stops beating loses its card and is
shown by its last tick only, until the tick is a day old (``worker.scheduler``). A card holds
no settings and no secrets. A running command's claim names its ``host:pid``, which matches one
card's processes.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import redis

from store import keys
from store.summary import WORKER_SEEN_S

CARD_EVERY_S = 10.0  # how often a worker rewrites its card
CARD_TTL_S = WORKER_SEEN_S  # a card outlives a few missed writes, not a dead worker
MAX_PIDS = 256  # processes named on one card
MAX_TEXT = 200  # characters of any one card field
WORKERS_SHOWN = 200  # workers read, most recently seen first
RUNNING_SHOWN = 200  # running commands read, soonest lease end first


@dataclass(frozen=True)
class WorkerCard:
    """What one worker says of itself."""

    name: str  # Celery node name, e.g. ``ordercmd@host``
    host: str
    pid: int  # the main process (its scheduler and, with threads or solo, its tasks)
    pool: str  # prefork, threads or solo
    concurrency: int
    queues: list[str]
    started_ms: int
    pids: list[int] = field(default_factory=list)  # the pool's processes (prefork)

    def to_fields(self) -> dict[str, str]:
        """The card as bounded hash fields."""
        return {
            "name": self.name[:MAX_TEXT],
            "host": self.host[:MAX_TEXT],
            "pid": str(self.pid),
            "pool": self.pool[:MAX_TEXT],
            "concurrency": str(self.concurrency),
            "queues": ",".join(self.queues)[:MAX_TEXT],
            "started_ms": str(self.started_ms),
            "pids": " ".join(str(p) for p in self.pids[:MAX_PIDS]),
        }

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> WorkerCard:
        """A card from its hash fields."""
        return cls(
            name=fields["name"],
            host=fields.get("host", ""),
            pid=int(fields.get("pid") or 0),
            pool=fields.get("pool", ""),
            concurrency=int(fields.get("concurrency") or 0),
            queues=[q for q in fields.get("queues", "").split(",") if q],
            started_ms=int(fields.get("started_ms") or 0),
            pids=[int(p) for p in fields.get("pids", "").split()],
        )

    def holds(self, holder: str) -> bool:
        """Whether a claim's ``host:pid`` is one of this worker's processes."""
        host, _, pid = holder.rpartition(":")
        return host == self.host and pid.isdigit() and int(pid) in (self.pid, *self.pids)


def write_card(client: redis.Redis, card: WorkerCard) -> None:
    """Publish ``card`` for ``CARD_TTL_S``."""
    pipe = client.pipeline(transaction=True)
    pipe.delete(keys.worker_card(card.name))
    pipe.hset(keys.worker_card(card.name), items=[x for kv in card.to_fields().items() for x in kv])
    pipe.expire(keys.worker_card(card.name), int(CARD_TTL_S))
    pipe.execute()


@dataclass(frozen=True)
class RunningCommand:
    """A claimed command: who holds it, since when, until when its lease holds."""

    id: str
    holder: str  # ``host:pid`` of the claiming process
    kind: str
    lane: str  # ``provider:account:order_id``
    since_ms: int | None
    lease_until_ms: int


@dataclass(frozen=True)
class WorkerView:
    """A worker seen lately: its card (``None`` once expired) and the commands it runs."""

    name: str
    seen_ms: int
    alive: bool
    card: WorkerCard | None
    running: list[RunningCommand] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        """Plain JSON values."""
        return {
            "name": self.name,
            "seen_ms": self.seen_ms,
            "alive": self.alive,
            "card": asdict(self.card) if self.card else None,
            "running": [asdict(r) for r in self.running],
        }


def read_workers(client: redis.Redis, now_ms: int) -> tuple[list[WorkerView], list[RunningCommand]]:
    """Workers seen in the last day, most recent first, each with its running commands.

    Returns:
        The workers, and the running commands no live worker's card claims (a dead worker's
        until their leases run out, or a worker whose card is not written yet).
    """
    pipe = client.pipeline(transaction=False)
    pipe.zrevrange(keys.workers_seen(), 0, WORKERS_SHOWN - 1, withscores=True)
    seen: list[tuple[str, float]] = pipe.execute()[0]
    for name, _ in seen:
        pipe.hgetall(keys.worker_card(str(name)))
    cards = pipe.execute()
    running = read_running(client)
    views, claimed = [], set[str]()
    for (name, seen_ms), fields in zip(seen, cards, strict=True):
        card = WorkerCard.from_fields(fields) if fields else None
        alive = now_ms - int(seen_ms) <= WORKER_SEEN_S * 1000
        mine = [r for r in running if card and alive and card.holds(r.holder)]
        claimed.update(r.id for r in mine)
        views.append(WorkerView(str(name), int(seen_ms), alive, card if alive else None, mine))
    return views, [r for r in running if r.id not in claimed]


def read_running(client: redis.Redis, limit: int = RUNNING_SHOWN) -> list[RunningCommand]:
    """The running commands (at most ``limit``), soonest lease end first."""
    pipe = client.pipeline(transaction=False)
    pipe.zrange(keys.running(), 0, limit - 1, withscores=True)
    leases: list[tuple[str, float]] = pipe.execute()[0]
    for command_id, _ in leases:
        pipe.hmget(keys.command(str(command_id)), "worker", "claimed_ms", "envelope")
    out = []
    for (command_id, lease_ms), (holder, claimed_ms, envelope) in zip(
        leases, pipe.execute(), strict=True
    ):
        command = json.loads(envelope)["command"] if envelope else {}
        lane = ":".join(str(command.get(k, "?")) for k in ("provider", "account", "order_id"))
        out.append(RunningCommand(
            id=str(command_id), holder=str(holder or "unknown"), kind=str(command.get("kind", "?")),
            lane=lane, since_ms=int(claimed_ms) if claimed_ms else None,
            lease_until_ms=int(lease_ms),
        ))  # fmt: skip
    return out
