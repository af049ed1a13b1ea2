"""Bulk batches in Redis: meta, the row-by-row admission record, the command ids, cancelling.

A batch is three keys (``store.keys.batch*``): a meta hash (file, rows, created, actor, state,
admission counters), a list with one entry per file row, and a list of the batch's distinct
command ids that progress counters and ``cancel`` read in pipelined chunks (no SCAN). All three
expire with the store's key retention, like the commands they point at. A batch id is started
at most once (a double submit admits nothing twice); starting and cancelling are audited.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple

import redis
from redis.typing import EncodableT, FieldT

from providers.errors import OrderCmdError
from schemas import CommandState
from store import keys
from store.clock import from_ms, utcnow
from store.command_store import CommandStore

CHUNK = 1000  # ids per LRANGE / pipeline
CANCEL_SETTLE_S = 10.0  # how long a cancel waits for an admission in flight to stop
PENDING_STATES = frozenset({CommandState.WAITING, CommandState.QUEUED})


class BatchState(StrEnum):
    """Where a batch's admission is."""

    ADMITTING = "admitting"
    ADMITTED = "admitted"
    FAILED = "failed"  # admission stopped half way (Redis went away): re-run the file


class Admission(StrEnum):
    """What became of one row of a batch's file."""

    NEW = "new"
    EXISTING = "existing"  # admitted before (an earlier run): the existing command
    DUPLICATE = "duplicate"  # the same key and content as an earlier row of the file
    CONFLICT = "conflict"  # the key was admitted before for another command: not admitted
    INVALID = "invalid"  # refused at validation (only kept with --skip-invalid)


class RowResult(NamedTuple):
    """One row's entry in a batch: row number, command id (if any), admission, note."""

    row: int
    command_id: str
    admission: Admission
    note: str = ""

    def encode(self) -> str:
        """The tab-separated form stored in the batch's row list."""
        note = " ".join(self.note.split())  # no tabs or newlines inside a field
        return f"{self.row}\t{self.command_id}\t{self.admission}\t{note}"

    @classmethod
    def decode(cls, text: str) -> RowResult:
        """Parse ``encode``'s form."""
        row, command_id, admission, note = text.split("\t", 3)
        return cls(int(row), command_id, Admission(admission), note)


@dataclass(frozen=True)
class BatchMeta:
    """What a batch's meta hash says."""

    batch_id: str
    file_name: str
    rows: int
    actor: str
    created_at: datetime
    state: BatchState
    admitted: dict[Admission, int]  # rows by admission so far
    cancelled_by: str | None = None
    cancel_why: str | None = None


@dataclass(frozen=True)
class CancelSummary:
    """What ``Batches.cancel`` did."""

    discarded: int  # commands that had not started and are now discarded
    untouched: int  # commands already running, retrying or finished


class UnknownBatch(OrderCmdError):
    """No batch has that id (unknown, or expired with the key retention)."""


class BatchExists(OrderCmdError):
    """A batch with that id was started before: a second start admits nothing."""


