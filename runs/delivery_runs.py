"""Bulk replays of dead webhook deliveries: planned, throttled, cancellable, like command runs.

A run is a `BulkRuns` run in a space of its own (its own lists, the dead-delivery set as the
dead set), moved by the same ``replay_run.lua``: a snapshot of the dead deliveries matching a
filter (and, for a producer, its own subscriptions), counted by subscription, event and error;
started at a rate shared by every driver; each delivery handed out on a lease, replayed once
(``hook_replay.lua``), its result counted once; cancel drops what was not handed out. The
drivers are each worker's webhook pump and a CLI that waits.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict

import redis

from runs.bulk_runs import RUN_LEASE_S, BulkRuns, Run, RunAction, RunSpace, RunStatus
from runs.driver import PLAN_BUDGET_S, TAKE_LIMIT, WAIT_CAP_S, Advanced
from store import keys
from store.clock import redis_now_ms
from store.webhooks.deliveries import DeadDelivery, DeadFilter, Deliveries

RUN_PREFIX = "wh"  # delivery runs' ids (the audit's ``run`` field tells them from command runs)
DELIVERY_RUNS = RunSpace(keys.webhook_runs(), keys.webhook_runs_active(),
                         keys.webhook_dead_letters(), RUN_PREFIX)  # fmt: skip
PLAN_CHUNK = 1000  # dead deliveries one planning step reads at most


class DeliveryRuns(BulkRuns):
    """The delivery-replay runs of one store."""

    def __init__(self, client: redis.Redis, *, lease_s: float = RUN_LEASE_S) -> None:
        super().__init__(client, lease_s=lease_s, space=DELIVERY_RUNS)

    def plan_deliveries(
        self, where: DeadFilter, *, within: list[str] | None, actor: str, why: str
    ) -> Run:
        """Create a run planning over the dead deliveries matching ``where``; nothing changes.

        ``within`` limits it to those subscriptions (a producer's); only deliveries dead by now
        are in the snapshot.
        """
        scope = {"filter": asdict(where), "within": within}
        return self.create(RUN_PREFIX + uuid.uuid4().hex[:14], redis_now_ms(self.client), {
            "action": RunAction.REPLAY, "filter": f"dead deliveries {where}",
            "where": json.dumps(scope), "actor": actor, "why": why, "plan_cursor": "0",
        })  # fmt: skip

    def plan_now(self, where: DeadFilter, *, within: list[str] | None, actor: str, why: str) -> Run:
        """Plan a run wholly in this process (a dry run: counted, nothing replayed).

        An empty plan is cancelled at once (nobody would start it). A chunk another driver
        (a worker's pump) added first is not read twice.
        """
        run = self.plan_deliveries(where, within=within, actor=actor, why=why)
        while self.plan_step(run.id) in (RunStatus.PLANNING, "stale"):
            pass
        if self.require(run.id).total == 0:
            self.cancel(run.id, actor=actor)
        return self.require(run.id)

    def plan_step(self, run_id: str, *, chunk: int = PLAN_CHUNK) -> str:
        """Add the next chunk of dead deliveries to a planning run.

        Returns:
            ``planning`` while more is left, ``planned`` when the snapshot is complete,
            ``stale`` when another driver added this chunk first, else the run's status.
        """
        fields = self.client.hmget(
            keys.replay_run(run_id), "status", "where", "plan_cursor", "created_ms"
        )
        status, scope_json, cursor, created_ms = (str(f) if f else "" for f in fields)
        if status != RunStatus.PLANNING:
            return status or "missing"
        scope = json.loads(scope_json)
        where, within = DeadFilter(**scope["filter"]), scope["within"]
        members = [str(m) for m in self.client.zrangebyscore(
            keys.webhook_dead_letters(), "-inf", int(created_ms), start=int(cursor), num=chunk
        )]  # fmt: skip
        bodies = self.client.hmget(keys.webhook_dead_letter_bodies(), members) if members else []
        pairs = []
        for body in bodies:
            if not body:
                continue
            dead = DeadDelivery.of(str(body))
            if where.matches(dead) and (within is None or dead.subscription_id in within):
                pairs += [dead.member, group_of(dead)]
        next_cursor = str(int(cursor) + len(members)) if len(members) == chunk else ""
        reply = self.op(run_id, "plan", "", cursor, next_cursor, len(members), *pairs)
        if reply[0] != "ok":
            return reply[0]
        return RunStatus.PLANNING if next_cursor else RunStatus.PLANNED


def group_of(dead: DeadDelivery) -> str:
    """How a run's plan counts a dead delivery: ``subscription|event|error``."""
    error = dead.error.partition(" after ")[0].replace("|", "/")  # "ReadTimeout after 10.0 s"
    return f"{dead.subscription_id}|{dead.event.event}|{error}"


class DeliveryRunDriver:
    """Moves the store's delivery-replay runs forward a bounded step at a time."""

    def __init__(self, client: redis.Redis, *, lease_s: float = RUN_LEASE_S) -> None:
        self.runs = DeliveryRuns(client, lease_s=lease_s)
        self.deliveries = Deliveries(client)

    def run_once(self) -> int:
        """Advance every planning or running run once; how many deliveries were replayed."""
        return sum(self.advance(run_id).acted for run_id in self.runs.driven_ids())

    def advance(self, run_id: str, *, budget_s: float = PLAN_BUDGET_S) -> Advanced:
        """Plan the run completely, or replay the deliveries due now by its rate."""
        run = self.runs.get(run_id)
        if run is None:
            return Advanced("missing", 0, 0.0)
        if run.status is RunStatus.PLANNING:
            status = self.runs.plan_step(run_id)
            while status == RunStatus.PLANNING:
                status = self.runs.plan_step(run_id)
            return Advanced(status, 0, 0.0)
        if run.status is not RunStatus.RUNNING:
            return Advanced(run.status, 0, 0.0)
        deadline, acted = time.monotonic() + budget_s, 0
        while True:  # more takes only while full ones come (a high rate)
            taken = self.runs.take(run_id, limit=TAKE_LIMIT)
            results = {m: "queued" if self.deliveries.replay_member(m) else "skipped"
                       for m in taken.ids}  # fmt: skip
            self.runs.report(run_id, results)
            acted += len(results)
            if len(taken.ids) < TAKE_LIMIT or time.monotonic() >= deadline:
                return Advanced(taken.status, acted, taken.wait_s)

    def drive(self, run_id: str, *, progress: Callable[[Run], None] | None = None) -> Run:
        """Plan or run one run until it stops waiting on this process (the CLI's loop)."""
        while True:
            step = self.advance(run_id)
            if step.status not in (RunStatus.PLANNING, "take", "wait", "stale"):
                return self.runs.require(run_id)
            if progress is not None and step.acted:
                progress(self.runs.require(run_id))
            if step.status == "wait":
                time.sleep(min(step.wait_s, WAIT_CAP_S))
