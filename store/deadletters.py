"""The dead-letter queue: list by reason or provider, replay, discard; every action audited."""

from __future__ import annotations

from dataclasses import dataclass

from providers.errors import OrderCmdError
from schemas import CommandRecord, CommandState
from store import keys
from store.command_store import CommandStore
from store.records import read_record, read_records

TRIM_CALLS = 30  # script calls one trim makes at most: 300,000 index entries, 30,000 dead letters


class NotADeadLetter(OrderCmdError):
    """The command is not in the dead-letter queue (it may have been replayed or discarded)."""


@dataclass(frozen=True)
class DeadLetterFilter:
    """Which dead letters to list; ``None`` means any."""

    reason: str | None = None
    provider: str | None = None


class DeadLetters:
    """Operator actions on the store's dead letters."""

    def __init__(self, store: CommandStore) -> None:
        self.store = store
        self.client = store.client

    def count(self, where: DeadLetterFilter | None = None) -> int:
        """How many dead letters match."""
        return int(self.client.zcard(self._index(where or DeadLetterFilter())))

    def page(
        self, where: DeadLetterFilter | None = None, *, offset: int = 0, limit: int = 50
    ) -> list[CommandRecord]:
        """Dead letters, newest first; one index read and one pipelined record read."""
        ids = self.client.zrevrange(
            self._index(where or DeadLetterFilter()), offset, offset + limit - 1
        )
        return [r for r in read_records(self.client, [str(i) for i in ids]) if r is not None]

    def get(self, command_id: str) -> CommandRecord:
        """One dead letter.

        Raises:
            NotADeadLetter: the command is not dead.
        """
        return self._dead(command_id)

    def replay(self, command_id: str, *, actor: str, why: str, bulk: bool = False) -> CommandState:
        """Put a dead letter back in its lane with fresh budgets; it reads the order first.

        An operator's replay of one command is live at the flow gate; a bulk run's (``bulk``)
        waits its turn behind live traffic like a bulk file's commands.

        Returns:
            ``QUEUED`` when it heads its lane (a message is needed), else ``WAITING``.

        Raises:
            NotADeadLetter: the command is not dead.
        """
        record = self._dead(command_id)
        reply = self.store.scripts.replay(
            keys=[
                *self._indexes(record),
                keys.lane(record.envelope.command.lane),
                keys.dispatch(),
                keys.audit(),
                keys.outcomes(),
            ],
            args=[
                command_id,
                self.store.limits.guard_ms,
                str(record.dead_reason),
                actor,
                why,
                self.store.limits.retention_s,
                self.store.limits.outcomes_max_len,
                "bulk" if bulk else "live",
            ],
        )
        if reply[0] != "ok":
            raise NotADeadLetter(f"command {command_id} is {reply[1]}, not dead")
        return CommandState(reply[1])

    def discard(self, command_id: str, *, actor: str, why: str) -> None:
        """Remove a dead letter for good (its record expires after the retention).

        Raises:
            NotADeadLetter: the command is not dead.
        """
        record = self._dead(command_id)
        reply = self.store.scripts.discard(
            keys=[
                *self._indexes(record),
                keys.audit(),
                keys.attempts(command_id),
                keys.outcomes(),
            ],
            args=[
                command_id,
                str(record.dead_reason),
                actor,
                why,
                self.store.limits.retention_s,
                self.store.limits.outcomes_max_len,
            ],
        )
        if reply[0] != "ok":
            raise NotADeadLetter(f"command {command_id} is {reply[1]}, not dead")

    def trim(self, *, max_age_s: int, max_count: int, batch: int = 1000) -> int:
        """Drop dead letters older than ``max_age_s`` or beyond the newest ``max_count``.

        Also forgets admission-index entries older than the key retention and the search-index
        entries of records whose retention ran out. One script call removes at most ``batch``
        dead letters and ``10 * batch`` index entries (a bounded pause of Redis); calls repeat
        while they come back full, up to ``TRIM_CALLS``, so a backlog clears over a few runs.

        Returns:
            How many dead letters were dropped.
        """
        dropped_total = 0
        for _ in range(TRIM_CALLS):
            dropped, _, unindexed = self.store.scripts.trim(
                keys=[keys.dead_letters(), keys.recent(), keys.audit()],
                args=[
                    max_age_s * 1000,
                    max_count,
                    self.store.limits.retention_s * 1000,
                    keys.command(""),
                    keys.dead_letters() + ":",
                    batch,
                ],
            )
            dropped_total += int(dropped)
            if int(dropped) < batch and int(unindexed) < batch * 10:
                break
        return dropped_total

    def _dead(self, command_id: str) -> CommandRecord:
        record = read_record(self.client, command_id)
        if record is None:
            raise NotADeadLetter(f"no command {command_id}")
        if record.state is not CommandState.DEAD:
            raise NotADeadLetter(f"command {command_id} is {record.state}, not dead")
        return record

    @staticmethod
    def _indexes(record: CommandRecord) -> list[str]:
        return [
            keys.command(record.id),
            keys.dead_letters(),
            keys.dead_letters_by("reason", str(record.dead_reason)),
            keys.dead_letters_by("provider", record.envelope.command.provider),
        ]

    @staticmethod
    def _index(where: DeadLetterFilter) -> str:
        if where.reason and where.provider:
            raise OrderCmdError("filter by reason or by provider, not both (for now)")
        if where.reason:
            return keys.dead_letters_by("reason", where.reason)
        if where.provider:
            return keys.dead_letters_by("provider", where.provider)
        return keys.dead_letters()
