"""The operator API for webhooks under ``/api/webhooks``: subscriptions, state, dead deliveries.

Operators see every subscription, and may make one for a producer (``producer``) or for every
command (none). Producers manage their own under ``/v1/webhooks`` (``web.webhook_producer_api``).

Reads need a viewer's token, changes an operator's; every change goes to the audit log. A new
or rotated secret is in the answer that makes it, and in no other answer.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from config.webhooks import EVENT_KINDS
from schemas.envelope import ProducerName
from store.webhooks.deliveries import DeadFilter
from web.auth import Principal
from web.guards import api_operator, api_user
from web.operator_models import Why
from web.state import AppState, app_state
from web.webhook_actions import Scope, WebhookActions
from web.webhook_answers import Answers

router = APIRouter(prefix="/api/webhooks", tags=["webhooks"])
State = Annotated[AppState, Depends(app_state)]
Viewer = Annotated[Principal, Depends(api_user)]
Operator = Annotated[Principal, Depends(api_operator)]
EventKind = Literal[EVENT_KINDS]  # type: ignore[valid-type]


class NewSubscription(BaseModel):
    """A new subscription: where, which event kinds, and an optional provider/account filter."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2000)
    events: list[EventKind] = Field(min_length=1)
    provider: str | None = Field(default=None, max_length=64)
    account: str | None = Field(default=None, max_length=64)


class SubscriptionBody(NewSubscription):
    """An operator's new subscription, for one producer's commands or (none) every command's."""

    producer: ProducerName | None = None


class RotateBody(BaseModel):
    """How long the current secret keeps signing beside the new one."""

    overlap_s: float = Field(default=24 * 3600.0, ge=0, le=30 * 24 * 3600.0)


class DisableBody(BaseModel):
    """Why the operator acts (deliveries stop, a gap is filled)."""

    why: Why


class ReplayBody(BaseModel):
    """Which dead deliveries to replay (every field given must match); ``dry_run`` counts."""

    subscription_id: str | None = None
    event: EventKind | None = None
    command_id: str | None = None
    dry_run: bool = True


def _answers(state: AppState, user: Principal) -> Answers:
    return Answers(WebhookActions(state, Scope(user.name)), _refused)


def _refused(status: int, field: str, problem: str) -> HTTPException:
    return HTTPException(status, f"{field}: {problem}" if status == 422 else problem)


@router.get("")
def list_subscriptions(state: State, user: Viewer) -> list[dict[str, Any]]:
    """Every subscription with its delivery state (disabled, failing, cursor); no secrets."""
    return _answers(state, user).acting.rows()


@router.post("", status_code=201)
def create(state: State, user: Operator, body: SubscriptionBody) -> dict[str, Any]:
    """Subscribe a URL; the answer holds its secret, shown this once (422: URL refused)."""
    return _answers(state, user).created(body.url, list(body.events), provider=body.provider,
                                         account=body.account, producer=body.producer)  # fmt: skip


@router.post("/{sub_id}/rotate")
def rotate(state: State, user: Operator, sub_id: str, body: RotateBody) -> dict[str, Any]:
    """A new secret (shown this once); the current one signs too for ``overlap_s``."""
    return _answers(state, user).rotated(sub_id, overlap_s=body.overlap_s)


@router.post("/{sub_id}/remove")
def remove(state: State, user: Operator, sub_id: str) -> dict[str, Any]:
    """Delete a subscription made through the API."""
    return _answers(state, user).removed(sub_id)


@router.post("/{sub_id}/disable")
def disable(state: State, user: Operator, sub_id: str, body: DisableBody) -> dict[str, Any]:
    """Stop deliveries; events wait in the stream for the re-enable."""
    return _answers(state, user).disabled(sub_id, body.why)


@router.post("/{sub_id}/enable")
def enable(state: State, user: Operator, sub_id: str) -> dict[str, Any]:
    """Resume deliveries; what the subscription missed is delivered."""
    return _answers(state, user).enabled(sub_id)


@router.post("/{sub_id}/gaps/{number}/fill")
def fill_gap(
    state: State, user: Operator, sub_id: str, number: Annotated[int, Path(ge=0, le=99)],
    body: DisableBody,
) -> dict[str, Any]:  # fmt: skip
    """Rebuild the final events of gap ``number`` (0: newest) from the command records."""
    return _answers(state, user).gap_filled(sub_id, number, body.why)


@router.get("/dead")
def dead(
    state: State, user: Viewer, subscription_id: str | None = None,
    event: Annotated[EventKind | None, Query()] = None, command_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:  # fmt: skip
    """Dead deliveries matching every given field, oldest first."""
    where = DeadFilter(subscription_id, event, command_id)
    return _answers(state, user).dead(where, limit=limit)


@router.post("/dead/replay")
def replay(state: State, user: Operator, body: ReplayBody) -> dict[str, Any]:
    """Replay the matching dead deliveries, each once; ``dry_run`` (the default) counts them."""
    where = DeadFilter(body.subscription_id, body.event, body.command_id)
    return _answers(state, user).replayed(where, dry_run=body.dry_run)
