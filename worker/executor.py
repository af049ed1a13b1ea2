"""Runs one delivery of a command: claim, read when in doubt, call the provider, record.

The happy path makes one provider call (plus the read an adapter needs for its data). An
attempt reads the order at most once (``worker.reads``): before sending when the call needs
the order or an earlier delivery may have reached the provider (a timeout, a dropped reply, a
dead worker), else after a refusal, to tell "already done" and "never possible" from "try
again" before anything is final. Auth failures and unknown orders are final without a read.
"""

from __future__ import annotations

import time
from dataclasses import replace

import structlog

from providers import OrderProvider
from providers.errors import (
    ConfigError,
    FenceClosed,
    PermanentError,
    ProviderError,
    RateLimited,
    TransientError,
    Unprocessable,
)
from providers.http import fence_allows, fenced
from schemas import (
    AnyCommand,
    Attempt,
    AttemptOutcome,
    CancelOrder,
    CommandState,
    DeadReason,
    OrderSnapshot,
    ProviderReceipt,
    ReadPurpose,
    RefundOrder,
    UpdateOrder,
)
from store.clock import from_ms, utcnow
from store.command_store import Claim, LeaseLost, OtherAccount, Parked
from store.dispatching import send_or_defer
from store.flow import FlowGate
from worker import decisions
from worker.decisions import Decision
from worker.failures import error_name, permanent, rate_limited, transient
from worker.heartbeat import Heartbeat
from worker.reads import AttemptRead, needs_read
from worker.runtime import Runtime
from worker.store_watch import report_missing

log = structlog.get_logger("ordercmd.worker")

# errors that count against a provider's health (429 and 422 are answers, not outages)
OUTAGE_ERRORS = frozenset({"ProviderUnavailable"})


def execute(command_id: str, runtime: Runtime, *, delivery_tag: object = None) -> str:
    """Execute one delivery of ``command_id`` and record its outcome.

    ``delivery_tag``: the broker's, acked with the outcome when it can be (`worker.folded_acks`).

    Returns:
        The state the command is left in, or why the delivery had nothing to do.
    """
    claim = _claim(command_id, runtime)
    if isinstance(claim, Parked):
        log.info("command waits", command_id=command_id, why=claim.why, delay_s=claim.wait_s)
        return str(CommandState.WAITING)
    if claim == "missing":
        report_missing(runtime.store.client, command_id)
        return claim
    if not isinstance(claim, Claim):
        log.info("delivery skipped", command_id=command_id, why=claim)
        return claim
    started_at, started = utcnow(), time.monotonic()
    # the lease is renewed while the delivery works; each provider request asks it first
    lease_s = runtime.settings.lease_s
    with Heartbeat(runtime.store, claim, lease_s=lease_s) as heartbeat, fenced(heartbeat):
        decision = decide(claim, runtime)
    attempt = decisions.to_attempt(
        decision,
        number=claim.recorded_attempts + 1,
        started_at=started_at,
        duration_ms=round((time.monotonic() - started) * 1000),
    )
    try:
        _record(
            claim, decision, attempt if decision.record_attempt else None, runtime, delivery_tag
        )
    except LeaseLost as exc:
        log.warning("outcome not recorded", command_id=command_id, why=str(exc))
        return "lease_lost"
    command = claim.envelope.command
    log.info(
        "command attempt",
        command_id=command_id,
        provider=command.provider,
        kind=command.kind,
        order_id=command.order_id,
        attempt=attempt.number,
        outcome=decision.state,
        reason=decision.reason,
        http_status=decision.http_status,
        delay_s=round(decision.delay_s, 3) if decision.delay_s else None,
    )
    return str(decision.state)


def _claim(command_id: str, runtime: Runtime) -> Claim | Parked | str:
    """Claim the command and pass its account's flow gate, in one round trip when it can.

    The claim is given the gate of the account this process claimed for last (workers mostly
    serve a few accounts); for another account's command it changes nothing and names the
    account, and a second call brings that account's gate.
    """
    flow, settings = runtime.flow, runtime.settings
    gate = flow.expected or _gate_for(next(iter(settings.accounts), ""), runtime)
    reply = runtime.store.claim(command_id, gate=gate, max_deliveries=settings.max_deliveries)
    if isinstance(reply, OtherAccount):
        gate = _gate_for(reply.account, runtime)
        reply = runtime.store.claim(command_id, gate=gate, max_deliveries=settings.max_deliveries)
    # a second OtherAccount: the record was edited between the two calls; a later message retries
    return "account_changed" if isinstance(reply, OtherAccount) else reply


def _gate_for(account_name: str, runtime: Runtime) -> FlowGate | None:
    """The account's flow gate; ``None`` (claim ungated) when no account has that name.

    Such a command is claimed ungated: the attempt's account lookup dead-letters it as invalid.
    """
    try:
        account = runtime.settings.account(account_name)
    except ConfigError:
        return None
    return runtime.flow.gate(account_name, account)


def _record(
    claim: Claim,
    decision: Decision,
    attempt: Attempt | None,
    runtime: Runtime,
    delivery_tag: object,
) -> None:
    store = runtime.store
    if decision.state is CommandState.RETRYING:
        store.retry(
            claim,
            attempt,
            delay_s=decision.delay_s,
            spend=decision.spend,
            reconcile_first=decision.reconcile_first,
            message=decision.message,
        )
        return
    acks = runtime.acks
    ack = acks.ack_for(delivery_tag) if acks is not None else None
    next_id = store.finish(
        claim, decision.state, attempt, reason=decision.reason, message=decision.message, ack=ack
    )
    if acks is not None and ack is not None:
        acks.acked(ack.tag)
    if next_id:
        send_or_defer(store, runtime.publish, [next_id])


