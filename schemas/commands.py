"""The three order commands (cancel, update, refund) as one discriminated union on ``kind``."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from schemas.money import to_cents
from schemas.patches import OrderPatch


class Provider(StrEnum):
    """The providers ordercmd can execute commands at."""

    BACKD = "backd"
    SHOPLAZZA = "shoplazza"
    FASTPOD = "fastpod"


class CommandKind(StrEnum):
    """What a command asks the provider to do."""

    CANCEL = "cancel"
    UPDATE = "update"
    REFUND = "refund"


Identifier = Annotated[
    str,
    Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@/-]*$"),
]
Reason = Annotated[str, Field(min_length=1, max_length=500)]
Money = Annotated[
    Decimal,
    Field(gt=0, max_digits=14, decimal_places=2, allow_inf_nan=False),
    AfterValidator(to_cents),
]


class _CommandBase(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    provider: Provider
    account: Identifier
    order_id: Identifier

    @property
    def lane(self) -> str:
        """The order lane this command runs in: ``provider:account:order_id``."""
        return f"{self.provider}:{self.account}:{self.order_id}"


class CancelOrder(_CommandBase):
    """Cancel an order at its provider."""

    kind: Literal["cancel"] = "cancel"
    reason: Reason | None = None


class UpdateOrder(_CommandBase):
    """Change some fields of an order; ``changes`` is a patch typed for the provider."""

    kind: Literal["update"] = "update"
    changes: OrderPatch

    @model_validator(mode="before")
    @classmethod
    def _changes_for_provider(cls, data: Any) -> Any:
        """Tag ``changes`` with the command's provider so the provider's patch model checks it."""
        if isinstance(data, dict) and isinstance(data.get("changes"), dict):
            return {**data, "changes": {**data["changes"], "provider": data.get("provider")}}
        return data


class RefundOrder(_CommandBase):
    """Refund an order in full (no ``amount``) or in part."""

    kind: Literal["refund"] = "refund"
    amount: Money | None = None
    line_items: Annotated[list[RefundLine], Field(min_length=1, max_length=500)] | None = None
    reason: Reason | None = None

    @model_validator(mode="after")
    def _line_items_need_shoplazza(self) -> RefundOrder:
        """Only Shoplazza refunds by line item, and a partial refund there needs an amount."""
        if self.line_items is not None:
            if self.provider is not Provider.SHOPLAZZA:
                raise ValueError("line_items: only Shoplazza refunds by line item")
            if self.amount is None:
                raise ValueError("amount: a refund by line items needs the amount to refund")
        return self


class RefundLine(BaseModel):
    """One line of a Shoplazza partial refund."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Identifier
    quantity: Annotated[int, Field(ge=1, le=100_000)]


RefundOrder.model_rebuild()

Command = Annotated[CancelOrder | UpdateOrder | RefundOrder, Field(discriminator="kind")]
COMMAND_ADAPTER: TypeAdapter[CancelOrder | UpdateOrder | RefundOrder] = TypeAdapter(Command)
