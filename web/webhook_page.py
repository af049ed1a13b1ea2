"""The webhooks page and its forms: subscribe, rotate, disable, enable, delete, replay one.

Forms are an operator's (a viewer sees the page only), carry the CSRF token and are audited; all
but subscribing ask why. A new or rotated secret is shown once, on the page the form answers
with (never stored in the session, never on a redirect).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from config.webhooks import EVENT_KINDS
from providers.errors import ConfigError
from runs.delivery_runs import DeliveryRuns
from store.webhooks.deliveries import DeadFilter
from store.webhooks.gaps import NoSuchGap
from store.webhooks.subscriptions import UnknownSubscription
from web.auth import Principal
from web.guards import form_operator, page_user
from web.render import redirect, render
from web.state import AppState, app_state
from web.webhook_actions import Scope, WebhookActions, field_of

router = APIRouter(include_in_schema=False)
State = Annotated[AppState, Depends(app_state)]
Operator = Annotated[Principal, Depends(form_operator)]
Why = Annotated[str, Form(min_length=1, max_length=500)]
Optional = Annotated[str, Form(max_length=200)]
DEAD_SHOWN = 50
PAGE = "/webhooks"


def _acting(state: AppState, user: Principal) -> WebhookActions:
    return WebhookActions(state, Scope(user.name))


def _act(request: Request, act: Callable[[], str]) -> RedirectResponse:
    """Run ``act`` and come back to the page with what happened, or why not."""
    try:
        message = act()
    except (UnknownSubscription, NoSuchGap) as exc:
        return redirect(request, PAGE, f"Not done: {exc}")
    except ConfigError as exc:
        return redirect(request, PAGE, f"Not done: {field_of(exc)}: {exc}")
    return redirect(request, PAGE, message)


@router.get("/webhooks", response_class=HTMLResponse)
def webhooks_page(request: Request, state: State,
                  user: Annotated[Principal, Depends(page_user)]) -> HTMLResponse:  # fmt: skip
    """Subscriptions (no secrets) with their delivery state, the latest dead deliveries, forms."""
    acting = _acting(state, user)
    dead = acting.dead(DeadFilter(), limit=100_000)
    return render(
        request, "webhooks.html", user, rows=acting.rows(), dead=dead[-DEAD_SHOWN:][::-1],
        dead_total=len(dead), kinds=EVENT_KINDS, producers=sorted(state.settings.web.producers),
        accounts=sorted(state.settings.accounts), runs=DeliveryRuns(state.store.client).recent(5),
    )  # fmt: skip


@router.post("/webhooks", response_model=None)
def subscribe(
    request: Request, state: State, user: Operator,
    url: Annotated[str, Form(min_length=1, max_length=2000)],
    events: Annotated[list[str], Form()], provider: Optional = "", account: Optional = "",
    producer: Optional = "",
) -> Response:  # fmt: skip
    """Subscribe a URL; the answer shows its secret this once."""
    try:
        sub, secret = _acting(state, user).create(
            url, events, provider=provider, account=account, producer=producer
        )
    except ConfigError as exc:
        return redirect(request, PAGE, f"Not done: {field_of(exc)}: {exc}")
    return render(request, "webhook_secret.html", user, sub=sub.public(), secret=secret,
                  made=True)  # fmt: skip


@router.post("/webhooks/{sub_id}/rotate", response_model=None)
def rotate(
    request: Request, state: State, user: Operator, sub_id: str, why: Why,
    overlap_h: Annotated[float, Form(ge=0, le=720)] = 24.0,
) -> Response:  # fmt: skip
    """A new secret, shown this once; the current one signs too for ``overlap_h`` hours."""
    try:
        secret = _acting(state, user).rotate(sub_id, overlap_s=overlap_h * 3600, why=why)
    except UnknownSubscription as exc:
        return redirect(request, PAGE, f"Not done: {exc}")
    sub = _acting(state, user).get(sub_id).public()
    return render(request, "webhook_secret.html", user, sub=sub, secret=secret, made=False,
                  overlap_h=overlap_h)  # fmt: skip


@router.post("/webhooks/{sub_id}/disable")
def disable(request: Request, state: State, user: Operator, sub_id: str,
            why: Why) -> RedirectResponse:  # fmt: skip
    """Stop deliveries; events wait for the re-enable."""

    def act() -> str:
        _acting(state, user).disable(sub_id, why)
        return f"Disabled {sub_id}: its events wait until it is enabled."

    return _act(request, act)


@router.post("/webhooks/{sub_id}/enable")
def enable(request: Request, state: State, user: Operator, sub_id: str,
           why: Why) -> RedirectResponse:  # fmt: skip
    """Resume deliveries; what it missed is delivered."""

    def act() -> str:
        replayed = _acting(state, user).enable(sub_id, why)
        return f"Enabled {sub_id}: missed events follow, {replayed} dead deliveries replayed."

    return _act(request, act)


@router.post("/webhooks/{sub_id}/delete")
def delete(request: Request, state: State, user: Operator, sub_id: str,
           why: Why) -> RedirectResponse:  # fmt: skip
    """Delete a subscription made through the dashboard or an API."""

    def act() -> str:
        _acting(state, user).remove(sub_id, why)
        return f"Deleted {sub_id}."

    return _act(request, act)


@router.post("/webhooks/{sub_id}/gaps/{number}/fill")
def fill_gap(request: Request, state: State, user: Operator, sub_id: str, number: int,
             why: Why) -> RedirectResponse:  # fmt: skip
    """Rebuild a gap's final events from the command records and deliver them."""

    def act() -> str:
        filled = _acting(state, user).fill_gap(sub_id, number, why)
        return f"Gap {number} of {sub_id}: {filled} final events rebuilt from the records."

    return _act(request, act)


@router.post("/webhooks/dead/replay")
def replay(
    request: Request, state: State, user: Operator, why: Why,
    subscription_id: Annotated[str, Form(min_length=1, max_length=200)],
    event_id: Annotated[str, Form(min_length=1, max_length=200)],
) -> RedirectResponse:  # fmt: skip
    """Replay one dead delivery, once (many: a replay run, ``web.webhook_run_pages``)."""
    where = DeadFilter(subscription_id, event_id=event_id)

    def act() -> str:
        count = _acting(state, user).replay(where, dry_run=False, why=why)
        return (
            f"Replayed {count} dead delivery ({event_id})."
            if count
            else (f"Not done: {event_id} of {subscription_id} is not a dead delivery (any more).")
        )

    return _act(request, act)
