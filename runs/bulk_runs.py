"""Bulk runs over dead letters as stored: create a plan, read it, start, take, cancel.

A run is created at once with status ``planning``; the drivers (`runs.driver`: every
worker, or a CLI that waits) fill its snapshot in chunks (`runs.planning`) until it is
``planned``, with counts by provider, kind and reason. Started, it hands out the ids that are
due by its rate on a lease: a driver reports what it did to them (`BulkRuns.report`), and ids
whose driver died go out again once the lease ends. Each id's result counts once, and an id
acted on since it was handed out is never acted on again, so a command that dies again during
the run is not taken again. Every change of state goes through ``replay_run.lua``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum

import redis
from redis.typing import EncodableT, FieldT

from store import keys
from store.clock import redis_now_ms
from store.deadletters import NotADeadLetter
from store.scripts import script
from store.search import SearchFilter

RUN_TTL_S = 7 * 24 * 3600  # runs (and their snapshots) are kept a week
RUN_LEASE_S = 60.0  # a driver that took ids and has not reported them by then is taken as dead
RESULTS = ("queued", "waiting", "discarded", "skipped")


class RunAction(StrEnum):
    """What a bulk run does to each dead letter."""

    REPLAY = "replay"
    DISCARD = "discard"


class RunStatus(StrEnum):
    """Where a bulk run is: planning -> planned -> running -> done, or cancelled."""

    PLANNING = "planning"
    PLANNED = "planned"
    RUNNING = "running"
    DONE = "done"
    CANCELLED = "cancelled"


DRIVEN = frozenset({RunStatus.PLANNING, RunStatus.RUNNING})  # a driver has work to do


@dataclass(frozen=True)
class RunSpace:
    """The sets that list one kind of run, and the dead set (by ms died) its ids come from.

    Both kinds keep their records under the same keys (``keys.replay_run``): an id of the other
    kind is unknown here (``id_prefix``: command runs' ids are hex only, delivery runs' start
    ``wh``), so a cancel or start given the wrong kind's id cannot act on that run.
    """

    index: str  # every run, by creation
    active: str  # runs planning or running
    dead: str
    id_prefix: str = ""  # '' for command runs: no prefix, and never another kind's

    def owns(self, run_id: str) -> bool:
        """Whether ``run_id`` names a run of this kind."""
        if self.id_prefix:
            return run_id.startswith(self.id_prefix)
        return all(c in "0123456789abcdef" for c in run_id)


COMMAND_RUNS = RunSpace(keys.replay_runs(), keys.replay_runs_active(), keys.dead_letters())


@dataclass(frozen=True)
class Run:
    """A bulk run as stored: what, by whom, why, and how far it got."""

    id: str
    action: RunAction
    status: RunStatus
    filter: str
    actor: str
    why: str
    total: int  # ids in the snapshot (found so far while planning)
    created_ms: int
    examined: int = 0  # index entries planning looked at
    rate_per_s: float = 0.0
    beat_ms: int = 0  # the last time a driver moved the run
    left: int = 0  # ids not yet handed out (when cancelled: never handed out)
    in_flight: int = 0  # ids handed out whose result has not come back
    results: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)  # "provider|kind|reason" -> n

    @property
    def processed(self) -> int:
        """Commands acted on (or skipped) so far."""
        return sum(self.results.values())


@dataclass(frozen=True)
class Taken:
    """What one take handed out: ids to act on now, and when the next is due."""

    status: str  # "take", "wait", or the run's status when it is not running
    ids: list[str]
    wait_s: float


class BulkRuns:
    """The bulk runs of one store."""

    def __init__(
        self, client: redis.Redis, *, lease_s: float = RUN_LEASE_S, space: RunSpace = COMMAND_RUNS
    ) -> None:
        self.client = client
        self.space = space
        self.lease_ms = int(lease_s * 1000)
        self.script = script(client, "replay_run")

    def plan(self, where: SearchFilter, *, action: RunAction, actor: str, why: str) -> Run:
        """Create a run planning over the dead letters matching ``where``; nothing is changed.

        The snapshot will hold only dead letters that died by now: the first cursor starts at
        this moment on the dead-letter index (ordered by death time).
        """
        now_ms = redis_now_ms(self.client)
        return self.create(uuid.uuid4().hex[:16], now_ms, {
            "action": action, "filter": where.describe(), "where": json.dumps(asdict(where)),
            "actor": actor, "why": why, "plan_cursor": f"{now_ms}:",
        })  # fmt: skip

    def create(self, run_id: str, now_ms: int, fields: Mapping[str, str | int]) -> Run:
        """Record a new run planning in this space (kept ``RUN_TTL_S``), with its own ``fields``.

        ``fields`` says what it does and over what: action, filter, where, actor, why and the
        first plan cursor; the counts and times start here.
        """
        record: dict[FieldT, EncodableT] = {
            "id": run_id, "status": RunStatus.PLANNING, "total": 0, "examined": 0,
            "created_ms": now_ms, "beat_ms": now_ms,
        }  # fmt: skip
        record.update(fields)
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(keys.replay_run(run_id), mapping=record)
        pipe.expire(keys.replay_run(run_id), RUN_TTL_S)
        pipe.zadd(self.space.index, {run_id: now_ms})
        pipe.zremrangebyscore(self.space.index, "-inf", now_ms - RUN_TTL_S * 1000)
        pipe.zadd(self.space.active, {run_id: now_ms})
        pipe.execute()
        return self.require(run_id)

    def get(self, run_id: str) -> Run | None:
        """The run, or ``None`` when unknown, expired or of the other kind."""
        if not self.space.owns(run_id):
            return None
        pipe = self.client.pipeline(transaction=False)
        pipe.hgetall(keys.replay_run(run_id))
        pipe.hgetall(keys.replay_run_counts(run_id))
        pipe.llen(keys.replay_run_ids(run_id))
        pipe.zcard(keys.replay_run_in_flight(run_id))
        data, counts, pending, in_flight = pipe.execute()
        if not data:
            return None
        return Run(
            id=data["id"], action=RunAction(data["action"]), status=RunStatus(data["status"]),
            filter=data["filter"], actor=data["actor"], why=data["why"],
            total=int(data["total"]), created_ms=int(data["created_ms"]),
            examined=int(data.get("examined", 0)), rate_per_s=float(data.get("rate", 0)),
            beat_ms=int(data.get("beat_ms", 0)), left=int(data.get("left", pending)),
            in_flight=in_flight,
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
        ids = self.client.zrevrange(self.space.index, 0, limit - 1)
        return [run for run in (self.get(str(i)) for i in ids) if run is not None]

    def driven_ids(self) -> list[str]:
        """Runs planning or running, oldest first; ids of expired runs are dropped."""
        ids = [str(i) for i in self.client.zrange(self.space.active, 0, -1)]
        pipe = self.client.pipeline(transaction=False)
        for run_id in ids:
            pipe.exists(keys.replay_run(run_id))
        gone = [run_id for run_id, there in zip(ids, pipe.execute(), strict=True) if not there]
        if gone:
            self.client.zrem(self.space.active, *gone)
        return [run_id for run_id in ids if run_id not in gone]

    def start(self, run_id: str, *, actor: str, rate_per_s: float, why: str = "") -> bool:
        """Mark a planned run as running (the drivers then act on it); False if not planned.

        ``why``, when given, becomes the run's reason (the audit's), in the same step.
        """
        return self.op(run_id, "start", actor, rate_per_s, why)[0] == "ok"

    def cancel(self, run_id: str, *, actor: str) -> bool:
        """Stop a planning, planned or running run; the ids it had not handed out are dropped.

        Ids in flight are not handed out again; their drivers' reports still count.
        """
        return self.op(run_id, "cancel", actor)[0] == "ok"

    def take(self, run_id: str, *, limit: int) -> Taken:
        """Lease out at most ``limit`` ids due by the run's rate (from Redis time, shared).

        Ids whose lease ran out come first; report each with `report` within the lease.
        """
        reply = self.op(run_id, "take", "", limit, self.lease_ms)
        wait_s = int(reply[1]) / 1000 if reply[1] else 0.0
        return Taken(reply[0], reply[2:], wait_s)

    def report(self, run_id: str, results: dict[str, str]) -> int:
        """Count the result of each id acted on (id -> result) and end its lease, at once.

        Returns:
            How many results counted: an id's result counts once, whoever reports it.
        """
        if not results:
            return 0
        pairs = [x for pair in results.items() for x in pair]
        reply = self.op(run_id, "done", "", *pairs)
        return int(reply[1]) if reply[0] == "ok" else 0  # "missing": the run expired

    def op(self, run_id: str, op: str, actor: str, *args: str | float) -> list[str]:
        """Run one op of ``replay_run.lua`` on the run (``missing`` for the other kind's)."""
        if not self.space.owns(run_id):
            return ["missing", ""]
        run_keys = [
            keys.replay_run(run_id),
            keys.replay_run_ids(run_id),
            keys.replay_run_counts(run_id),
            self.space.active,
            keys.audit(),
            keys.replay_run_in_flight(run_id),
            keys.replay_run_skipped(run_id),
            self.space.dead,
        ]
        return [str(p) for p in self.script(keys=run_keys, args=[op, actor, *args])]
