"""The webhooks page: each subscription, whether it is disabled or failing, its dead deliveries."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from store.webhooks.deliveries import Deliveries
from store.webhooks.subscriptions import Subscriptions
from web.auth import Principal
from web.guards import page_user
from web.render import render
from web.state import AppState, app_state

router = APIRouter(include_in_schema=False)


@router.get("/webhooks", response_class=HTMLResponse)
def webhooks_page(
    request: Request,
    state: Annotated[AppState, Depends(app_state)],
    user: Annotated[Principal, Depends(page_user)],
) -> HTMLResponse:
    """Subscriptions (no secrets) with their delivery state; act with the API or the CLI."""
    deliveries = Deliveries(state.store.client)
    dead = Counter(d.subscription_id for d in deliveries.dead(limit=100_000))
    rows = [
        sub.public() | {"state": deliveries.state(sub.id), "dead": dead[sub.id]}
        for sub in Subscriptions(state.store.client, state.settings).all()
    ]
    return render(request, "webhooks.html", user, rows=rows)
