"""What to do with a command after one attempt: finish it, dead-letter it, or retry it later."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from schemas import Attempt, AttemptOutcome, CommandState, DeadReason, Fingerprint, ReadNote
from store.command_store import Spend


@dataclass(frozen=True)
class Decision:
    """The outcome of one delivery, ready to record."""

    state: CommandState  # SUCCEEDED, ALREADY_DONE, DEAD or RETRYING
    outcome: AttemptOutcome
    message: str = ""
    reason: DeadReason | None = None
    http_status: int | None = None
    error: str | None = None
    reconciled: str | None = None
    delay_s: float = 0.0
    spend: Spend = Spend.NOTHING
    reconcile_first: bool = False
    record_attempt: bool = True  # False when the provider was not called (lease too short)
    read: ReadNote | None = None  # the attempt's one read of the order
    fingerprint: Fingerprint | None = None  # refund records the read showed, kept for later


def succeeded(message: str, http_status: int | None) -> Decision:
    """The provider accepted the command."""
    return Decision(CommandState.SUCCEEDED, AttemptOutcome.OK, message, http_status=http_status)


def already_done(reconciled: str) -> Decision:
    """The order already shows the command's target state."""
    return Decision(
        CommandState.ALREADY_DONE,
        AttemptOutcome.ALREADY_DONE,
        "the order already shows this command done",
        reconciled=reconciled,
    )


def dead(
    reason: DeadReason,
    message: str,
    *,
    http_status: int | None = None,
    error: str | None = None,
    reconciled: str | None = None,
) -> Decision:
    """The command goes to the dead-letter queue."""
    return Decision(
        CommandState.DEAD,
        AttemptOutcome.FAILED,
        message,
        reason=reason,
        http_status=http_status,
        error=error,
        reconciled=reconciled,
    )


def retry(
    message: str,
    *,
    delay_s: float,
    spend: Spend,
    reconcile_first: bool,
    http_status: int | None = None,
    error: str | None = None,
    outcome: AttemptOutcome = AttemptOutcome.RETRY,
) -> Decision:
    """The command waits in the retry schedule for ``delay_s``."""
    return Decision(
        CommandState.RETRYING,
        outcome,
        message,
        http_status=http_status,
        error=error,
        delay_s=delay_s,
        spend=spend,
        reconcile_first=reconcile_first,
    )


def lease_too_short(*, reconcile_first: bool) -> Decision:
    """Give the command back untried: too little of the lease is left to call the provider."""
    return Decision(
        CommandState.RETRYING,
        AttemptOutcome.RETRY,
        "lease too short to call the provider safely",
        reconcile_first=reconcile_first,
        record_attempt=False,
    )


def to_attempt(
    decision: Decision, *, number: int, started_at: datetime, duration_ms: int
) -> Attempt:
    """The attempt record of ``decision``."""
    return Attempt.model_validate(
        {
            "number": number,
            "started_at": started_at,
            "duration_ms": duration_ms,
            "outcome": decision.outcome,
            "http_status": decision.http_status,
            "error": decision.error,
            "message": decision.message[:500],
            "reconciled": decision.reconciled,
            "retry_in_s": round(decision.delay_s, 3)
            if decision.state is CommandState.RETRYING
            else None,
            "read": decision.read,
            "fingerprint": decision.fingerprint,
        }
    )