class Batches:
    """Bulk batches kept next to the command store."""

    def __init__(self, store: CommandStore) -> None:
        self.store = store
        self.client = store.client
        self.retention_s = store.limits.retention_s

    def create(self, batch_id: str, *, file_name: str, rows: int, actor: str) -> None:
        """Record a new batch, state ``admitting``, and audit its start; at most once per id.

        Raises:
            BatchExists: a batch with this id exists (a second start of the same upload).
        """
        now_ms = round(utcnow().timestamp() * 1000)
        meta = keys.batch(batch_id)
        fields: dict[FieldT, EncodableT] = {
            "file_name": file_name,
            "rows": rows,
            "actor": actor,
            "created_ms": now_ms,
            "state": BatchState.ADMITTING,
        }
        with self.client.pipeline(transaction=True) as pipe:
            try:
                pipe.watch(meta)  # type: ignore[no-untyped-call]
                if pipe.exists(meta):
                    raise BatchExists(f"batch {batch_id} was started before")
                pipe.multi()
                pipe.hset(meta, mapping=fields)
                pipe.expire(meta, self.retention_s)
                pipe.zadd(keys.batches(), {batch_id: now_ms})
                pipe.xadd(keys.audit(), _audit("bulk_start", batch_id, actor, rows, file_name))
                pipe.execute()
            except redis.WatchError:
                raise BatchExists(f"batch {batch_id} was started before") from None

    def append(self, batch_id: str, rows: Sequence[RowResult], command_ids: Sequence[str]) -> None:
        """Add admitted rows and their new command ids, with the admission counters."""
        pipe = self.client.pipeline(transaction=True)
        if rows:
            pipe.rpush(keys.batch_rows(batch_id), *(r.encode() for r in rows))
        if command_ids:
            pipe.rpush(keys.batch_commands(batch_id), *command_ids)
        counts: dict[Admission, int] = {}
        for row in rows:
            counts[row.admission] = counts.get(row.admission, 0) + 1
        for admission, n in counts.items():
            pipe.hincrby(keys.batch(batch_id), f"n_{admission}", n)
        for key in (keys.batch(batch_id), keys.batch_rows(batch_id), keys.batch_commands(batch_id)):
            pipe.expire(key, self.retention_s)
        pipe.execute()

    def finish(self, batch_id: str, state: BatchState) -> None:
        """Record how admission ended."""
        self.client.hset(keys.batch(batch_id), "state", state)

    def meta(self, batch_id: str) -> BatchMeta:
        """The batch's meta.

        Raises:
            UnknownBatch: no such batch.
        """
        fields = {str(k): str(v) for k, v in self.client.hgetall(keys.batch(batch_id)).items()}
        if not fields:
            raise UnknownBatch(f"no batch {batch_id} (unknown, or expired)")
        return BatchMeta(
            batch_id=batch_id,
            file_name=fields.get("file_name", ""),
            rows=int(fields.get("rows", 0)),
            actor=fields.get("actor", ""),
            created_at=from_ms(int(fields.get("created_ms", 0))),
            state=BatchState(fields.get("state", BatchState.ADMITTING)),
            admitted={a: int(fields.get(f"n_{a}", 0)) for a in Admission},
            cancelled_by=fields.get("cancelled_by"),
            cancel_why=fields.get("cancel_why"),
        )

    def recent(self, limit: int = 20) -> list[BatchMeta]:
        """The newest batches first (those whose meta has not expired)."""
        ids = [str(i) for i in self.client.zrevrange(keys.batches(), 0, limit - 1)]
        found = []
        for batch_id in ids:
            try:
                found.append(self.meta(batch_id))
            except UnknownBatch:
                self.client.zrem(keys.batches(), batch_id)
        return found

    def cancelled(self, batch_id: str) -> bool:
        """Whether someone cancelled the batch (admission stops at the next chunk)."""
        return bool(self.client.hexists(keys.batch(batch_id), "cancelled_by"))

    def command_ids(self, batch_id: str, *, start: int = 0) -> Iterator[list[str]]:
        """The batch's distinct command ids from ``start``, in chunks."""
        yield from self._chunks(keys.batch_commands(batch_id), start)

    def rows(self, batch_id: str) -> Iterator[list[RowResult]]:
        """Every row's entry, in file order, in chunks."""
        for chunk in self._chunks(keys.batch_rows(batch_id), 0):
            yield [RowResult.decode(text) for text in chunk]

    def cancel(
        self, batch_id: str, *, actor: str, why: str, settle_s: float = CANCEL_SETTLE_S
    ) -> CancelSummary:
        """Stop admitting and discard every command of the batch that has not started.

        Commands already running, retrying or finished are left alone. While the batch is
        still being admitted, the chunk in flight is waited for (up to ``settle_s``) and swept.

        Raises:
            UnknownBatch: no such batch.
        """
        self.meta(batch_id)
        self.client.hset(keys.batch(batch_id), mapping={"cancelled_by": actor, "cancel_why": why})
        discarded = untouched = swept = 0
        deadline = time.monotonic() + settle_s
        while True:
            admitting = self.meta(batch_id).state is BatchState.ADMITTING  # read before the sweep
            for chunk in self.command_ids(batch_id, start=swept):
                swept += len(chunk)
                for command_id, state in zip(chunk, self._states(chunk), strict=True):
                    pending = state in PENDING_STATES
                    if pending and self.store.discard_pending(command_id, actor=actor, why=why):
                        discarded += 1
                    else:
                        untouched += 1
            if not admitting or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.client.xadd(keys.audit(), _audit("bulk_cancel", batch_id, actor, discarded, why))
        return CancelSummary(discarded, untouched)

    def _states(self, command_ids: Sequence[str]) -> list[str | None]:
        return [f[0] for f in self.store.command_fields(command_ids, ["state"])]

    def _chunks(self, key: str, start: int) -> Iterator[list[str]]:
        while True:
            chunk = [str(v) for v in self.client.lrange(key, start, start + CHUNK - 1)]
            if not chunk:
                return
            yield chunk
            start += len(chunk)


def _audit(action: str, batch_id: str, actor: str, count: int, why: str) -> dict[FieldT, Any]:
    """An audit entry about a batch (the audit page links ``batch`` to the batch's page)."""
    at_ms = round(utcnow().timestamp() * 1000)
    return {"action": action, "batch": batch_id, "actor": actor, "count": count, "why": why,
            "at_ms": at_ms}  # fmt: skip
