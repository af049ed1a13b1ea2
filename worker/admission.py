"""Admission in one pipelined round trip: envelopes serialised once, and the outbox choice.

A bulk command's first message is not sent by its producer: it is admitted due at once in the
dispatch set (the outbox), and the scheduler of any worker sends it on its next tick. A batch then
costs no broker round trip per row, is durable as soon as it is admitted, and can be admitted
while the broker is down. Live commands keep their message sent by the producer at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, NamedTuple

import redis

from schemas import CommandEnvelope, CommandState
from worker import keys
from worker.queues import new_command_id

if TYPE_CHECKING:
    from worker.store import StoreLimits

OUTBOX_SOURCE_PREFIX = "bulk:"  # envelopes from these sources are sent by the scheduler


class Admitted(StrEnum):
    """What admission did with a submitted envelope."""

    NEW = "new"  # a new command
    EXISTING = "existing"  # the key was seen with the same content: the existing command
    CONFLICT = "conflict"  # the key was seen with other content: nothing admitted


@dataclass(frozen=True)
class Admission:
    """The result of admitting one envelope."""

    command_id: str
    admitted: Admitted
    dispatch: bool  # True when the command heads its lane and its producer must send a message


class KnownKey(NamedTuple):
    """An idempotency key the store has admitted: its command and content fingerprint."""

    command_id: str
    fingerprint: str


def via_outbox(source: str) -> bool:
    """Whether the scheduler, not the producer, sends the first message of a command.

    Bulk sources (``bulk:<batch>``) do: their ids already say ``bulk`` (queue, re-send guard),
    so one field decides everything about a command's dispatch, whatever door it came in by.
    """
    return source.startswith(OUTBOX_SOURCE_PREFIX)


@dataclass(frozen=True, slots=True)
class Prepared:
    """An envelope as the admission script takes it: checked and serialised once."""

    idempotency_key: str
    lane: str
    source: str
    fingerprint: str
    envelope_json: str
    provider: str  # these three fill the search indexes: the script need not decode the JSON
    account: str
    kind: str

    @classmethod
    def of(cls, envelope: CommandEnvelope, *, fingerprint: str | None = None) -> Prepared:
        """Serialise ``envelope`` (``fingerprint``: its fingerprint, when already computed)."""
        return cls(
            envelope.idempotency_key,
            envelope.command.lane,
            envelope.source,
            fingerprint or envelope.fingerprint(),
            envelope.model_dump_json(),
            str(envelope.command.provider),
            envelope.command.account,
            envelope.command.kind,
        )


def admit_all(
    client: redis.Redis,
    script: redis.commands.core.Script,
    limits: StoreLimits,
    items: Sequence[Prepared],
) -> list[Admission]:
    """Admit ``items`` in one pipelined round trip, each once per idempotency key."""
    pipe = client.pipeline(transaction=False)
    shared = [keys.dispatch(), keys.recent(), keys.sequence()]
    outboxed = []
    for item in items:
        command_id = new_command_id(item.source)
        outbox = via_outbox(item.source)
        # a guard of 0 scores the lane head "due now": the next scheduler tick sends it
        guards = (0, 0) if outbox else (limits.guard_ms, limits.bulk_guard)
        script(
            keys=[
                keys.idempotency(item.idempotency_key),
                keys.command(command_id),
                keys.lane(item.lane),
                keys.order_history(item.lane),
                *shared,
            ],
            args=[
                command_id,
                item.envelope_json,
                item.fingerprint,
                item.lane,
                limits.retention_s,
                *guards,
                item.provider,
                item.account,
                item.kind,
            ],
            client=pipe,
        )
        outboxed.append(outbox)
    admissions = []
    for (status, command_id, *rest), outbox in zip(pipe.execute(), outboxed, strict=True):
        admitted = Admitted.NEW if status == "admitted" else Admitted(status)
        heads = admitted is Admitted.NEW and rest[0] == CommandState.QUEUED
        admissions.append(Admission(command_id, admitted, heads and not outbox))
    return admissions


def known_keys(client: redis.Redis, idempotency_keys: Sequence[str]) -> list[KnownKey | None]:
    """For each key, what the store admitted under it (``None``: never, or expired).

    One ``MGET``; the stored value is ``"<command id> <fingerprint>"`` (see ``admit.lua``).
    """
    if not idempotency_keys:
        return []
    found: list[KnownKey | None] = []
    for value in client.mget([keys.idempotency(key) for key in idempotency_keys]):
        command_id, _, fingerprint = str(value or "").partition(" ")
        found.append(KnownKey(command_id, fingerprint) if value else None)
    return found
