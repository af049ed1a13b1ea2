"""Producers' own webhooks under ``/v1/webhooks``, with their API key: subscribe, rotate, replay.

A producer's subscriptions get the outcomes of the commands it submitted, and it sees and
changes only those (another producer's are 404). Refusals are the intake's ``Errors`` shape.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from store.webhooks.deliveries import DeadFilter
from web.intake_auth import producer_name
from web.intake_errors import IntakeError, IntakeRoute
from web.state import AppState, app_state
from web.webhook_actions import Scope, WebhookActions
from web.webhook_answers import Answers
from web.webhook_api import DisableBody, EventKind, NewSubscription, ReplayBody, RotateBody

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"], route_class=IntakeRoute)
State = Annotated[AppState, Depends(app_state)]
Caller = Annotated[str, Depends(producer_name)]
SubId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,80}$")]


def _answers(state: AppState, producer: str) -> Answers:
    return Answers(WebhookActions(state, Scope.of_producer(producer)), _refused)


def _refused(status: int, field: str, problem: str) -> IntakeError:
    return IntakeError(status, [(field, problem)])


@router.get("")
def my_subscriptions(state: State, producer: Caller) -> list[dict[str, Any]]:
    """The caller's subscriptions with their delivery state; no secrets."""
    return _answers(state, producer).acting.rows()


@router.post("", status_code=201)
def subscribe(state: State, producer: Caller, body: NewSubscription) -> dict[str, Any]:
    """Subscribe a URL to the outcomes of the caller's commands; the secret is shown this once."""
    answers = _answers(state, producer)
    return answers.created(body.url, list(body.events), provider=body.provider,
                           account=body.account)  # fmt: skip


@router.post("/{sub_id}/rotate")
def rotate(state: State, producer: Caller, sub_id: SubId, body: RotateBody) -> dict[str, Any]:
    """A new secret (shown this once); the current one signs too for ``overlap_s``."""
    return _answers(state, producer).rotated(sub_id, overlap_s=body.overlap_s)


@router.post("/{sub_id}/disable")
def disable(state: State, producer: Caller, sub_id: SubId, body: DisableBody) -> dict[str, Any]:
    """Stop deliveries; events wait for the re-enable."""
    return _answers(state, producer).disabled(sub_id, body.why)


@router.post("/{sub_id}/enable")
def enable(state: State, producer: Caller, sub_id: SubId) -> dict[str, Any]:
    """Resume deliveries; what the subscription missed is delivered."""
    return _answers(state, producer).enabled(sub_id)


@router.post("/{sub_id}/remove")
def remove(state: State, producer: Caller, sub_id: SubId) -> dict[str, Any]:
    """Delete one of the caller's subscriptions."""
    return _answers(state, producer).removed(sub_id)


@router.post("/{sub_id}/gaps/{number}/fill")
def fill_gap(
    state: State, producer: Caller, sub_id: SubId, number: Annotated[int, Path(ge=0, le=99)],
    body: DisableBody,
) -> dict[str, Any]:  # fmt: skip
    """Rebuild the final events of gap ``number`` (0: newest) from the command records."""
    return _answers(state, producer).gap_filled(sub_id, number, body.why)


@router.get("/dead")
def dead(
    state: State, producer: Caller, subscription_id: str | None = None,
    event: Annotated[EventKind | None, Query()] = None, command_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:  # fmt: skip
    """The caller's dead deliveries matching every given field, oldest first."""
    where = DeadFilter(subscription_id, event, command_id)
    return _answers(state, producer).dead(where, limit=limit)


@router.post("/dead/replay")
def replay(state: State, producer: Caller, body: ReplayBody) -> dict[str, Any]:
    """Replay the caller's matching dead deliveries, each once; ``dry_run`` (default) counts."""
    where = DeadFilter(body.subscription_id, body.event, body.command_id)
    return _answers(state, producer).replayed(where, dry_run=body.dry_run)
