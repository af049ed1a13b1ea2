"""Test factories: envelopes and commands with sensible defaults, overridable per test."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from schemas import COMMAND_ADAPTER, AnyCommand, CommandEnvelope

SUBMITTED_AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def make_command(**overrides: Any) -> AnyCommand:
    """A cancel at Backd unless ``overrides`` say otherwise."""
    data: dict[str, Any] = {
        "kind": "cancel",
        "provider": "backd",
        "account": "acme",
        "order_id": "BO-000001",
    }
    data.update(overrides)
    return COMMAND_ADAPTER.validate_python(data)


def make_envelope(key: str = "key-1", **overrides: Any) -> CommandEnvelope:
    """An envelope around ``make_command(**overrides)``."""
    return CommandEnvelope(
        command=make_command(**overrides), idempotency_key=key, submitted_at=SUBMITTED_AT
    )


def make_read_attempt(number: int = 1) -> Any:
    """An attempt that read the order after a refusal and found the command impossible."""
    from schemas import Attempt, AttemptOutcome, ReadNote, ReadPurpose, ReadShowed

    note = ReadNote(
        what="backd order BO-1",
        purpose=ReadPurpose.AFTER_REFUSAL,
        showed=ReadShowed.IMPOSSIBLE,
        order_status="order_confirmed",
        message="Backd cancels only order_placed orders; a refund is needed instead",
    )
    return Attempt(
        number=number,
        started_at=datetime(2026, 12, 1, tzinfo=UTC),
        duration_ms=12,
        outcome=AttemptOutcome.FAILED,
        http_status=400,
        error="NotAllowed",
        reconciled=f"order order_confirmed: {note.message}",
        read=note,
    )
