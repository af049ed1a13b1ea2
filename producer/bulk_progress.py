"""A batch's progress: its commands counted by state, read in pipelined chunks."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from producer.batches import CHUNK, Batches, BatchMeta, BatchState
from schemas import TERMINAL_STATES, CommandState

MISSING = "missing"  # the record expired (or never was): counted as finished
UNREAD = "unread"  # not read yet by a reader with a budget
# States a command never leaves; ``dead`` is not one of them (an operator may replay it).
FINAL_STATES = frozenset(
    {CommandState.SUCCEEDED, CommandState.ALREADY_DONE, CommandState.DISCARDED}
)


@dataclass(frozen=True)
class BatchProgress:
    """A batch's commands by state at one moment."""

    meta: BatchMeta
    counts: Counter[str]  # CommandState values, and ``missing``
    total: int  # distinct commands of the batch so far
    dead_reasons: Counter[str] = field(default_factory=Counter)  # the dead ones by reason

    @property
    def finished(self) -> int:
        """Commands in an end state (dead ones included)."""
        return sum(n for state, n in self.counts.items() if _ended(state))

    @property
    def done(self) -> bool:
        """Admission is over and every command has ended."""
        return self.meta.state is not BatchState.ADMITTING and self.finished == self.total

    def as_json(self) -> dict[str, object]:
        """For ``--json`` and scripts."""
        return {
            "batch_id": self.meta.batch_id,
            "file_name": self.meta.file_name,
            "rows": self.meta.rows,
            "state": self.meta.state,
            "cancelled_by": self.meta.cancelled_by,
            "admitted": {str(a): n for a, n in self.meta.admitted.items()},
            "commands": self.total,
            "finished": self.finished,
            "done": self.done,
            "counts": {state: self.counts.get(state, 0) for state in [*CommandState, MISSING]},
            "dead_reasons": dict(sorted(self.dead_reasons.items())),
        }


def _ended(state: str) -> bool:
    return state == MISSING or state in TERMINAL_STATES


class ProgressReader:
    """Reads a batch's progress again and again, re-reading only commands that may change.

    It keeps the batch's command ids (about 80 bytes each) and each one's last known state, so a
    watch of 100,000 commands re-reads only the unfinished ones on each tick. With a ``budget``,
    a read refreshes at most that many of them (taking turns), so a page polled every second
    costs the same for any batch: the others count as last read (``unread`` until first read).
    """

    def __init__(self, batches: Batches, batch_id: str, *, budget: int | None = None) -> None:
        self.batches = batches
        self.batch_id = batch_id
        self.budget = budget
        self._ids: list[str] = []
        self._states: list[str] = []  # last known, UNREAD before the first read
        self._dead_reasons: dict[int, str] = {}  # of those last seen dead
        self._cursor = 0  # where the next budgeted read starts

    def read(self) -> BatchProgress:
        """The progress now.

        Raises:
            UnknownBatch: no such batch.
        """
        meta = self.batches.meta(self.batch_id)
        for chunk in self.batches.command_ids(self.batch_id, start=len(self._ids)):
            self._ids.extend(chunk)
            self._states.extend([UNREAD] * len(chunk))
        due = self._due()
        store = self.batches.store
        for start in range(0, len(due), CHUNK):
            indexes = due[start : start + CHUNK]
            fields = store.command_fields([self._ids[i] for i in indexes], ["state", "dead_reason"])
            for index, (state, dead_reason) in zip(indexes, fields, strict=True):
                self._states[index] = state or MISSING
                if state == CommandState.DEAD:
                    self._dead_reasons[index] = dead_reason or "unknown"
                else:
                    self._dead_reasons.pop(index, None)
        counts = Counter(self._states)
        dead_reasons = Counter(self._dead_reasons.values())
        return BatchProgress(meta, counts, len(self._ids), dead_reasons)

    def _due(self) -> list[int]:
        """The commands to read now: every unfinished one, or the budget's turn of them."""
        total = len(self._ids)
        if self.budget is None:
            return [i for i, state in enumerate(self._states) if state not in FINAL_STATES]
        due: list[int] = []
        for step in range(total):
            index = (self._cursor + step) % total
            if self._states[index] not in FINAL_STATES:
                due.append(index)
                if len(due) == self.budget:
                    self._cursor = (index + 1) % total
                    return due
        return due
