"""What the command store records: states, attempts, outcomes and dead-letter reasons."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas.envelope import CommandEnvelope
from schemas.evidence import Fingerprint, ReadNote


class CommandState(StrEnum):
    """Where a command is in its life."""

    WAITING = "waiting"  # waiting its turn, no attempt spent: what for is its `WaitingFor`
    QUEUED = "queued"  # head of its lane, a message is on the broker
    RUNNING = "running"  # claimed by a worker under a lease
    RETRYING = "retrying"  # an attempt failed: parked in the retry schedule until the next one
    SUCCEEDED = "succeeded"
    ALREADY_DONE = "already_done"  # the provider's order already showed the target state
    DEAD = "dead"  # in the dead-letter queue, with its reason
    DISCARDED = "discarded"  # an operator gave it up


class WaitingFor(StrEnum):
    """What a ``waiting`` command waits for; none of these spends an attempt."""

    LANE = "lane"  # the command ahead of it in its order lane to end
    RATE = "rate"  # its slot under the account's rate limit
    BREAKER = "breaker"  # the account's circuit breaker to close (or its probe to report)
    PAUSED = "paused"  # the end of a pause of its account (a provider's 429, or an operator's)
    BACKLOG = "backlog"  # its turn in the account's bulk backlog (bulk work waits there by design)


WAIT_TEXT = {  # how each wait reads to people (CLI, dashboard)
    WaitingFor.LANE: "waiting for the command ahead of it in its order lane",
    WaitingFor.RATE: "waiting for its slot under the account's rate limit",
    WaitingFor.BREAKER: "waiting for the account's circuit breaker",
    WaitingFor.PAUSED: "waiting for the account's pause to end",
    WaitingFor.BACKLOG: "waiting its turn in the account's bulk backlog",
}


TERMINAL_STATES = frozenset(
    {CommandState.SUCCEEDED, CommandState.ALREADY_DONE, CommandState.DEAD, CommandState.DISCARDED}
)


class AttemptOutcome(StrEnum):
    """How one provider attempt ended."""

    OK = "ok"
    ALREADY_DONE = "already_done"
    RETRY = "retry"
    RATE_LIMITED = "rate_limited"
    FAILED = "failed"  # permanent failure; the command dead-letters


class DeadReason(StrEnum):
    """Why a command is in the dead-letter queue."""

    REJECTED = "rejected"  # the provider's business rules refuse it
    NOT_FOUND = "not_found"
    AUTH = "auth"
    UNSUPPORTED = "unsupported"
    INVALID = "invalid"  # the provider refused the request itself (400 and kin)
    EXHAUSTED = "exhausted"  # the retry budget ran out
    AMBIGUOUS = "ambiguous"  # the order's state contradicts what was sent
    POISON = "poison"  # deliveries kept dying before finishing


class Attempt(BaseModel):
    """One provider attempt, sanitized: no credentials, no auth headers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    number: int = Field(ge=1)
    started_at: AwareDatetime
    duration_ms: int = Field(ge=0)
    outcome: AttemptOutcome
    http_status: int | None = None
    error: str | None = None  # the error class, e.g. ProviderUnavailable
    message: str = ""  # the provider's own message, trimmed
    reconciled: str | None = None  # what a read of the order found, when one was made
    retry_in_s: float | None = None
    read: ReadNote | None = None  # the attempt's one read of the order, if it made one
    fingerprint: Fingerprint | None = None  # refund records held before this attempt's send


class CommandRecord(BaseModel):
    """Everything the store knows about one command."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    envelope: CommandEnvelope
    state: CommandState
    created_at: AwareDatetime
    updated_at: AwareDatetime
    attempts: list[Attempt] = Field(default_factory=list)
    deliveries: int = 0  # deliveries that started but never reported back
    next_attempt_at: datetime | None = None
    waiting_for: WaitingFor | None = None  # set while the state is waiting
    # while waiting: when its turn comes, when known (a gate's due time, a released bulk
    # command's slot) or estimated (a backlog's place at the account's measured rate)
    waiting_until: AwareDatetime | None = None
    backlog_place: int | None = None  # 1 = next out of its account's bulk backlog
    dead_reason: DeadReason | None = None
    last_message: str = ""
    lane_position: int | None = None  # 0 = head of its order lane; None once it left the lane
    # while running: who holds the claim (host:pid), since when, and until when its lease runs
    running_on: str | None = None
    running_since: AwareDatetime | None = None
    lease_until: AwareDatetime | None = None

    @property
    def terminal(self) -> bool:
        """Whether the command has reached an end state."""
        return self.state in TERMINAL_STATES
