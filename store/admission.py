"""Admission in one script call per chunk of commands: envelopes serialised once; the outbox.

A bulk command's first message is not sent by its producer: it is admitted due at once in the
dispatch set (the outbox), and the scheduler of any worker sends it on its next tick. A batch then
costs no broker round trip per row, is durable as soon as it is admitted, and can be admitted
while the broker is down. Live commands keep their message sent by the producer at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NamedTuple

import redis

from schemas import CommandEnvelope, CommandState
from store import keys
from store.ids import new_command_id

if TYPE_CHECKING:
    from store.limits import StoreLimits

OUTBOX_SOURCE_PREFIX = "bulk:"  # envelopes from these sources are sent by the scheduler
MAX_CHUNK = 100  # commands per call of admit.lua: bounds its KEYS and ARGV; several calls overlap


class Admitted(StrEnum):
    """What admission did with a submitted envelope."""

    NEW = "new"  # a new command
    EXISTING = "existing"  # the key was seen with the same content: the existing command
    CONFLICT = "conflict"  # the key was seen with other content: nothing admitted


# what each status admit.lua replies means (queued and waiting: the new command's state)
REPLY_ADMITTED = {
    CommandState.QUEUED: Admitted.NEW,
    CommandState.WAITING: Admitted.NEW,
    "existing": Admitted.EXISTING,
    "conflict": Admitted.CONFLICT,
}


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
    """Admit ``items`` in order, each once per idempotency key: one script call per chunk.

    Each chunk is sent as soon as it is built and the replies are read after the last, so Redis
    admits one chunk while this process builds the next (two cores at work, not one at a time).
    """
    outboxes = []
    with ScriptStream(client) as stream:
        for chunk in chunks(items):
            outbox = via_outbox(chunk[0].source)
            # the stream quacks like a client where Script needs one: evalsha
            script(*chunk_call(limits, chunk, outbox=outbox), client=stream)  # type: ignore[arg-type]
            outboxes.append(outbox)
        replies = stream.replies(script)
    return [
        admission
        for reply, outbox in zip(replies, outboxes, strict=True)
        for admission in admissions_of(str(reply), outbox=outbox)
    ]


class ScriptStream:
    """Stands in for a client in ``Script.__call__``: sends each call at once, reads none.

    The calls go out in order on one connection; ``replies`` reads them after the last. When the
    server has lost the script (``NOSCRIPT``: that call did nothing), it is loaded again and the
    calls from the first refused one on run again, one by one, in order.
    """

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.connection = client.connection_pool.get_connection()
        self.calls: list[tuple[int, tuple[Any, ...]]] = []

    def __enter__(self) -> ScriptStream:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        if exc_type is not None:  # replies may be left unread on the connection: drop it
            self.connection.disconnect()  # type: ignore[no-untyped-call]
        self.client.connection_pool.release(self.connection)

    def evalsha(self, sha: str, numkeys: int, *keys_and_args: Any) -> None:
        """Send one script call; its reply comes from ``replies``."""
        self.calls.append((numkeys, keys_and_args))
        self.connection.send_command("EVALSHA", sha, numkeys, *keys_and_args)  # type: ignore[no-untyped-call]

    def replies(self, script: redis.commands.core.Script) -> list[Any]:
        """The reply of every call sent, in order."""
        replies: list[Any] = []
        refused = False
        for _ in self.calls:
            try:
                reply = self.connection.read_response()
            except redis.exceptions.NoScriptError:
                refused = True
                continue
            if not refused:
                replies.append(reply)
        for numkeys, keys_and_args in self.calls[len(replies) :]:
            command_keys, args = keys_and_args[:numkeys], keys_and_args[numkeys:]
            replies.append(script(keys=command_keys, args=args, client=self.client))
        return replies


def chunks(items: Sequence[Prepared]) -> Iterator[Sequence[Prepared]]:
    """Consecutive runs of ``items`` through the same door (outbox or not), each bounded."""
    start = 0
    for end in range(1, len(items) + 1):
        if (
            end == len(items)
            or end - start == MAX_CHUNK
            or via_outbox(items[end].source) != via_outbox(items[start].source)
        ):
            yield items[start:end]
            start = end


def chunk_call(
    limits: StoreLimits, chunk: Sequence[Prepared], *, outbox: bool
) -> tuple[list[str], list[str | int]]:
    """The KEYS and ARGV of one call of ``admit.lua`` admitting ``chunk`` (see its layout)."""
    # a guard of 0 scores the lane head "due now": the next scheduler tick sends it
    guards = (0, 0) if outbox else (limits.guard_ms, limits.bulk_guard)
    command_keys: list[str] = [keys.dispatch(), keys.recent(), keys.sequence()]
    args: list[str | int] = [limits.retention_s, *guards]
    for item in chunk:
        command_id = new_command_id(item.source)
        command_keys += (
            keys.idempotency(item.idempotency_key),
            keys.command(command_id),
            keys.lane(item.lane),
            keys.order_history(item.lane),
        )
        args += (
            command_id,
            item.envelope_json,
            item.fingerprint,
            item.lane,
            item.provider,
            item.account,
            item.kind,
        )
    return command_keys, args


def admissions_of(reply: str, *, outbox: bool) -> list[Admission]:
    """The admissions ``admit.lua`` replied for one chunk (``'<status> <id>'``, space-joined)."""
    words = reply.split(" ")
    return [
        Admission(command_id, REPLY_ADMITTED[status], status == CommandState.QUEUED and not outbox)
        for status, command_id in zip(words[0::2], words[1::2], strict=True)
    ]


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
