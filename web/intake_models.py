"""Bodies and answers of the HTTP intake, as pydantic models (they make the OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas import CancelOrder, CommandRecord, ReadNote, RefundOrder, UpdateOrder
from schemas.envelope import IdempotencyKey

MAX_BATCH_ITEMS = 1000  # commands per POST /v1/commands:batch


class CancelBody(CancelOrder):
    """A cancel, with an optional idempotency key."""

    idempotency_key: IdempotencyKey | None = None


class UpdateBody(UpdateOrder):
    """An update (``changes`` is the provider's patch), with an optional idempotency key."""

    idempotency_key: IdempotencyKey | None = None


class RefundBody(RefundOrder):
    """A full (no ``amount``) or partial refund, with an optional idempotency key."""

    idempotency_key: IdempotencyKey | None = None


CommandBody = Annotated[CancelBody | UpdateBody | RefundBody, Field(discriminator="kind")]


class BatchBody(BaseModel):
    """Several commands, validated together: one bad item refuses them all."""

    model_config = ConfigDict(extra="forbid")

    commands: Annotated[list[CommandBody], Field(min_length=1, max_length=MAX_BATCH_ITEMS)]


def command_input(body: CancelBody | UpdateBody | RefundBody) -> dict[str, Any]:
    """The command fields of a body, without its idempotency key."""
    return body.model_dump(exclude={"idempotency_key"}, exclude_none=True)


class Accepted(BaseModel):
    """A command admitted now (202) or found under its key with the same content (200)."""

    command_id: str
    idempotency_key: str
    status: Literal["new", "existing"]
    status_url: str


class ItemResult(BaseModel):
    """What became of one item of a batch."""

    index: int
    command_id: str  # for a conflict: the earlier command that holds the key
    idempotency_key: str
    status: Literal["new", "existing", "conflict"]
    status_url: str


class BatchAccepted(BaseModel):
    """Every item of a batch that passed validation, in request order."""

    results: list[ItemResult]


class FieldError(BaseModel):
    """One problem, naming the field (``commands[2].amount`` in a batch)."""

    field: str
    reason: str


class Errors(BaseModel):
    """Why a request was refused."""

    errors: list[FieldError]


class Conflict(Errors):
    """The key was used before for other content; ``command_id`` is that earlier command."""

    command_id: str


class Unavailable(Errors):
    """The store did not answer; retry after ``Retry-After`` seconds.

    ``may_have_been_admitted`` true: the command may be in (and will run): retry with the same
    idempotency key, never a new one. False: nothing was admitted.
    """

    may_have_been_admitted: bool


class AttemptView(BaseModel):
    """One provider attempt (sanitized: no credentials or auth headers are ever recorded)."""

    number: int
    started_at: datetime
    duration_ms: int
    outcome: str
    http_status: int | None
    error: str | None
    message: str
    read: ReadNote | None = None  # the attempt's one read of the order: why, what it showed


class CommandView(BaseModel):
    """A command's state and attempts."""

    command_id: str
    state: str
    idempotency_key: str
    source: str
    batch_id: str | None
    command: dict[str, Any]
    submitted_at: datetime
    created_at: datetime
    updated_at: datetime
    next_attempt_at: datetime | None
    dead_reason: str | None
    # while waiting its turn (no attempt spent): lane, rate, breaker, paused or backlog
    waiting_for: str | None = None
    waiting_until: datetime | None = None  # when its turn comes, if known (backlog: estimated)
    backlog_place: int | None = None  # 1 = next out of its account's bulk backlog
    last_message: str
    attempts: list[AttemptView]

    @classmethod
    def of(cls, record: CommandRecord) -> CommandView:
        """The view of a stored record."""
        envelope = record.envelope
        return cls(
            command_id=record.id,
            state=record.state,
            idempotency_key=envelope.idempotency_key,
            source=envelope.source,
            batch_id=envelope.batch_id,
            command=envelope.command.model_dump(mode="json", exclude_none=True),
            submitted_at=envelope.submitted_at,
            created_at=record.created_at,
            updated_at=record.updated_at,
            next_attempt_at=record.next_attempt_at,
            dead_reason=record.dead_reason,
            waiting_for=record.waiting_for,
            waiting_until=record.waiting_until,
            backlog_place=record.backlog_place,
            last_message=record.last_message,
            attempts=[AttemptView.model_validate(a.model_dump()) for a in record.attempts],
        )
