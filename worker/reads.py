"""An attempt's one read of the order: when it is made, what it showed, what it leaves behind.

A read happens at most once per attempt: before sending when the call needs the order's data
(``reads_first``) or an earlier delivery may have reached the provider, else after a refusal.
Its verdict is recorded with the attempt (``ReadNote``); when it shows the command still to
do and the command has no refund fingerprint yet, the records it saw become that fingerprint
(stored before the send, so a worker dying during the call leaves it, and on the attempt).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from providers import OrderProvider
from providers.errors import AuthFailed, OrderNotFound, PermanentError, ProviderError, Unprocessable
from schemas import (
    AnyCommand,
    DeadReason,
    Fingerprint,
    OrderSnapshot,
    ReadNote,
    ReadPurpose,
    ReadShowed,
    Reconciliation,
    Verdict,
)
from worker import decisions
from worker.decisions import Decision


def needs_read(exc: ProviderError) -> bool:
    """Whether a refusal gets a read before it is final: an HTTP answer, not auth or not-found."""
    if isinstance(exc, AuthFailed | OrderNotFound) or exc.status_code is None:
        return False
    return isinstance(exc, PermanentError | Unprocessable)


def showed(found: Reconciliation) -> ReadShowed:
    """What a verdict tells an operator: pending, done, impossible or ambiguous."""
    if found.verdict is Verdict.IMPOSSIBLE and found.reason is DeadReason.AMBIGUOUS:
        return ReadShowed.AMBIGUOUS
    return ReadShowed(found.verdict.value)


@dataclass
class AttemptRead:
    """The read one attempt may make, and what it found."""

    provider: OrderProvider
    command: AnyCommand
    since: datetime
    doubt: bool  # an earlier delivery may have reached the provider
    kept: Fingerprint | None  # the fingerprint the command already has
    order: OrderSnapshot | None = None
    found: Reconciliation | None = None
    note: ReadNote | None = None
    fingerprint: Fingerprint | None = None  # to write with this attempt

    def read(self, purpose: ReadPurpose) -> Reconciliation:
        """Read the order once and reconcile the command against it.

        Without doubt nothing of this command can be at the provider yet, so the read's own
        records are the fingerprint; with doubt the kept one is (or none: dates decide).
        """
        if self.note is not None:
            raise RuntimeError("an attempt reads the order at most once")
        order = self.provider.find(self.command.order_id)
        own = self.provider.fingerprint(self.command, order)
        before = self.kept if self.doubt else own
        found = self.provider.reconcile(self.command, order, since=self.since, before=before)
        self.order, self.found = order, found
        what = f"{self.provider.name} order {self.command.order_id}"
        self.note = ReadNote(
            what=what,
            purpose=purpose,
            showed=showed(found),
            order_status=order.status,
            message=found.message[:500],
        )
        if found.verdict is Verdict.PENDING and self.kept is None:
            self.fingerprint = own
        return found

    @property
    def summary(self) -> str | None:
        """The one-line note kept in the attempt's ``reconciled``."""
        if self.note is None:
            return None
        return f"order {self.note.order_status}: {self.note.message}"[:500]

    def settled(self) -> Decision | None:
        """The decision the read settles (done, impossible, ambiguous); ``None`` when pending."""
        found, note = self.found, self.summary
        if found is None or note is None or found.verdict is Verdict.PENDING:
            return None
        if found.verdict is Verdict.DONE:
            return decisions.already_done(note)
        return decisions.dead(found.reason or DeadReason.REJECTED, found.message, reconciled=note)

    def stamp(self, decision: Decision) -> Decision:
        """``decision`` with this read (and the fingerprint it leaves) recorded on it."""
        return replace(
            decision,
            read=self.note,
            fingerprint=self.fingerprint,
            reconciled=decision.reconciled or self.summary,
        )
