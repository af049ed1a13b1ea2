"""What a read of the order left as evidence: the refund fingerprint and the read's note."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class RefundPrint(BaseModel):
    """One refund record as the provider gave it: amount, status and date, never reinterpreted."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    amount: str | None  # the amount as a decimal string; None when the record has none
    status: str
    created: str  # the record's date exactly as written (a zone-less date stays zone-less)


class Fingerprint(BaseModel):
    """The refund records an order held before the first refund was sent for a command.

    After an ambiguous outcome, a record that is not in the fingerprint and matches the command
    is that command's refund; nothing needs reading a date in an assumed zone.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    records: tuple[RefundPrint, ...] = ()

    @property
    def count(self) -> int:
        """How many records the order held."""
        return len(self.records)


class ReadPurpose(StrEnum):
    """Why an attempt read the order."""

    BEFORE_SEND = "before_send"  # the call needs the order's data (Backd refund and update)
    AFTER_DOUBT = "after_doubt"  # an earlier call may have reached the provider
    AFTER_REFUSAL = "after_refusal"  # the provider refused: is the goal met, or impossible?


class ReadShowed(StrEnum):
    """What a read said about the command."""

    PENDING = "pending"
    DONE = "done"
    IMPOSSIBLE = "impossible"
    AMBIGUOUS = "ambiguous"


class ReadNote(BaseModel):
    """One read of the order made by an attempt: what was read and what it showed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    what: str  # e.g. "backd order BO-000002 (status, refunds)"
    purpose: ReadPurpose
    showed: ReadShowed
    order_status: str
    message: str = Field(default="", max_length=500)

    @property
    def headline(self) -> str:
        """One line for people: ``after_doubt: pending (order order_confirmed)``."""
        return f"{self.purpose}: {self.showed} (order {self.order_status})"