def decide(claim: Claim, runtime: Runtime) -> Decision:
    """Make the attempt and turn what happened into a decision; never raises."""
    if claim.deliveries > runtime.settings.max_deliveries:
        return decisions.dead(
            DeadReason.POISON,
            f"{claim.deliveries - 1} deliveries died before finishing; not trying again",
        )
    decision = _decide(claim, runtime)
    if decision.record_attempt and decision.error not in {"ConfigError", "TransientError"}:
        _report_health(claim, runtime, decision)
    return decision


def _decide(claim: Claim, runtime: Runtime) -> Decision:
    reads: list[AttemptRead] = []
    decision = _classified(claim, runtime, reads)
    return reads[0].stamp(decision) if reads else decision


def _classified(claim: Claim, runtime: Runtime, reads: list[AttemptRead]) -> Decision:
    try:
        return _attempt(claim, runtime, reads)
    except FenceClosed:  # the lease cannot be kept: give the command back, no attempt spent
        return decisions.lease_too_short(reconcile_first=claim.reconcile_first)
    except RateLimited as exc:
        return rate_limited(exc, claim, runtime)
    except TransientError as exc:
        return transient(exc, claim, runtime)
    except PermanentError as exc:
        return permanent(exc)
    except ConfigError as exc:
        return decisions.dead(DeadReason.INVALID, str(exc), error=error_name(exc))
    except Exception as exc:  # a bug must not kill the worker nor lose the command
        log.exception("unexpected error", command_id=claim.command_id)
        unexpected = TransientError(f"internal error: {error_name(exc)}", provider="ordercmd")
        unexpected.ambiguous = True
        return transient(unexpected, claim, runtime)


def _attempt(claim: Claim, runtime: Runtime, reads: list[AttemptRead]) -> Decision:
    command = claim.envelope.command
    provider = runtime.provider_for(command.account)
    since = from_ms(claim.first_claim_ms)
    read = AttemptRead(provider, command, since, claim.reconcile_first, claim.fingerprint)
    reads.append(read)
    if claim.reconcile_first or provider.reads_first(command):
        read.read(ReadPurpose.AFTER_DOUBT if claim.reconcile_first else ReadPurpose.BEFORE_SEND)
        settled = read.settled()
        if settled is not None:
            return settled
    # the read may have been slow: the call gets a whole lease of its own, or none at all; the
    # refund records it saw are stored first, so a death during the call leaves them
    stores_evidence = claim.reconcile_first or read.fingerprint is not None
    if stores_evidence and not runtime.store.extend_lease(claim, fingerprint=read.fingerprint):
        return decisions.lease_too_short(reconcile_first=claim.reconcile_first)
    if not _lease_allows_call(claim, runtime):
        return decisions.lease_too_short(reconcile_first=claim.reconcile_first)
    try:
        receipt = _send(provider, command, claim.envelope.idempotency_key, read.order)
    except ProviderError as exc:
        if not needs_read(exc):
            raise
        return _refused(exc, claim, runtime, read)
    return decisions.succeeded(receipt.message or receipt.operation, receipt.http_status)


def _refused(exc: ProviderError, claim: Claim, runtime: Runtime, read: AttemptRead) -> Decision:
    """A refusal is final only after a read: the goal may be met, or the order rule it out.

    The attempt's read before sending counts (at most one read per attempt); what it or the
    read made now shows decides: done -> ``already_done``; impossible -> dead with the
    adapter's reason; still pending -> the 422 rule (retry) or dead with the provider's words.
    """
    if read.note is None:
        read.read(ReadPurpose.AFTER_REFUSAL)
        settled = read.settled()
        if settled is not None:
            return replace(settled, http_status=exc.status_code, error=error_name(exc))
    if isinstance(exc, Unprocessable):
        return transient(exc, claim, runtime)
    assert isinstance(exc, PermanentError)
    return permanent(exc)


def _send(
    provider: OrderProvider, command: AnyCommand, key: str, order: OrderSnapshot | None
) -> ProviderReceipt:
    given = {"order": order} if order is not None else {}  # the order only when it was read
    match command:
        case CancelOrder():
            return provider.cancel(command, idempotency_key=key, **given)
        case UpdateOrder():
            return provider.update(command, idempotency_key=key, **given)
        case RefundOrder():
            return provider.refund(command, idempotency_key=key, **given)


def _lease_allows_call(claim: Claim, runtime: Runtime) -> bool:
    """Whether the heartbeat's lease outlasts a whole provider call (its total deadline)."""
    account = runtime.settings.account(claim.envelope.command.account)
    return fence_allows(account.timeout_s)


def _report_health(claim: Claim, runtime: Runtime, decision: Decision) -> None:
    """A 429 pauses the account for every worker; outages count towards opening the breaker."""
    command = claim.envelope.command
    if decision.outcome is AttemptOutcome.RATE_LIMITED:
        runtime.flow.pause(command.provider, command.account, decision.delay_s)
        return
    ok = decision.error not in OUTAGE_ERRORS
    if ok and claim.breaker_clean:
        return  # the claim saw the breaker closed with no failures: a success changes nothing
    runtime.flow.record(command.provider, command.account, ok=ok)
