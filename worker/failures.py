"""Turns a failed provider call into a decision: retry after a backoff, or dead-letter."""

from __future__ import annotations

from providers.errors import PermanentError, RateLimited, TransientError, Unprocessable
from schemas import AttemptOutcome, DeadReason
from store.command_store import Claim, Spend
from worker import decisions
from worker.backoff import retry_delay_s
from worker.decisions import Decision
from worker.runtime import Runtime


def rate_limited(exc: RateLimited, claim: Claim, runtime: Runtime) -> Decision:
    """A 429: wait for ``Retry-After`` (or one backoff step); no attempt is spent."""
    policy = runtime.settings.retry_policy(claim.envelope.command.provider)
    delay = exc.retry_after_s
    if delay is None:
        delay = retry_delay_s(1, base_s=policy.base_s, cap_s=policy.cap_s, rng=runtime.rng)
    return decisions.retry(
        str(exc),
        delay_s=delay,
        spend=Spend.NOTHING,
        reconcile_first=claim.reconcile_first,
        http_status=exc.status_code,
        error=error_name(exc),
        outcome=AttemptOutcome.RATE_LIMITED,
    )


def transient(exc: TransientError, claim: Claim, runtime: Runtime) -> Decision:
    """Retry with backoff while the budget lasts (422s have their own), then ``exhausted``."""
    policy = runtime.settings.retry_policy(claim.envelope.command.provider)
    if isinstance(exc, Unprocessable):
        spend, used, budget = Spend.UNPROCESSABLE, claim.unprocessable + 1, policy.max_unprocessable
    else:
        spend, used, budget = Spend.ATTEMPT, claim.attempts + 1, policy.max_attempts
    if used >= budget:
        return decisions.dead(
            DeadReason.EXHAUSTED,
            f"gave up after {used} attempts: {exc}",
            http_status=exc.status_code,
            error=error_name(exc),
        )
    delay = retry_delay_s(used, base_s=policy.base_s, cap_s=policy.cap_s, rng=runtime.rng)
    return decisions.retry(
        str(exc),
        delay_s=delay,
        spend=spend,
        reconcile_first=claim.reconcile_first or exc.ambiguous,
        http_status=exc.status_code,
        error=error_name(exc),
    )


def permanent(exc: PermanentError) -> Decision:
    """Dead-letter at once, with the reason the error class names."""
    return decisions.dead(exc.reason, str(exc), http_status=exc.status_code, error=error_name(exc))


def error_name(exc: BaseException) -> str:
    """The error class name recorded with an attempt."""
    return type(exc).__name__
