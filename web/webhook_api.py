"""The operator API for webhooks under ``/api/webhooks``: subscriptions, state, dead deliveries.

Reads need a viewer's token, changes an operator's; every change goes to the audit log. A new
or rotated secret is in the answer that makes it, and in no other answer.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

from config.webhooks import EVENT_KINDS
from providers.errors import ConfigError
from store import keys
from store.clock import redis_now_ms
from store.webhooks.deliveries import DeadFilter, Deliveries
from store.webhooks.subscriptions import Subscriptions, UnknownSubscription
from web.auth import Principal
from web.guards import api_operator, api_user
from web.operator_models import Why
from web.state import AppState, app_state

router = APIRouter(prefix="/api/webhooks", tags=["webhooks"])
State = Annotated[AppState, Depends(app_state)]
Viewer = Annotated[Principal, Depends(api_user)]
Operator = Annotated[Principal, Depends(api_operator)]
EventKind = Literal[EVENT_KINDS]  # type: ignore[valid-type]


class SubscriptionBody(BaseModel):
    """A new subscription: where, which event kinds, and an optional provider/account filter."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2000)
    events: list[EventKind] = Field(min_length=1)
    provider: str | None = None
    account: str | None = None


class RotateBody(BaseModel):
    """How long the current secret keeps signing beside the new one."""

    overlap_s: float = Field(default=24 * 3600.0, ge=0, le=30 * 24 * 3600.0)


class DisableBody(BaseModel):
    """Why deliveries stop."""

    why: Why


class ReplayBody(BaseModel):
    """Which dead deliveries to replay (every field given must match); ``dry_run`` counts."""

    subscription_id: str | None = None
    event: EventKind | None = None
    command_id: str | None = None
    dry_run: bool = True


def _subs(state: AppState) -> Subscriptions:
    return Subscriptions(state.store.client, state.settings)


def _audit(state: AppState, action: str, actor: str, why: str) -> None:
    client = state.store.client
    client.xadd(keys.audit(), {"action": action, "command_id": "", "actor": actor, "why": why,
                               "at_ms": redis_now_ms(client)})  # fmt: skip


def _known(state: AppState, sub_id: str) -> None:
    try:
        _subs(state).get(sub_id)
    except UnknownSubscription as exc:
        raise HTTPException(404, str(exc)) from None


@router.get("")
def list_subscriptions(state: State, _: Viewer) -> list[dict[str, Any]]:
    """Every subscription with its delivery state (disabled, failing, cursor); no secrets."""
    deliveries = Deliveries(state.store.client)
    return [s.public() | {"state": deliveries.state(s.id)} for s in _subs(state).all()]


@router.post("", status_code=201)
def create(state: State, user: Operator, body: SubscriptionBody) -> dict[str, Any]:
    """Subscribe a URL; the answer holds its secret, shown this once (422: URL refused)."""
    try:
        sub, secret = _subs(state).create(
            body.url, body.events, provider=body.provider, account=body.account
        )
    except ConfigError as exc:
        raise HTTPException(422, str(exc)) from None
    _audit(state, "webhook_add", user.name, f"{sub.id} {sub.url}")
    return sub.public() | {"secret": secret}


@router.post("/{sub_id}/rotate")
def rotate(state: State, user: Operator, sub_id: str, body: RotateBody) -> dict[str, Any]:
    """A new secret (shown this once); the current one signs too for ``overlap_s``."""
    try:
        secret = _subs(state).rotate(sub_id, overlap_s=body.overlap_s)
    except UnknownSubscription as exc:
        raise HTTPException(404, str(exc)) from None
    _audit(state, "webhook_rotate", user.name, f"{sub_id} overlap {body.overlap_s:g} s")
    return {"id": sub_id, "secret": secret, "overlap_s": body.overlap_s}


@router.post("/{sub_id}/remove")
def remove(state: State, user: Operator, sub_id: str) -> dict[str, Any]:
    """Delete a subscription made through the API."""
    if not _subs(state).delete(sub_id):
        raise HTTPException(404, f"no subscription {sub_id} made through the API")
    _audit(state, "webhook_remove", user.name, sub_id)
    return {"id": sub_id, "removed": True}


@router.post("/{sub_id}/disable")
def disable(state: State, user: Operator, sub_id: str, body: DisableBody) -> dict[str, Any]:
    """Stop deliveries; events wait in the stream for the re-enable."""
    _known(state, sub_id)
    Deliveries(state.store.client).disable(sub_id, body.why)
    _audit(state, "webhook_disable", user.name, f"{sub_id}: {body.why}")
    return {"id": sub_id, "disabled": True}


@router.post("/{sub_id}/enable")
def enable(state: State, user: Operator, sub_id: str) -> dict[str, Any]:
    """Resume deliveries; what the subscription missed is delivered."""
    _known(state, sub_id)
    replayed = Deliveries(state.store.client).enable(sub_id)
    _audit(state, "webhook_enable", user.name, f"{sub_id}: {replayed} dead deliveries replayed")
    return {"id": sub_id, "disabled": False, "replayed": replayed}


@router.get("/dead")
def dead(
    state: State, _: Viewer, subscription_id: str | None = None,
    event: Annotated[EventKind | None, Query()] = None, command_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:  # fmt: skip
    """Dead deliveries matching every given field, oldest first."""
    where = DeadFilter(subscription_id, event, command_id)
    found = [d for d in Deliveries(state.store.client).dead(limit=100_000) if where.matches(d)]
    return [{"subscription_id": d.subscription_id, "event": d.event.as_dict(),
             "attempts": d.attempts, "error": d.error, "dead_ms": d.dead_ms}
            for d in found[:limit]]  # fmt: skip


@router.post("/dead/replay")
def replay(state: State, user: Operator, body: ReplayBody) -> dict[str, Any]:
    """Replay the matching dead deliveries, each once; ``dry_run`` (the default) counts them."""
    where = DeadFilter(body.subscription_id, body.event, body.command_id)
    chosen = Deliveries(state.store.client).replay_matching(where, dry_run=body.dry_run)
    if not body.dry_run:
        _audit(state, "webhook_replay", user.name, f"{len(chosen)} dead deliveries {where}")
    return {"dry_run": body.dry_run, "count": len(chosen)}
