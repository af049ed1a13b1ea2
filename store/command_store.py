"""The command store in Redis: admission by idempotency key, claims under a lease, order lanes."""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from enum import StrEnum

import redis

from providers.errors import IdempotencyConflict
from schemas import Attempt, CommandEnvelope, CommandState, DeadReason, Fingerprint
from store import keys
from store.admission import Admission as Admission  # re-exported: the store's API
from store.admission import Admitted as Admitted
from store.admission import KnownKey, Prepared, admit_all, known_keys
from store.claims import Claim as Claim  # re-exported: the store's API
from store.claims import LeaseLost as LeaseLost
from store.claims import OtherAccount as OtherAccount
from store.claims import Parked as Parked
from store.claims import claimed, worker_name
from store.delivery_ack import DeliveryAck
from store.flow import FlowGate
from store.limits import StoreLimits as StoreLimits  # re-exported: the store's API
from store.scripts import Scripts
from store.tally import OutcomeTally


class Spend(StrEnum):
    """Which budget a retry spends."""

    ATTEMPT = "attempts_n"
    UNPROCESSABLE = "unprocessable_n"
    NOTHING = ""


class CommandStore:
    """Commands in Redis; every write is one atomic, fenced Lua script."""

    def __init__(self, client: redis.Redis, limits: StoreLimits) -> None:
        self.client = client
        self.limits = limits
        self.scripts = Scripts(client)
        self.tally = OutcomeTally(client)  # outcome counters, added to Redis in batches

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
        """Admit envelopes in order, each once per idempotency key, in one round trip.

        Each envelope sees those before it, as if admitted alone afterwards (the same key: it is
        ``EXISTING`` or ``CONFLICT``; the same order lane: it waits behind).

        A key seen before with other content comes back as ``CONFLICT`` (the command id is the
        earlier command's) and admits nothing; the other envelopes are admitted. Bulk commands
        go to the outbox (see ``store.admission``): their ``dispatch`` is False.
        """
        return self.admit_prepared([Prepared.of(envelope) for envelope in envelopes])

    def admit_prepared(self, items: Sequence[Prepared]) -> list[Admission]:
        """``admit_many`` for envelopes already serialised (a bulk file's spooled rows)."""
        return admit_all(self.client, self.scripts.admit, self.limits, items) if items else []

    def known_keys(self, idempotency_keys: Sequence[str]) -> list[KnownKey | None]:
        """For each idempotency key, the command admitted under it (``None``: none, or expired)."""
        return known_keys(self.client, idempotency_keys)

    def command_fields(
        self, command_ids: Sequence[str], fields: Sequence[str]
    ) -> list[list[str | None]]:
        """Some fields of each command's record, in one pipelined round trip."""
        pipe = self.client.pipeline(transaction=False)
        for command_id in command_ids:
            pipe.hmget(keys.command(command_id), list(fields))
        return [list(values) for values in pipe.execute()]

    def claim(
        self,
        command_id: str,
        *,
        gate: FlowGate | None = None,
        max_deliveries: int | None = None,
        early_ms: int = 50,
    ) -> Claim | Parked | OtherAccount | str:
        """Claim a command for this delivery, gated by its account's flow control when given.

        Args:
            command_id: The command to claim.
            gate: The flow gate of the command's account; ``None`` claims ungated.
            max_deliveries: With a gate, a delivery past this many claims ungated: it is
                dead-lettered as poison without a call.
            early_ms: How early a retry may be claimed before it is due.

        Returns:
            The claim; ``Parked`` when the account must wait (the command went back to the
            retry schedule, no attempt spent); ``OtherAccount`` when the gate is another
            account's (nothing changed); or why there is nothing to do: ``finished``, ``busy``
            (another delivery holds a live lease), ``not_head``, ``not_due`` or ``missing``.
        """
        # fences this delivery from any other: unique, not secret (whoever reads Redis sees it);
        # random's generator (seeded from os.urandom, again after a fork) needs no system call
        token = f"{random.getrandbits(128):032x}"
        sent = time.monotonic()
        flow_keys: tuple[str, ...] = ()
        flow_args: list[str | int] = []
        if gate:
            flow_keys = gate.keys
            limit = "" if max_deliveries is None else max_deliveries
            flow_args = [gate.account, *gate.limits, limit]
        reply = self.scripts.claim(
            keys=[
                keys.command(command_id),
                keys.running(),
                keys.dispatch(),
                keys.schedule(),
                keys.attempts(command_id),
                *flow_keys,
            ],
            args=[command_id, token, self.limits.lease_ms, early_ms, *flow_args, worker_name()],
        )
        match reply[0]:
            case "claimed":
                return claimed(command_id, token, reply[1:], sent_monotonic=sent)
            case "parked":
                return Parked(int(reply[1]) / 1000, str(reply[2]))
            case "other_account":
                return OtherAccount(str(reply[1]))
        return str(reply[0])

    def finish(
        self,
        claim: Claim,
        state: CommandState,
        attempt: Attempt | None,
        *,
        reason: DeadReason | None = None,
        message: str = "",
        ack: DeliveryAck | None = None,
    ) -> str | None:
        """End a claimed command and release its lane; with ``ack``, ack its broker delivery too.

        The ack is part of the same atomic write as the outcome: both happen or neither.

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
                keys.outcomes(),
                *((ack.hash_key, ack.index_key) if ack else ()),
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
                self.limits.bulk_guard,
                self.limits.outcomes_max_len,
                *((ack.tag,) if ack else ()),
            ],
        )
        if reply[0] == "fenced":
            raise LeaseLost(claim.command_id, reply[1])
        _, next_id, attempts, latency_ms, now_ms = reply
        self.tally.finished(
            provider=envelope.command.provider,
            kind=envelope.command.kind,
            state=state,
            reason=reason or "",
            attempts=int(attempts),
            latency_ms=int(latency_ms),
            now_ms=int(now_ms),
        )
        return str(next_id) or None

    def retry(
        self,
        claim: Claim,
        attempt: Attempt | None,
        *,
        delay_s: float,
        spend: Spend,
        reconcile_first: bool,
        message: str = "",
    ) -> None:
        """Park a claimed command in the retry schedule.

        Raises:
            LeaseLost: the claim's lease ran out and another delivery took the command.
        """
        delay_ms = max(0, round(delay_s * 1000))
        reply = self.scripts.retry(
            keys=[
                keys.command(claim.command_id),
                keys.attempts(claim.command_id),
                keys.running(),
                keys.schedule(),
                keys.outcomes(),
            ],
            args=[
                claim.command_id,
                claim.token,
                attempt.model_dump_json() if attempt else "",
                delay_ms,
                spend,
                int(reconcile_first),
                message[:500],
                _fingerprint(attempt),
                self.limits.outcomes_max_len,
            ],
        )
        if reply[0] == "fenced":
            raise LeaseLost(claim.command_id, reply[1])
        if attempt is not None:  # a wait that records no attempt is not counted as a retry
            command = claim.envelope.command
            self.tally.retried(
                provider=command.provider,
                kind=command.kind,
                delay_ms=delay_ms,
                now_ms=int(reply[1]) - delay_ms,  # the script answers when the retry is due
            )

    def extend_lease(self, claim: Claim, *, fingerprint: Fingerprint | None = None) -> bool:
        """Renew the claim's lease for another full period; False when it was lost.

        A refund ``fingerprint`` is kept with it (unless the command has one already), so the
        evidence is stored before the provider call that may die half way.
        """
        kept = fingerprint.model_dump_json() if fingerprint is not None else ""
        renewed = self.scripts.extend(
            keys=[keys.command(claim.command_id), keys.running()],
            args=[claim.command_id, claim.token, self.limits.lease_ms, kept],
        )
        return bool(renewed)

    def due_messages(self, *, limit: int = 500, resent: bool | None = None) -> list[str]:
        """Ids that need a (re-)sent message: due retries, unclaimed dispatches, dead leases.

        ``resent=True``: only the re-sends of commands that had a message (due waits and
        retries, dead leases); ``False``: only the dispatch set (first messages, and unclaimed
        ones sent again); ``None``: all of them.
        """
        sets = [keys.schedule(), keys.dispatch(), keys.running()]
        if resent is not None:
            sets = [keys.schedule(), keys.running()] if resent else [keys.dispatch()]
        reply = self.scripts.promote(
            keys=sets, args=[limit, self.limits.guard_ms, self.limits.bulk_guard]
        )
        return [str(command_id) for command_id in reply]

    def due_again(self, command_ids: Sequence[str]) -> None:
        """Make ids that ``due_messages`` handed out due now again: their message was not sent.

        Scored 0 (due since ever: first at the next hand-out) in the sets that still hold them
        (``XX``): a command claimed since has left the dispatch set and is not put back.
        """
        if not command_ids:
            return
        pipe = self.client.pipeline(transaction=False)
        for key in (keys.schedule(), keys.dispatch(), keys.running()):
            pipe.zadd(key, dict.fromkeys(command_ids, 0), xx=True)
        pipe.execute()

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
                keys.outcomes(),
            ],
            args=[
                command_id,
                actor,
                why,
                self.limits.retention_s,
                keys.command(""),
                self.limits.outcomes_max_len,
            ],
        )
        return bool(reply[0] == "ok")

    def lane_ids(self, lane: str) -> list[str]:
        """The unfinished commands of an order lane, head first."""
        return [str(i) for i in self.client.lrange(keys.lane(lane), 0, -1)]

    def order_ids(self, lane: str) -> list[str]:
        """Every command admitted for an order, oldest first."""
        return [str(i) for i in self.client.zrange(keys.order_history(lane), 0, -1)]


def _fingerprint(attempt: Attempt | None) -> str:
    """The attempt's refund fingerprint as the store keeps it ('' when it has none)."""
    if attempt is None or attempt.fingerprint is None:
        return ""
    return attempt.fingerprint.model_dump_json()
