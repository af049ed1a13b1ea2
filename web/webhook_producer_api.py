"""Producers' own webhooks under ``/v1/webhooks``, with their API key: subscribe, rotate, replay.

A producer's subscriptions get the outcomes of the commands it submitted, and it sees and
changes only those (another producer's are 404). Refusals are the intake's ``Errors`` shape.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from providers.errors import ConfigError
from store.webhooks.deliveries import DeadFilter
from store.webhooks.gaps import NoSuchGap
from store.webhooks.subscriptions import UnknownSubscription
from web.intake_auth import producer_name
from web.intake_errors import IntakeError, IntakeRoute
from web.state import AppState, app_state
from web.webhook_actions import Scope, WebhookActions, field_of
from web.webhook_api import (
    DisableBody,
    EventKind,
    NewSubscription,
    ReplayBody,
    RotateBody,
    dead_view,
)

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"], route_class=IntakeRoute)
State = Annotated[AppState, Depends(app_state)]
Caller = Annotated[str, Depends(producer_name)]
SubId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,80}$")]


def _acting(state: AppState, producer: str) -> WebhookActions:
    return WebhookActions(state, Scope.of_producer(producer))


@contextmanager
def _refusals() -> Iterator[None]:
    try:
        yield
    except UnknownSubscription as exc:
        raise IntakeError(404, [("subscription_id", str(exc))]) from None
    except NoSuchGap as exc:
        raise IntakeError(409, [("number", str(exc))]) from None
    except ConfigError as exc:
        raise IntakeError(422, [(field_of(exc), str(exc))]) from None


@router.get("")
def my_subscriptions(state: State, producer: Caller) -> list[dict[str, Any]]:
    """The caller's subscriptions with their delivery state; no secrets."""
    return _acting(state, producer).rows()


@router.post("", status_code=201)
def subscribe(state: State, producer: Caller, body: NewSubscription) -> dict[str, Any]:
    """Subscribe a URL to the outcomes of the caller's commands; the secret is shown this once."""
    with _refusals():
        sub, secret = _acting(state, producer).create(
            body.url, list(body.events), provider=body.provider, account=body.account
        )
    return sub.public() | {"secret": secret}


@router.post("/{sub_id}/rotate")
def rotate(state: State, producer: Caller, sub_id: SubId, body: RotateBody) -> dict[str, Any]:
    """A new secret (shown this once); the current one signs too for ``overlap_s``."""
    with _refusals():
        secret = _acting(state, producer).rotate(sub_id, overlap_s=body.overlap_s)
    return {"id": sub_id, "secret": secret, "overlap_s": body.overlap_s}


@router.post("/{sub_id}/disable")
def disable(state: State, producer: Caller, sub_id: SubId, body: DisableBody) -> dict[str, Any]:
    """Stop deliveries; events wait for the re-enable."""
    with _refusals():
        _acting(state, producer).disable(sub_id, body.why)
    return {"id": sub_id, "disabled": True}


@router.post("/{sub_id}/enable")
def enable(state: State, producer: Caller, sub_id: SubId) -> dict[str, Any]:
    """Resume deliveries; what the subscription missed is delivered."""
    with _refusals():
        replayed = _acting(state, producer).enable(sub_id)
    return {"id": sub_id, "disabled": False, "replayed": replayed}


@router.post("/{sub_id}/remove")
def remove(state: State, producer: Caller, sub_id: SubId) -> dict[str, Any]:
    """Delete one of the caller's subscriptions."""
    with _refusals():
        _acting(state, producer).remove(sub_id)
    return {"id": sub_id, "removed": True}


@router.post("/{sub_id}/gaps/{number}/fill")
def fill_gap(
    state: State, producer: Caller, sub_id: SubId, number: Annotated[int, Path(ge=0, le=99)],
    body: DisableBody,
) -> dict[str, Any]:  # fmt: skip
    """Rebuild the final events of gap ``number`` (0: newest) from the command records."""
    with _refusals():
        filled = _acting(state, producer).fill_gap(sub_id, number, body.why)
    return {"id": sub_id, "gap": number, "rebuilt": filled}


@router.get("/dead")
def dead(
    state: State, producer: Caller, subscription_id: str | None = None,
    event: Annotated[EventKind | None, Query()] = None, command_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:  # fmt: skip
    """The caller's dead deliveries matching every given field, oldest first."""
    where = DeadFilter(subscription_id, event, command_id)
    return [dead_view(d) for d in _acting(state, producer).dead(where, limit=limit)]


@router.post("/dead/replay")
def replay(state: State, producer: Caller, body: ReplayBody) -> dict[str, Any]:
    """Replay the caller's matching dead deliveries, each once; ``dry_run`` (default) counts."""
    where = DeadFilter(body.subscription_id, body.event, body.command_id)
    count = _acting(state, producer).replay(where, dry_run=body.dry_run)
    return {"dry_run": body.dry_run, "count": count}
