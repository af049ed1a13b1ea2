"""The operator API for webhooks under ``/api/webhooks``: subscriptions, state, dead deliveries.

Operators see every subscription, and may make one for a producer (``producer``) or for every
command (none). Producers manage their own under ``/v1/webhooks`` (``web.webhook_producer_api``).

Reads need a viewer's token, changes an operator's; every change goes to the audit log. A new
or rotated secret is in the answer that makes it, and in no other answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from config.webhooks import EVENT_KINDS
from providers.errors import ConfigError
from schemas.envelope import ProducerName
from store.webhooks.deliveries import DeadDelivery, DeadFilter
from store.webhooks.gaps import NoSuchGap
from store.webhooks.subscriptions import UnknownSubscription
from web.auth import Principal
from web.guards import api_operator, api_user
from web.operator_models import Why
from web.state import AppState, app_state
from web.webhook_actions import Scope, WebhookActions, field_of

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


def _acting(state: AppState, user: Principal) -> WebhookActions:
    return WebhookActions(state, Scope(user.name))


@contextmanager
def _http_errors() -> Iterator[None]:
    try:
        yield
    except UnknownSubscription as exc:
        raise HTTPException(404, str(exc)) from None
    except NoSuchGap as exc:
        raise HTTPException(409, str(exc)) from None
    except ConfigError as exc:
        raise HTTPException(422, f"{field_of(exc)}: {exc}") from None


@router.get("")
def list_subscriptions(state: State, user: Viewer) -> list[dict[str, Any]]:
    """Every subscription with its delivery state (disabled, failing, cursor); no secrets."""
    return _acting(state, user).rows()


@router.post("", status_code=201)
def create(state: State, user: Operator, body: SubscriptionBody) -> dict[str, Any]:
    """Subscribe a URL; the answer holds its secret, shown this once (422: URL refused)."""
    with _http_errors():
        sub, secret = _acting(state, user).create(
            body.url, list(body.events), provider=body.provider, account=body.account,
            producer=body.producer,
        )  # fmt: skip
    return sub.public() | {"secret": secret}


@router.post("/{sub_id}/rotate")
def rotate(state: State, user: Operator, sub_id: str, body: RotateBody) -> dict[str, Any]:
    """A new secret (shown this once); the current one signs too for ``overlap_s``."""
    with _http_errors():
        secret = _acting(state, user).rotate(sub_id, overlap_s=body.overlap_s)
    return {"id": sub_id, "secret": secret, "overlap_s": body.overlap_s}


@router.post("/{sub_id}/remove")
def remove(state: State, user: Operator, sub_id: str) -> dict[str, Any]:
    """Delete a subscription made through the API."""
    with _http_errors():
        _acting(state, user).remove(sub_id)
    return {"id": sub_id, "removed": True}


@router.post("/{sub_id}/disable")
def disable(state: State, user: Operator, sub_id: str, body: DisableBody) -> dict[str, Any]:
    """Stop deliveries; events wait in the stream for the re-enable."""
    with _http_errors():
        _acting(state, user).disable(sub_id, body.why)
    return {"id": sub_id, "disabled": True}


@router.post("/{sub_id}/enable")
def enable(state: State, user: Operator, sub_id: str) -> dict[str, Any]:
    """Resume deliveries; what the subscription missed is delivered."""
    with _http_errors():
        replayed = _acting(state, user).enable(sub_id)
    return {"id": sub_id, "disabled": False, "replayed": replayed}


@router.post("/{sub_id}/gaps/{number}/fill")
def fill_gap(
    state: State, user: Operator, sub_id: str, number: Annotated[int, Path(ge=0, le=99)],
    body: DisableBody,
) -> dict[str, Any]:  # fmt: skip
    """Rebuild the final events of gap ``number`` (0: newest) from the command records."""
    with _http_errors():
        filled = _acting(state, user).fill_gap(sub_id, number, body.why)
    return {"id": sub_id, "gap": number, "rebuilt": filled}


@router.get("/dead")
def dead(
    state: State, user: Viewer, subscription_id: str | None = None,
    event: Annotated[EventKind | None, Query()] = None, command_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:  # fmt: skip
    """Dead deliveries matching every given field, oldest first."""
    where = DeadFilter(subscription_id, event, command_id)
    return [dead_view(d) for d in _acting(state, user).dead(where, limit=limit)]


@router.post("/dead/replay")
def replay(state: State, user: Operator, body: ReplayBody) -> dict[str, Any]:
    """Replay the matching dead deliveries, each once; ``dry_run`` (the default) counts them."""
    where = DeadFilter(body.subscription_id, body.event, body.command_id)
    count = _acting(state, user).replay(where, dry_run=body.dry_run)
    return {"dry_run": body.dry_run, "count": count}


def dead_view(d: DeadDelivery) -> dict[str, Any]:
    """A dead delivery as the APIs show it."""
    return {"subscription_id": d.subscription_id, "event": d.event.as_dict(),
            "attempts": d.attempts, "error": d.error, "dead_ms": d.dead_ms}  # fmt: skip
