"""The outcome stream: the events the store's scripts append, read back, and waiting on them.

Each script that changes a command's state in a way a producer cares about appends one event in
the same step (``emit_outcome`` in ``lua/prelude.lua``): a final outcome (succeeded,
already_done, dead, discarded) or a notable one (retry_scheduled, replayed, edited). The stream
is trimmed to about ``StoreLimits.outcomes_max_len`` entries.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import redis
from redis.commands.core import Script

from providers.errors import OrderCmdError
from schemas import TERMINAL_STATES, CommandState
from store import keys, scripts

BLOCK_STEP_MS = 2000  # one XREAD BLOCK waits at most this long: below the socket timeout
READ_COUNT = 500  # events one read hands back at most


class UnknownCommand(OrderCmdError, LookupError):
    """No command has that id (it was never admitted, or its record expired)."""


class OutcomeEvent(StrEnum):
    """What happened to a command, as the outcome stream names it."""

    SUCCEEDED = "succeeded"
    ALREADY_DONE = "already_done"
    DEAD = "dead"
    DISCARDED = "discarded"
    RETRY_SCHEDULED = "retry_scheduled"
    REPLAYED = "replayed"
    EDITED = "edited"


FINAL_EVENTS = frozenset(
    {OutcomeEvent.SUCCEEDED, OutcomeEvent.ALREADY_DONE, OutcomeEvent.DEAD, OutcomeEvent.DISCARDED}
)


@dataclass(frozen=True)
class Outcome:
    """One event of the outcome stream; ``event_id`` is its stream entry id (unique, ordered)."""

    event_id: str
    event: OutcomeEvent
    command_id: str
    idempotency_key: str
    provider: str
    account: str
    order_id: str
    kind: str  # the command's kind: cancel, update or refund
    state: str
    reason: str  # the dead reason (for a replay or an edit: the one it had); '' when none
    attempts: int  # provider attempts recorded so far
    message: str
    at_ms: int
    producer: str = ""  # who submitted the command ('' for operators and unnamed producers)
    reconstructed: bool = False  # rebuilt from the command's record (a gap's fill), not streamed

    @classmethod
    def of(cls, entry_id: str, fields: Mapping[str, str]) -> Outcome:
        """The event from a stream entry as the scripts write it."""
        return cls(
            event_id=entry_id,
            event=OutcomeEvent(fields["event"]),
            command_id=fields["id"],
            idempotency_key=fields["key"],
            provider=fields["provider"],
            account=fields["account"],
            order_id=fields["order_id"],
            kind=fields["kind"],
            state=fields["state"],
            reason=fields.get("reason", ""),
            attempts=int(fields.get("attempts", 0)),
            message=fields.get("message", ""),
            at_ms=int(fields["at_ms"]),
            producer=fields.get("producer", ""),
            reconstructed=fields.get("reconstructed") == "True",
        )

    @property
    def final(self) -> bool:
        """Whether the command ended with this event (until an operator replays it)."""
        return self.event in FINAL_EVENTS

    def as_dict(self) -> dict[str, str | int]:
        """The event as a JSON-ready mapping (its fields are flat: no deep copy needed)."""
        values = ((name, getattr(self, name)) for name in _FIELD_NAMES)
        return {name: str(value) if isinstance(value, StrEnum) else value
                for name, value in values}  # fmt: skip


_FIELD_NAMES = tuple(f.name for f in dataclasses.fields(Outcome))


class Outcomes:
    """Reads of the outcome stream of one store."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self._read_past: Script | None = None

    def last_id(self) -> str:
        """The id of the newest event, or ``0-0`` when the stream is empty."""
        newest = self.client.xrevrange(keys.outcomes(), count=1)
        return str(newest[0][0]) if newest else "0-0"

    def moved(self, after: str, *, block_ms: int) -> bool:
        """Whether an event came after ``after``, waiting ``block_ms`` at most for one.

        Reads one entry at most: for a reader that wants to know, not to read.
        """
        return bool(self.client.xread({keys.outcomes(): after}, count=1, block=block_ms))

    def read_past(self, after: str, *, count: int) -> tuple[list[Outcome], bool]:
        """Events after ``after`` (as ``read``), and whether the bound trimmed some it lacks.

        ``0-0`` is a reader from the stream's start: it missed any trimmed event. Another
        cursor missed some when its own event is trimmed too (maybe none, if the trim stopped
        right after it: the stream does not say). One round trip (``read_outcomes.lua``, which
        sends each event as one JSON string: a fifth of the parsing of a stream entry).
        """
        if self._read_past is None:
            self._read_past = scripts.script(self.client, "read_outcomes")
        first, added, length, *flat = self._read_past(keys=[keys.outcomes()], args=[after, count])
        events = [Outcome.of(str(entry_id), json.loads(body))
                  for entry_id, body in zip(flat[0::2], flat[1::2], strict=True)]  # fmt: skip
        return events, bool(events) and _trimmed(str(first), str(added), str(length), after)

    def read(
        self, after: str, *, count: int = READ_COUNT, block_ms: int | None = None
    ) -> list[Outcome]:
        """Events after ``after``, oldest first; ``block_ms`` waits that long for one to come."""
        reply: Any = self.client.xread({keys.outcomes(): after}, count=count, block=block_ms)
        return _outcomes(reply[0][1]) if reply else []

    def between(self, first: str, last_ms: int) -> list[Outcome]:
        """Events from id ``first`` through millisecond ``last_ms``, oldest first."""
        entries: Any = self.client.xrange(keys.outcomes(), min=first, max=str(last_ms))
        return _outcomes(entries)

    def of_command(self, command_id: str, *, after: str = "-") -> list[Outcome]:
        """The events of one command still in the stream (a scan: for tests and tools)."""
        entries: Any = self.client.xrange(keys.outcomes(), min=after)
        return [o for o in _outcomes(entries) if o.command_id == command_id]

    def wait_final(self, command_id: str, timeout_s: float) -> CommandState | None:
        """Wait until the command reaches a final state, woken by the stream.

        The record is read in one transaction with the stream's newest id, so an event that
        comes after the read is seen by the read from that id on: none slips between the two.

        Returns:
            The final state, or ``None`` when ``timeout_s`` passed first.

        Raises:
            UnknownCommand: no such command (never admitted, or expired).
        """
        deadline = time.monotonic() + max(0.0, timeout_s)
        pipe = self.client.pipeline(transaction=True)
        pipe.xrevrange(keys.outcomes(), count=1)
        pipe.hget(keys.command(command_id), "state")
        newest, state = pipe.execute()
        if state is None:
            raise UnknownCommand(f"no command {command_id} (unknown, or expired)")
        if CommandState(state) in TERMINAL_STATES:
            return CommandState(state)
        cursor = str(newest[0][0]) if newest else "0-0"
        while (left_ms := int((deadline - time.monotonic()) * 1000)) > 0:
            events = self.read(cursor, block_ms=min(left_ms, BLOCK_STEP_MS))
            for outcome in events:
                cursor = outcome.event_id
                if outcome.command_id == command_id and outcome.final:
                    return CommandState(outcome.state)
        return None


def _trimmed(first: str, added: str, length: str, cursor: str) -> bool:
    """Whether the stream lost events a reader at ``cursor`` lacks.

    From the stream's first entry id, entries ever added and length; ``''`` (no stream): none.
    """
    if cursor == "0-0":
        return bool(added and length) and int(added) > int(length)
    return bool(first) and entry_order(first) > entry_order(cursor)


def _outcomes(entries: list[tuple[str, dict[str, str]]]) -> list[Outcome]:
    return [Outcome.of(str(entry_id), fields) for entry_id, fields in entries]


def entry_order(entry_id: str) -> tuple[int, int]:
    """A stream entry id (``<ms>-<seq>``) as something that sorts as the stream does."""
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)
