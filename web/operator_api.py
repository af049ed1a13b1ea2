"""The operator JSON API under ``/api``: the dashboard's reads and actions, by bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query

from runs.bulk_runs import Run
from schemas import CommandRecord
from store.search import SearchFilter, with_state
from web import actions
from web.audit_page import read_audit
from web.auth import Principal
from web.filters import api_filter, to_ms
from web.guards import api_operator, api_user
from web.operator_models import (
    Acted,
    AuditPage,
    EditBody,
    Page,
    RunBody,
    RunOut,
    StartBody,
    WhyBody,
)
from web.state import AppState, app_state

router = APIRouter(prefix="/api", tags=["operator"])
State = Annotated[AppState, Depends(app_state)]
Viewer = Annotated[Principal, Depends(api_user)]
Operator = Annotated[Principal, Depends(api_operator)]
Cursor = Annotated[str | None, Query(max_length=200, description="from the previous page")]
Limit = Annotated[int, Query(ge=1, le=500)]


def _run_out(run: Run) -> RunOut:
    fields = {name: getattr(run, name) for name in RunOut.model_fields if name != "processed"}
    return RunOut(processed=run.processed, **fields)


@router.get("/search")
def search(
    state: State, _: Viewer, where: Annotated[SearchFilter, Depends(api_filter)],
    cursor: Cursor = None, limit: Limit = 50,
) -> Page:  # fmt: skip
    """Commands matching every given field, newest first."""
    with actions.http_errors():
        page = actions.search_of(state).page(where, cursor=cursor, limit=limit)
    return Page(items=page.records, cursor=page.cursor, examined=page.examined)


@router.get("/dead-letters")
def dead_letters(
    state: State, _: Viewer, where: Annotated[SearchFilter, Depends(api_filter)],
    cursor: Cursor = None, limit: Limit = 50,
) -> Page:  # fmt: skip
    """Dead letters matching every given field, newest death first."""
    return search(state, _, with_state(where, "dead"), cursor, limit)


@router.get("/commands/{command_id}")
def command(state: State, _: Viewer, command_id: str) -> CommandRecord:
    """One command with its envelope and every attempt."""
    return actions.get_record(state, command_id)


@router.post("/dead-letters/{command_id}/replay")
def replay(state: State, user: Operator, command_id: str, body: WhyBody) -> Acted:
    """Replay a dead letter: same key, fresh budgets, the order is read before sending."""
    result = actions.replay(state, command_id, actor=user.name, why=body.why)
    return Acted(command_id=command_id, state=result)


@router.post("/dead-letters/{command_id}/edit-replay")
def edit_replay(state: State, user: Operator, command_id: str, body: EditBody) -> Acted:
    """Replay a dead letter with an edited command; old and new go to the audit log."""
    result = actions.edit(state, command_id, body.command, actor=user.name, why=body.why)
    return Acted(command_id=command_id, state=result)


@router.post("/dead-letters/{command_id}/discard")
def discard(state: State, user: Operator, command_id: str, body: WhyBody) -> Acted:
    """Discard a dead letter for good."""
    actions.discard(state, command_id, actor=user.name, why=body.why)
    return Acted(command_id=command_id, state="discarded")


@router.post("/runs", status_code=201)
def plan_run(state: State, user: Operator, body: RunBody) -> RunOut:
    """Dry run: plan a snapshot of the matching dead letters, counted by group.

    The answer is ``planned`` when the plan fit in one chunk, else ``planning``: the workers
    add the rest in chunks; poll ``GET /api/runs/{run_id}``, then ``/start`` it once planned.
    """
    f = body.filter
    where = SearchFilter(
        provider=f.provider, account=f.account or None, kind=f.kind, reason=f.reason,
        order_id=f.order_id or None, since_ms=to_ms(f.since), until_ms=to_ms(f.until),
    )  # fmt: skip
    run = actions.plan_run(state, where, action=body.action, actor=user.name, why=body.why)
    return _run_out(run)


@router.get("/runs/{run_id}")
def get_run(state: State, _: Viewer, run_id: str) -> RunOut:
    """A bulk run's plan and progress."""
    run = actions.runs_of(state).get(run_id)
    if run is None:
        raise HTTPException(404, f"no bulk run {run_id}")
    return _run_out(run)


@router.post("/runs/{run_id}/start")
def start_run(state: State, user: Operator, run_id: str, body: StartBody) -> RunOut:
    """Start a planned run (409 while planning); the workers act on it at ``rate_per_s``."""
    actions.start_run(state, run_id, actor=user.name, rate_per_s=body.rate_per_s)
    return get_run(state, user, run_id)


@router.post("/runs/{run_id}/cancel")
def cancel_run(state: State, user: Operator, run_id: str) -> RunOut:
    """Cancel a planning, planned or running run."""
    run = get_run(state, user, run_id)
    if not actions.runs_of(state).cancel(run_id, actor=user.name):
        raise HTTPException(409, f"bulk run {run_id} is {run.status}")
    return get_run(state, user, run_id)


@router.get("/audit")
def audit(
    state: State, _: Viewer, before: Annotated[str | None, Query(max_length=40)] = None,
    limit: Limit = 100,
) -> AuditPage:  # fmt: skip
    """Operator actions, newest first."""
    items, cursor = read_audit(state.store.client, before=before, limit=limit)
    return AuditPage(items=items, cursor=cursor)
