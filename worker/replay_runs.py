"""Bulk runs over dead letters (plan, throttled run, cancel).

A run is planned first: the matching dead letters are snapshotted into a Redis list and counted
by provider, kind and reason, so the operator sees what will happen. Started, it takes one id at
a time from the snapshot (each exactly once, so a command that dies again during the run is not
taken again) and replays or discards it through `DeadLetters`, which audits every command.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from schemas import CommandState
from worker import keys
from worker.deadletters import DeadLetters, NotADeadLetter
from worker.runtime import Publish
from worker.scripts import source
from worker.search import Search, SearchFilter, with_state
from worker.store import CommandStore

RUN_TTL_S = 7 * 24 * 3600  # runs (and their snapshots) are kept a week
RESULTS = ("queued", "waiting", "discarded", "skipped")


class RunAction(StrEnum):
    """What a bulk run does to each dead letter."""

    REPLAY = "replay"
    DISCARD = "discard"


@dataclass(frozen=True)
class Run:
    """A bulk run as stored: what, by whom, why, and how far it got."""

    id: str
    action: RunAction
    status: str  # planned, running, done, cancelled
    filter: str
    actor: str
    why: str
    total: int
    created_ms: int
    rate_per_s: float = 0.0
    beat_ms: int = 0
    left: int = 0
    results: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)  # "provider|kind|reason" -> n

    @property
    def processed(self) -> int:
        """Commands acted on (or skipped) so far."""
        return sum(self.results.values())


class BulkRuns:
    """Plans, runs and cancels bulk actions over one store's dead letters."""

    def __init__(self, store: CommandStore, search: Search, publish: Publish) -> None:
        self.store, self.search, self.publish = store, search, publish
        self.client = store.client
        self.letters = DeadLetters(store)
        self._script = self.client.register_script(source("replay_run"))

    def plan(self, where: SearchFilter, *, action: RunAction, actor: str, why: str) -> Run:
        """Snapshot the dead letters matching ``where`` and count them; nothing is changed."""
        run_id = uuid.uuid4().hex[:16]
        counts: Counter[str] = Counter()
        for ids in self.search.iter_ids(with_state(where, "dead")):
            if ids:
                self.client.rpush(keys.replay_run_ids(run_id), *ids)
            counts.update(self._groups(ids))
        now_ms = int(self.client.time()[0]) * 1000
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(keys.replay_run(run_id), mapping={
            "id": run_id, "action": action, "status": "planned", "filter": where.describe(),
            "actor": actor, "why": why, "total": sum(counts.values()), "created_ms": now_ms,
        })  # fmt: skip
        if counts:
            flat = [x for pair in counts.items() for x in pair]
            pipe.hset(keys.replay_run_counts(run_id), items=flat)
        run_keys = (keys.replay_run(run_id), keys.replay_run_ids(run_id))
        for key in (*run_keys, keys.replay_run_counts(run_id)):
            pipe.expire(key, RUN_TTL_S)
        pipe.zadd(keys.replay_runs(), {run_id: now_ms})
        pipe.zremrangebyscore(keys.replay_runs(), "-inf", now_ms - RUN_TTL_S * 1000)
        pipe.execute()
        return self.require(run_id)

    def _groups(self, ids: list[str]) -> list[str]:
        pipe = self.client.pipeline(transaction=False)
        for command_id in ids:
            pipe.hmget(keys.command(command_id), "envelope", "dead_reason")
        groups = []
        for envelope, reason in pipe.execute():
            if envelope:
                command = json.loads(envelope)["command"]
                groups.append(f"{command['provider']}|{command['kind']}|{reason}")
        return groups

    def get(self, run_id: str) -> Run | None:
        """The run, or ``None`` when unknown or expired."""
        pipe = self.client.pipeline(transaction=False)
        pipe.hgetall(keys.replay_run(run_id))
        pipe.hgetall(keys.replay_run_counts(run_id))
        pipe.llen(keys.replay_run_ids(run_id))
        data, counts, pending = pipe.execute()
        if not data:
            return None
        return Run(
            id=data["id"], action=RunAction(data["action"]), status=data["status"],
            filter=data["filter"], actor=data["actor"], why=data["why"],
            total=int(data["total"]), created_ms=int(data["created_ms"]),
            rate_per_s=float(data.get("rate", 0)), beat_ms=int(data.get("beat_ms", 0)),
            left=int(data.get("left", pending)),
            results={r: int(data[r]) for r in RESULTS if r in data},
            counts={k: int(v) for k, v in counts.items()},
        )  # fmt: skip

    def require(self, run_id: str) -> Run:
        """The run; raises `NotADeadLetter` (a lookup error CLI and web show) when unknown."""
        run = self.get(run_id)
        if run is None:
            raise NotADeadLetter(f"no bulk run {run_id}")
        return run

    def recent(self, limit: int = 20) -> list[Run]:
        """The newest runs first."""
        ids = self.client.zrevrange(keys.replay_runs(), 0, limit - 1)
        return [run for run in (self.get(str(i)) for i in ids) if run is not None]

    def start(self, run_id: str, *, actor: str, rate_per_s: float) -> bool:
        """Mark a planned run as running (someone must then `drive` it); False if not planned."""
        return self._op(run_id, "start", actor, rate_per_s)[0] == "ok"

    def cancel(self, run_id: str, *, actor: str) -> bool:
        """Stop a planned or running run; the ids it had not taken are dropped."""
        return self._op(run_id, "cancel", actor, 0)[0] == "ok"

    def _op(self, run_id: str, op: str, actor: str, rate: float) -> list[str]:
        run_keys = [keys.replay_run(run_id), keys.replay_run_ids(run_id), keys.audit()]
        return [str(p) for p in self._script(keys=run_keys, args=[op, actor, rate])]

    def step(self, run: Run) -> str | None:
        """Take the run's next command and act on it; the result, or ``None`` when it stopped."""
        reply = self._op(run.id, "take", run.actor, 0)
        if reply[0] != "take":
            return None
        command_id, why = reply[1], f"{run.why} (bulk run {run.id})"
        try:
            if run.action is RunAction.DISCARD:
                self.letters.discard(command_id, actor=run.actor, why=why)
                result = "discarded"
            else:
                state = self.letters.replay(command_id, actor=run.actor, why=why)
                if state is CommandState.QUEUED:
                    self.publish([command_id])
                result = str(state)
        except NotADeadLetter:
            result = "skipped"  # replayed, discarded or expired since the plan
        self.client.hincrby(keys.replay_run(run.id), result, 1)
        return result

    def drive(self, run_id: str, *, progress: Callable[[Run], None] | None = None) -> Run:
        """Act on a running run's commands at its rate until it is done or cancelled."""
        run = self.require(run_id)
        interval_s = 1.0 / run.rate_per_s if run.rate_per_s > 0 else 0.0
        next_at = time.monotonic()
        while True:
            delay_s = next_at - time.monotonic()
            if delay_s > 0:
                time.sleep(delay_s)
            if self.step(run) is None:
                break
            next_at = max(next_at + interval_s, time.monotonic() - interval_s)
            if progress is not None:
                progress(self.require(run_id))
        return self.require(run_id)
