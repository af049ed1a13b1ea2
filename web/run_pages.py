"""Bulk runs over dead letters: plan (dry run with counts), start at a rate, watch, cancel.

The pages only plan, start and cancel; the workers plan in chunks and act at the run's rate.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from runs.bulk_runs import DRIVEN, Run, RunAction, RunStatus
from store.clock import redis_now_ms
from web import actions
from web.auth import Principal
from web.filters import CHOICES, form_filter
from web.guards import form_operator, page_user
from web.render import redirect, render
from web.state import AppState, app_state

router = APIRouter(include_in_schema=False)
STALLED_MS = 15_000  # a run no driver moved for this long: no worker is running


@router.get("/runs", response_class=HTMLResponse)
def runs_page(
    request: Request,
    state: Annotated[AppState, Depends(app_state)],
    user: Annotated[Principal, Depends(page_user)],
) -> HTMLResponse:
    """Recent bulk runs, and the form that plans a new one from a filter."""
    where, _ = form_filter(request.query_params)
    return render(request, "runs.html", user, runs=actions.runs_of(state).recent(),
                  where=where, choices=CHOICES)  # fmt: skip


@router.post("/runs")
async def plan_run(
    request: Request,
    state: Annotated[AppState, Depends(app_state)],
    user: Annotated[Principal, Depends(form_operator)],
    why: Annotated[str, Form(min_length=1, max_length=500)],
    action: Annotated[RunAction, Form()] = RunAction.REPLAY,
) -> RedirectResponse:
    """Dry run: plan a snapshot of the matching dead letters with counts; nothing changes."""
    form = await request.form()
    where, problems = form_filter({k: str(v) for k, v in form.items()})
    if problems:
        return redirect(request, "/runs", error="Not planned: " + "; ".join(problems))
    run = actions.plan_run(state, where, action=action, actor=user.name, why=why)
    if run.status is RunStatus.PLANNING:
        found = f"Planning: {run.total} dead letters found so far"
        return redirect(request, f"/runs/{run.id}", f"{found}; the workers count the rest.")
    return redirect(request, f"/runs/{run.id}", f"Dry run: {run.total} dead letters would be "
                    f"{'replayed' if action is RunAction.REPLAY else 'discarded'}.")  # fmt: skip


def _run(state: AppState, run_id: str) -> Run:
    run = actions.runs_of(state).get(run_id)
    if run is None:
        raise HTTPException(404, f"no bulk run {run_id}")
    return run


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(
    request: Request,
    run_id: str,
    state: Annotated[AppState, Depends(app_state)],
    user: Annotated[Principal, Depends(page_user)],
) -> HTMLResponse:
    """A run's plan (counts by provider, kind and reason) and its progress."""
    run = _run(state, run_id)
    groups = sorted((tuple(k.split("|")), n) for k, n in run.counts.items())
    return render(request, "run.html", user, run=run, groups=groups,
                  progress=progress(state, run))  # fmt: skip


def progress(state: AppState, run: Run) -> dict[str, Any]:
    """What the page's live refresh shows."""
    now_ms = redis_now_ms(state.store.client)
    stalled = run.status in DRIVEN and now_ms - run.beat_ms > STALLED_MS
    return {"status": run.status, "total": run.total, "processed": run.processed,
            "left": run.left, "in_flight": run.in_flight, "examined": run.examined,
            "results": run.results, "stalled": stalled}  # fmt: skip


@router.get("/runs/{run_id}/progress")
def run_progress(
    run_id: str,
    state: Annotated[AppState, Depends(app_state)],
    _: Annotated[Principal, Depends(page_user)],
) -> JSONResponse:
    """The run's progress as JSON, polled by the run page."""
    return JSONResponse(progress(state, _run(state, run_id)),
                        headers={"Cache-Control": "no-store"})  # fmt: skip


@router.post("/runs/{run_id}/start")
def start(
    request: Request,
    run_id: str,
    state: Annotated[AppState, Depends(app_state)],
    user: Annotated[Principal, Depends(form_operator)],
    rate: Annotated[float, Form(gt=0, le=1000)] = 10.0,
) -> RedirectResponse:
    """Start a planned run at ``rate`` commands per second."""
    try:
        actions.start_run(state, run_id, actor=user.name, rate_per_s=rate)
    except HTTPException as exc:
        return redirect(request, f"/runs/{run_id}", error=f"Not started: {exc.detail}")
    return redirect(request, f"/runs/{run_id}", f"Started at {rate:g} per second.")


@router.post("/runs/{run_id}/cancel")
def cancel(
    request: Request,
    run_id: str,
    state: Annotated[AppState, Depends(app_state)],
    user: Annotated[Principal, Depends(form_operator)],
) -> RedirectResponse:
    """Cancel a planned or running run; what it has not taken stays dead."""
    done = actions.runs_of(state).cancel(run_id, actor=user.name)
    return redirect(request, f"/runs/{run_id}", "Cancelled." if done else "Not running.")
