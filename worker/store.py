"""The command store in Redis: admission by idempotency key, claims under a lease, order lanes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import redis

from providers.errors import IdempotencyConflict
from schemas import Attempt, CommandEnvelope, CommandState, DeadReason
from worker import keys
from worker.queues import new_command_id
from worker.scripts import Scripts


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
    dispatch: bool  # True when the command heads its lane and needs a message now


@dataclass(frozen=True)
class Claim:
    """A delivery that owns its command until it records an outcome or its lease runs out."""

    command_id: str
    token: str
    envelope: CommandEnvelope
    attempts: int  # provider attempts spent on 5xx / network errors so far
    unprocessable: int  # attempts spent on 422 / 409 / 423 so far
    reconcile_first: bool  # an earlier delivery may have reached the provider: read first
    first_claim_ms: int
    deliveries: int  # deliveries since the last recorded outcome, this one included
    claimed_ms: int
    recorded_attempts: int  # attempts in the record so far, of every kind
    rate_reserved: bool = False  # a rate-limit slot is held for this delivery


class Spend(StrEnum):
    """Which budget a retry spends."""

    ATTEMPT = "attempts_n"
    UNPROCESSABLE = "unprocessable_n"
    NOTHING = ""


@dataclass(frozen=True)
class StoreLimits:
    """Durations the store needs, from settings."""

    retention_s: int
    guard_ms: int  # re-send a dispatched message not claimed within this
    lease_ms: int
    bulk_guard_ms: int | None = None  # the same for bulk commands (default: guard_ms)

    @property
    def bulk_guard(self) -> int:
        """The guard of bulk commands, which wait behind long backlogs by design."""
        return self.guard_ms if self.bulk_guard_ms is None else self.bulk_guard_ms


class CommandStore:
    """Commands in Redis; every write is one atomic, fenced Lua script."""

    def __init__(self, client: redis.Redis, limits: StoreLimits) -> None:
        self.client = client
        self.limits = limits
        self.scripts = Scripts(client)

    def admit(self, envelope: CommandEnvelope) -> Admission:
        """Admit one envelope once per idempotency key.

        Raises:
            IdempotencyConflict: the key was admitted before with different content.
        """
        admission = self.admit_many([envelope])[0]
        if admission.admitted is Admitted.CONFLICT:
            raise IdempotencyConflict(envelope.idempotency_key, admission.command_id)
        return admission

    def admit_many(self, envelopes: Sequence[CommandEnvelope]) -> list[Admission]:
        """Admit envelopes in one round trip, each once per idempotency key.

        A key seen before with other content comes back as ``CONFLICT`` (the command id is the
        earlier command's) and admits nothing; the other envelopes are admitted.
        """
        pipe = self.client.pipeline(transaction=False)
        for envelope in envelopes:
            self._admit_call(envelope, pipe)
        results: list[list[str]] = pipe.execute()
        admissions = []
        for status, command_id, *rest in results:
            admitted = Admitted.NEW if status == "admitted" else Admitted(status)
            dispatch = admitted is Admitted.NEW and rest[0] == CommandState.QUEUED
            admissions.append(Admission(command_id, admitted, dispatch))
        return admissions

    def _admit_call(self, envelope: CommandEnvelope, pipe: redis.client.Pipeline) -> None:
        command_id = new_command_id(envelope)
        lane = envelope.command.lane
        self.scripts.admit(
            keys=[
                keys.idempotency(envelope.idempotency_key),
                keys.command(command_id),
                keys.lane(lane),
                keys.order_history(lane),
                keys.dispatch(),
                keys.recent(),
                keys.sequence(),
            ],
            args=[
                command_id,
                envelope.model_dump_json(),
                envelope.fingerprint(),
                lane,
                self.limits.retention_s,
                self.limits.guard_ms,
                self.limits.bulk_guard,
            ],
            client=pipe,
        )

    def claim(self, command_id: str, *, early_ms: int = 50) -> Claim | str:
        """Claim a command for this delivery.

        Returns:
            The claim, or why there is nothing to do: ``finished``, ``busy`` (another delivery
            holds a live lease), ``not_head``, ``not_due`` or ``missing``.
        """
        token = uuid.uuid4().hex
        reply = self.scripts.claim(
            keys=[
                keys.command(command_id),
                keys.running(),
                keys.dispatch(),
                keys.schedule(),
                keys.attempts(command_id),
            ],
            args=[command_id, token, self.limits.lease_ms, early_ms],
        )
        if reply[0] != "claimed":
            return str(reply[0])
        (
            envelope,
            attempts,
            unprocessable,
            reconcile,
            first_ms,
            deliveries,
            now,
            recorded,
            reserved,
        ) = reply[1:]
        return Claim(
            command_id=command_id,
            token=token,
            envelope=CommandEnvelope.model_validate_json(envelope),
            attempts=int(attempts),
            unprocessable=int(unprocessable),
            reconcile_first=reconcile == "1",
            first_claim_ms=int(first_ms),
            deliveries=int(deliveries),
            claimed_ms=int(now),
            recorded_attempts=int(recorded),
            rate_reserved=reserved == "1",
        )

    def finish(
        self,
        claim: Claim,
        state: CommandState,
        attempt: Attempt | None,
        *,
        reason: DeadReason | None = None,
        message: str = "",
    ) -> str | None:
        """End a claimed command and release its lane.

        Returns:
            The id of the lane's next command, now queued and needing a message, if any.

        Raises:
            LeaseLost: the claim's lease ran out and another delivery took the command.
        """
        envelope = claim.envelope
        reply = self.scripts.finish(
            keys=[
                keys.command(claim.command_id),
                keys.attempts(claim.command_id),
                keys.running(),
                keys.lane(envelope.command.lane),
                keys.dispatch(),
                keys.dead_letters(),
                keys.dead_letters_by("reason", str(reason or "")),
                keys.dead_letters_by("provider", envelope.command.provider),
                keys.stats(),
            ],
            args=[
                claim.command_id,
                claim.token,
                state,
                attempt.model_dump_json() if attempt else "",
                reason or "",
                message[:500],
                self.limits.retention_s,
                self.limits.guard_ms,
                keys.command(""),
                envelope.command.provider,
                envelope.command.kind,
                keys.stats_hour(""),
                self.limits.bulk_guard,
            ],
        )
        if reply[0] == "fenced":
            raise LeaseLost(claim.command_id, reply[1])
        return str(reply[1]) or None

    def retry(
        self,
        claim: Claim,
        attempt: Attempt | None,
        *,
        delay_s: float,
        spend: Spend,
        reconcile_first: bool,
        message: str = "",
        rate_reserved: bool = False,
    ) -> None:
        """Park a claimed command in the retry schedule.

        Raises:
            LeaseLost: the claim's lease ran out and another delivery took the command.
        """
        reply = self.scripts.retry(
            keys=[
                keys.command(claim.command_id),
                keys.attempts(claim.command_id),
                keys.running(),
                keys.schedule(),
                keys.stats(),
            ],
            args=[
                claim.command_id,
                claim.token,
                attempt.model_dump_json() if attempt else "",
                max(0, round(delay_s * 1000)),
                spend,
                int(reconcile_first),
                message[:500],
                claim.envelope.command.provider,
                claim.envelope.command.kind,
                int(rate_reserved),
            ],
        )
        if reply[0] == "fenced":
            raise LeaseLost(claim.command_id, reply[1])

    def extend_lease(self, claim: Claim) -> bool:
        """Renew the claim's lease for another full period; False when it was lost."""
        renewed = self.scripts.extend(
            keys=[keys.command(claim.command_id), keys.running()],
            args=[claim.command_id, claim.token, self.limits.lease_ms],
        )
        return bool(renewed)

    def due_messages(self, *, limit: int = 500) -> list[str]:
        """Ids that need a (re-)sent message: due retries, unclaimed dispatches, dead leases."""
        reply = self.scripts.promote(
            keys=[keys.schedule(), keys.dispatch(), keys.running()],
            args=[limit, self.limits.guard_ms, self.limits.bulk_guard],
        )
        return [str(command_id) for command_id in reply]

    def discard_pending(self, command_id: str, *, actor: str, why: str) -> bool:
        """Discard a command that has not started (``waiting`` or ``queued``); audited.

        Returns:
            False when the command had started, finished or does not exist: nothing changed.
        """
        lane = self.client.hget(keys.command(command_id), "lane")
        if lane is None:
            return False
        reply = self.scripts.discard_pending(
            keys=[
                keys.command(command_id),
                keys.lane(str(lane)),
                keys.dispatch(),
                keys.audit(),
                keys.attempts(command_id),
            ],
            args=[command_id, actor, why, self.limits.retention_s, keys.command("")],
        )
        return bool(reply[0] == "ok")

    def lane_ids(self, lane: str) -> list[str]:
        """The unfinished commands of an order lane, head first."""
        return [str(i) for i in self.client.lrange(keys.lane(lane), 0, -1)]

    def order_ids(self, lane: str) -> list[str]:
        """Every command admitted for an order, oldest first."""
        return [str(i) for i in self.client.zrange(keys.order_history(lane), 0, -1)]


class LeaseLost(Exception):
    """The claim's lease ran out and another delivery took the command over."""

    def __init__(self, command_id: str, state: str) -> None:
        super().__init__(f"command {command_id}: lease lost (now {state or 'missing'})")
