"""Replays of many dead deliveries from the dashboard: plan (dry run, counts), start, watch, cancel.

The workers' webhook pumps act on a started run at its rate; its page need not stay open.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from config.webhooks import EVENT_KINDS
from runs.bulk_runs import Run
from runs.delivery_runs import DeliveryRuns
from store.webhooks.deliveries import DeadFilter
from web.auth import Principal
from web.guards import form_operator, page_user
from web.render import redirect, render
from web.run_pages import progress
from web.state import AppState, app_state

router = APIRouter(include_in_schema=False)
State = Annotated[AppState, Depends(app_state)]
Operator = Annotated[Principal, Depends(form_operator)]
Optional = Annotated[str, Form(max_length=200)]


def _runs(state: AppState) -> DeliveryRuns:
    return DeliveryRuns(state.store.client)


def _run(state: AppState, run_id: str) -> Run:
    run = _runs(state).get(run_id)
    if run is None:
        raise HTTPException(404, f"no delivery replay run {run_id}")
    return run


def _url(run_id: str) -> str:
    return f"/webhooks/runs/{run_id}"


@router.post("/webhooks/runs")
def plan(
    request: Request, state: State, user: Operator,
    why: Annotated[str, Form(min_length=1, max_length=500)],
    subscription_id: Optional = "", event: Optional = "", command_id: Optional = "",
) -> RedirectResponse:  # fmt: skip
    """Dry run: a snapshot of the matching dead deliveries, counted; nothing is replayed."""
    if event and event not in EVENT_KINDS:
        return redirect(request, "/webhooks", f"Not planned: event: not one of "
                        f"{', '.join(EVENT_KINDS)}")  # fmt: skip
    where = DeadFilter(subscription_id or None, event or None, command_id or None)
    run = _runs(state).plan_now(where, within=None, actor=user.name, why=why)
    if not run.total:
        return redirect(request, "/webhooks", f"No dead delivery matches {where}.")
    return redirect(request, _url(run.id),
                    f"Dry run: {run.total} dead deliveries would be replayed.")  # fmt: skip


@router.get("/webhooks/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, run_id: str, state: State,
             user: Annotated[Principal, Depends(page_user)]) -> HTMLResponse:  # fmt: skip
    """A delivery replay's plan (counts by subscription, event and error) and its progress."""
    run = _run(state, run_id)
    groups = sorted((tuple(k.split("|", 2)), n) for k, n in run.counts.items())
    return render(request, "webhook_run.html", user, run=run, groups=groups,
                  progress=progress(state, run))  # fmt: skip


@router.get("/webhooks/runs/{run_id}/progress")
def run_progress(run_id: str, state: State,
                 _: Annotated[Principal, Depends(page_user)]) -> JSONResponse:  # fmt: skip
    """The run's progress as JSON, polled by its page."""
    return JSONResponse(progress(state, _run(state, run_id)),
                        headers={"Cache-Control": "no-store"})  # fmt: skip


@router.post("/webhooks/runs/{run_id}/start")
def start(request: Request, run_id: str, state: State, user: Operator,
          rate: Annotated[float, Form(gt=0, le=10_000)] = 50.0) -> RedirectResponse:  # fmt: skip
    """Start a planned replay at ``rate`` deliveries per second."""
    if not _runs(state).start(run_id, actor=user.name, rate_per_s=rate):
        status = _run(state, run_id).status
        return redirect(request, _url(run_id), f"Not started: the run is {status}.")
    return redirect(request, _url(run_id), f"Started at {rate:g} per second.")


@router.post("/webhooks/runs/{run_id}/cancel")
def cancel(request: Request, run_id: str, state: State, user: Operator) -> RedirectResponse:
    """Cancel a planned or running replay; what it has not handed out stays dead."""
    done = _runs(state).cancel(run_id, actor=user.name)
    return redirect(request, _url(run_id), "Cancelled." if done else "Not running.")
