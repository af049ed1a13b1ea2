"""Fills a planning run's snapshot one bounded chunk at a time, counting each chunk by group.

A chunk is read from the run's cursor on the dead-letter index (newest death first, starting
at the moment the plan was created, so commands that die later are never in the snapshot) and
added by a compare-and-set on that cursor: drivers that read the same chunk add it once.
"""

from __future__ import annotations

import json

from runs.bulk_runs import BulkRuns, RunStatus
from store import keys
from store.search import Search, SearchFilter, with_state

PLAN_CHUNK = 1000  # ids one planning step adds to a snapshot at most
PLAN_SCAN_BUDGET = 20_000  # index entries one step examines at most (a few Redis calls)


class Planner:
    """Plans the runs of one store through its search."""

    def __init__(self, runs: BulkRuns, search: Search, *, chunk: int = PLAN_CHUNK) -> None:
        self.runs, self.search, self.chunk = runs, search, chunk
        self.client = runs.client

    def step(self, run_id: str) -> str:
        """Add the next chunk to a planning run.

        Returns:
            ``planning`` while more is left, ``planned`` when the snapshot is complete,
            ``stale`` when another driver added this chunk first, else the run's status.
        """
        fields = self.client.hmget(
            keys.replay_run(run_id), "status", "where", "plan_cursor", "created_ms"
        )
        status, where_json, cursor, created_ms = (str(f) if f else "" for f in fields)
        if status != RunStatus.PLANNING:
            return status or "missing"
        where = with_state(SearchFilter(**json.loads(where_json)), "dead")
        ids, next_cursor, examined = self._chunk(where, cursor, int(created_ms))
        pairs = [x for pair in self._groups(ids) for x in pair]
        reply = self.runs.op(run_id, "plan", "", cursor, next_cursor, examined, *pairs)
        if reply[0] != "ok":
            return reply[0]
        return RunStatus.PLANNING if next_cursor else RunStatus.PLANNED

    def _chunk(
        self, where: SearchFilter, cursor: str, created_ms: int
    ) -> tuple[list[str], str, int]:
        """The next ids, the cursor after them ('' = none left) and entries examined."""
        if where.command_id or where.idempotency_key or where.order_id:
            # Search looks these up directly (one command, one key, one order's history): a
            # handful of ids in one chunk, bounded by death time here instead of by the cursor
            ids = [i for chunk in self.search.iter_ids(where) for i in chunk]
            return self._died_by(ids, created_ms), "", len(ids)
        ids, after, examined = self.search.scan_ids(
            where, cursor=cursor, limit=self.chunk, budget=PLAN_SCAN_BUDGET
        )
        return ids, after or "", examined

    def _died_by(self, ids: list[str], created_ms: int) -> list[str]:
        pipe = self.client.pipeline(transaction=False)
        for command_id in ids:
            pipe.zscore(keys.dead_letters(), command_id)
        died = pipe.execute()
        return [i for i, at in zip(ids, died, strict=True) if at is not None and at <= created_ms]

    def _groups(self, ids: list[str]) -> list[tuple[str, str]]:
        """``(id, provider|kind|reason)`` of each id whose record is still there."""
        pipe = self.client.pipeline(transaction=False)
        for command_id in ids:
            pipe.hmget(keys.command(command_id), "envelope", "dead_reason")
        groups = []
        for command_id, (envelope, reason) in zip(ids, pipe.execute(), strict=True):
            if envelope:
                command = json.loads(envelope)["command"]
                groups.append((command_id, f"{command['provider']}|{command['kind']}|{reason}"))
        return groups
