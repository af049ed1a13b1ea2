"""The producer API: ``submit`` and ``submit_many`` validate, admit once per key, and dispatch."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis
import structlog

from config.settings import Settings
from producer.prepared_batch import PreparedBatch
from producer.validation import check_account, to_command, to_envelope
from providers.errors import IdempotencyConflict, InvalidSubmission, StoreUnavailable
from schemas import AnyCommand, CommandEnvelope, CommandRecord
from store.admission import Prepared
from store.clock import utcnow
from store.command_store import Admission, Admitted, CommandStore
from store.dispatching import Publish, send_or_defer
from store.outcomes import Outcomes
from store.records import read_record

CommandInput = AnyCommand | Mapping[str, Any]
RETRY_AFTER_S = 5  # what a producer told the store is unavailable is asked to wait

log = structlog.get_logger("ordercmd.producer")


@dataclass(frozen=True)
class Submission:
    """What happened to one submitted command."""

    command_id: str
    idempotency_key: str
    admitted: Admitted  # NEW, EXISTING (same key and content seen before) or CONFLICT
    producer: Producer | None = field(default=None, repr=False, compare=False)

    def wait(self, timeout_s: float) -> CommandRecord | None:
        """Wait until the command ends; see `Producer.wait`."""
        if self.producer is None:
            raise ValueError("this submission has no producer to wait with")
        return self.producer.wait(self.command_id, timeout_s)


class Producer:
    """Submits commands to one store and broker."""

    def __init__(
        self, settings: Settings, store: CommandStore, publish: Publish, *, name: str | None = None
    ) -> None:
        self.settings = settings
        self.store = store
        self.publish = publish
        self.name = name  # recorded on every command it submits: its webhooks get the outcomes

    def envelope(
        self,
        command: CommandInput,
        *,
        idempotency_key: str | None = None,
        source: str = "api",
        batch_id: str | None = None,
        producer: str | None = None,
    ) -> CommandEnvelope:
        """Validate one input into an envelope without admitting it.

        ``producer`` names who submits it (default: this producer's ``name``).

        Raises:
            InvalidSubmission: the input is refused; the error names each bad field.
        """
        model = to_command(command)
        check_account(model, self.settings)
        return to_envelope(
            model,
            idempotency_key=idempotency_key,
            submitted_at=utcnow(),
            source=source,
            batch_id=batch_id,
            producer=producer or self.name,
        )

    def submit(
        self, command: CommandInput, *, idempotency_key: str | None = None, source: str = "api"
    ) -> Submission:
        """Validate, admit and dispatch one command.

        Raises:
            InvalidSubmission: the input is refused; nothing was admitted.
            IdempotencyConflict: the key was used before for a different command.
        """
        envelope = self.envelope(command, idempotency_key=idempotency_key, source=source)
        submission = self.admit([envelope])[0]
        if submission.admitted is Admitted.CONFLICT:
            raise IdempotencyConflict(envelope.idempotency_key, submission.command_id)
        return submission

    def submit_many(
        self, commands: Iterable[CommandInput], *, source: str = "api"
    ) -> list[Submission]:
        """Validate every command first, then admit them all.

        Live commands get their message at once; with a ``bulk:<batch>`` source they go to the
        outbox, and the next scheduler tick of any worker sends them. The commands are admitted
        in chunks, each serialised while Redis admits the one before (see ``PreparedBatch``).

        Raises:
            InvalidSubmission: an input is refused (its index leads each field); nothing was
                admitted.
        """
        models: list[AnyCommand] = []
        first: CommandEnvelope | None = None
        for index, command in enumerate(commands):
            try:
                model = to_command(command)
                check_account(model, self.settings)
                if first is None:  # checks what every envelope shares: the source, the producer
                    first = self.envelope(model, source=source)
            except InvalidSubmission as exc:
                raise InvalidSubmission(
                    [(f"[{index}].{field}", reason) for field, reason in exc.problems]
                ) from None
            models.append(model)
        if first is None:
            return []
        return self.admit_prepared(PreparedBatch(first, models))

    def admit(self, envelopes: list[CommandEnvelope]) -> list[Submission]:
        """Admit validated envelopes; send a message for each live one that heads its lane.

        Bulk envelopes (source ``bulk:<batch>``) are admitted to the outbox instead: the
        scheduler sends them (see ``store.admission``).
        """
        return self.admit_prepared([Prepared.of(envelope) for envelope in envelopes])

    def admit_prepared(self, items: Sequence[Prepared]) -> list[Submission]:
        """``admit`` for envelopes already serialised (a bulk file's spooled rows, a batch).

        Raises:
            StoreUnavailable: the store did not answer in time; ``may_have_been_admitted``
                is False only when nothing was sent to it.
        """
        if not items:
            return []
        admissions = self._admissions(items)
        dispatch = [a.command_id for a in admissions if a.dispatch]
        try:
            send_or_defer(self.store, self.publish, dispatch)
        except redis.RedisError as exc:
            # admitted for sure: the scheduler sends them once their dispatch guard runs out
            log.warning("admitted, not yet dispatched", commands=len(dispatch), error=repr(exc))
        return [
            Submission(a.command_id, item.idempotency_key, a.admitted, self)
            for a, item in zip(admissions, items, strict=True)
        ]

    def wait(self, command_id: str, timeout_s: float) -> CommandRecord | None:
        """Wait until the command ends (succeeded, already_done, dead or discarded).

        Woken by the outcome stream, not by polling the record: the call blocks in Redis.

        Returns:
            The command's record as it ended, or ``None`` when ``timeout_s`` passed first.

        Raises:
            UnknownCommand: no such command (never admitted, or expired).
        """
        if Outcomes(self.store.client).wait_final(command_id, timeout_s) is None:
            return None
        return read_record(self.store.client, command_id)

    def _admissions(self, items: Sequence[Prepared]) -> list[Admission]:
        """The store's admissions of ``items``, or `StoreUnavailable` saying what may be in it."""
        try:
            self.store.client.ping()  # nothing is written yet: a failure here admitted nothing
        except redis.RedisError as exc:
            raise self._unavailable(exc, items, may_have_been_admitted=False) from None
        try:
            return self.store.admit_prepared(items)
        except redis.RedisError as exc:
            raise self._unavailable(exc, items, may_have_been_admitted=True) from None

    def _unavailable(
        self, exc: redis.RedisError, items: Sequence[Prepared], *, may_have_been_admitted: bool
    ) -> StoreUnavailable:
        if len(items) == 1:
            what, was = f"the command (key {items[0].idempotency_key!r})", "was"
        else:
            what, was = f"the {len(items)} commands", "were"
        if may_have_been_admitted:
            advice = f"{what} may have been admitted: retry with the same idempotency key"
        else:
            advice = f"{what} {was} not admitted: retry later"
        if isinstance(exc, redis.ConnectionError | redis.TimeoutError):
            problem = f"did not answer within {self.settings.store_timeout_s:g} s"
        else:  # it answered with an error: out of memory, read-only replica, ...
            problem = f"refused the write ({str(exc)[:200]})"
        return StoreUnavailable(
            f"the command store {problem} ({type(exc).__name__}); {advice}",
            may_have_been_admitted=may_have_been_admitted,
            retry_after_s=RETRY_AFTER_S,
        )
