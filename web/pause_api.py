"""The operator API for pauses under ``/api/pauses``: read by viewers, set and lifted by operators.

Every pause and resume names a reason and goes to the audit log; bad input is a 422 naming the
field (``provider``, ``account``, ``why``); resuming what is not paused is a 409.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from store.pause_state import account_pauses
from web.auth import Principal
from web.guards import api_operator, api_user
from web.operator_models import Why
from web.pause_view import act
from web.state import AppState, app_state

router = APIRouter(prefix="/api/pauses", tags=["operator"])
State = Annotated[AppState, Depends(app_state)]
Viewer = Annotated[Principal, Depends(api_user)]
Operator = Annotated[Principal, Depends(api_operator)]


class PauseBody(BaseModel):
    """What to pause or resume (a whole provider when ``account`` is absent) and why."""

    model_config = ConfigDict(extra="forbid")

    provider: str = Field(min_length=1, max_length=40)
    account: str | None = Field(default=None, min_length=1, max_length=200)
    why: Why

    @property
    def target(self) -> str:
        """``provider`` or ``provider:account``."""
        return f"{self.provider}:{self.account}" if self.account else self.provider


class PauseDone(BaseModel):
    """The target after the action and its commands held (released in order once resumed)."""

    target: str
    state: Literal["paused", "resumed"]
    held: int


class AccountPauseOut(BaseModel):
    """One configured account: ``running``, ``paused`` or ``draining`` (resumed, releasing)."""

    provider: str
    account: str
    state: str
    by_provider: bool
    actor: str
    why: str
    since_ms: int | None
    held: int


@router.get("")
def pauses(state: State, _: Viewer) -> list[AccountPauseOut]:
    """Every configured account with its pause (its own or its provider's) and held commands."""
    rows = account_pauses(state.store.client, state.settings)
    return [AccountPauseOut.model_validate(row, from_attributes=True) for row in rows]


@router.post("/pause")
def pause(state: State, user: Operator, body: PauseBody) -> PauseDone:
    """Pause a provider or one account for every worker until resumed (no attempt is spent)."""
    target, held = act(state.store.client, state.settings, "pause", body.target,
                       actor=user.name, why=body.why)  # fmt: skip
    return PauseDone(target=target, state="paused", held=held)


@router.post("/resume")
def resume(state: State, user: Operator, body: PauseBody) -> PauseDone:
    """Lift a pause: held commands go out in admission order at the account's rate."""
    target, held = act(state.store.client, state.settings, "resume", body.target,
                       actor=user.name, why=body.why)  # fmt: skip
    return PauseDone(target=target, state="resumed", held=held)
