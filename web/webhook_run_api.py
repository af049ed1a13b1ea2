"""The operator API for delivery replay runs under ``/api/webhooks/runs``: plan, start, cancel.

The runs of ``ordercmd webhooks replay|runs|cancel`` and of the dashboard (`DeliveryRuns`): a
dry run plans a snapshot of the matching dead deliveries, counted by subscription, event and
error, and replays nothing; a real one starts that snapshot at a rate, and the workers' webhook
pumps replay each delivery once. Reads need a viewer's token, changes an operator's; a start and
a cancel go to the audit log as the dashboard's do. Bad input is a 422 naming the field, and
nothing is planned.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from runs.bulk_runs import Run
from runs.delivery_runs import RUN_PREFIX, DeliveryRuns
from store.webhooks.deliveries import DeadFilter
from store.webhooks.subscriptions import Subscriptions, UnknownSubscription
from web.auth import Principal
from web.guards import api_operator, api_user
from web.operator_models import RunOut
from web.run_pages import progress
from web.state import AppState, app_state
from web.webhook_api import EventKind

router = APIRouter(prefix="/api/webhooks/runs", tags=["webhooks"])
State = Annotated[AppState, Depends(app_state)]
Viewer = Annotated[Principal, Depends(api_user)]
Operator = Annotated[Principal, Depends(api_operator)]
RunId = Annotated[str, Path(pattern=rf"^{RUN_PREFIX}[0-9a-f]{{14}}$")]  # no command run's id
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,160}$")]
MAX_RATE = 10_000.0  # as the CLI's --rate and the dashboard's form
WHY = "kept in the audit log; needed unless dry_run"


class DeliveryRunBody(BaseModel):
    """Which dead deliveries (every field given must match); a dry run, or a start at a rate."""

    model_config = ConfigDict(extra="forbid")

    subscription_id: Name | None = None
    event: EventKind | None = None
    command_id: Name | None = None
    event_id: Annotated[Name | None, Field(description="one delivery, with subscription_id")] = None
    dry_run: bool = True
    rate_per_s: Annotated[float, Field(gt=0, le=MAX_RATE, description="unless dry_run")] = 50.0
    why: Annotated[str, Field(max_length=500, validate_default=True, description=WHY)] = ""

    @field_validator("why")
    @classmethod
    def _said_to_replay(cls, why: str, info: ValidationInfo) -> str:
        if not info.data.get("dry_run", True) and not why.strip():
            raise ValueError("say why (kept in the audit log): needed unless dry_run")
        return why.strip()

    def where(self) -> DeadFilter:
        """The dead-delivery filter the body names."""
        return DeadFilter(self.subscription_id, self.event, self.command_id, self.event_id)


class StartBody(BaseModel):
    """How fast a planned run replays, and why (kept in the audit log)."""

    model_config = ConfigDict(extra="forbid")

    rate_per_s: Annotated[float, Field(gt=0, le=MAX_RATE)] = 50.0
    why: Annotated[str, Field(min_length=1, max_length=500, pattern=r"\S")]


class DeliveryGroup(BaseModel):
    """How many dead deliveries of one subscription and event kind died of one error."""

    subscription_id: str
    event: str
    error: str
    count: int


class DeliveryRunOut(RunOut):
    """A delivery replay run: its plan (``groups``; ``counts`` by ``subscription|event|error``).

    A dry run answers ``planned`` (or ``cancelled`` when nothing matched: nobody would start
    it); a start ``running``, then ``done``. ``stalled``: no worker moved it for 15 s.
    """

    groups: list[DeliveryGroup]
    stalled: bool


def _out(state: AppState, run: Run) -> DeliveryRunOut:
    fields = {name: getattr(run, name) for name in RunOut.model_fields}
    groups = [DeliveryGroup(subscription_id=sub, event=event, error=error, count=n)
              for (sub, event, error), n in sorted((tuple(k.split("|", 2)), n)
                                                    for k, n in run.counts.items())]  # fmt: skip
    return DeliveryRunOut(**fields, groups=groups, stalled=progress(state, run)["stalled"])


def _known(state: AppState, sub_id: str) -> None:
    try:
        Subscriptions(state.store.client, state.settings).get(sub_id)
    except UnknownSubscription as exc:
        problem = {"type": "unknown_subscription", "loc": ("body", "subscription_id"),
                   "msg": str(exc), "input": sub_id}  # fmt: skip
        raise RequestValidationError([problem]) from None


def _run(runs: DeliveryRuns, run_id: str) -> Run:
    run = runs.get(run_id)
    if run is None:
        raise HTTPException(404, f"no delivery replay run {run_id}")
    return run


@router.post("", status_code=201)
def create(state: State, user: Operator, body: DeliveryRunBody) -> DeliveryRunOut:
    """Plan a replay of the matching dead deliveries, counted; unless ``dry_run``, start it.

    A started run replays each delivery once at ``rate_per_s`` (shared by every worker); follow
    it at ``GET /api/webhooks/runs/{run_id}``. An unknown ``subscription_id`` is a 422.
    """
    if body.subscription_id is not None:
        _known(state, body.subscription_id)
    runs = DeliveryRuns(state.store.client)
    run = runs.plan_now(body.where(), within=None, actor=user.name, why=body.why)
    started = body.dry_run or not run.total or runs.start(run.id, actor=user.name,
                                                          rate_per_s=body.rate_per_s)  # fmt: skip
    if not started:  # cancelled meanwhile
        raise HTTPException(409, f"delivery replay run {run.id} is {_run(runs, run.id).status}")
    return _out(state, _run(runs, run.id))


@router.get("")
def list_runs(
    state: State, _: Viewer, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> list[DeliveryRunOut]:
    """Delivery replay runs, newest first."""
    return [_out(state, run) for run in DeliveryRuns(state.store.client).recent(limit)]


@router.get("/{run_id}")
def get_run(state: State, _: Viewer, run_id: RunId) -> DeliveryRunOut:
    """A delivery replay run's plan and progress."""
    return _out(state, _run(DeliveryRuns(state.store.client), run_id))


@router.post("/{run_id}/start")
def start(state: State, user: Operator, run_id: RunId, body: StartBody) -> DeliveryRunOut:
    """Start a planned run (a dry run's) at ``rate_per_s``; 409 unless it is planned."""
    runs = DeliveryRuns(state.store.client)
    _run(runs, run_id)
    if not runs.start(run_id, actor=user.name, rate_per_s=body.rate_per_s, why=body.why.strip()):
        raise HTTPException(409, f"delivery replay run {run_id} is {_run(runs, run_id).status}")
    return _out(state, _run(runs, run_id))


@router.post("/{run_id}/cancel")
def cancel(state: State, user: Operator, run_id: RunId) -> DeliveryRunOut:
    """Cancel a planned or running replay (409 once ended); what it did not hand out stays dead."""
    runs = DeliveryRuns(state.store.client)
    _run(runs, run_id)
    if not runs.cancel(run_id, actor=user.name):
        raise HTTPException(409, f"delivery replay run {run_id} is {_run(runs, run_id).status}")
    return _out(state, _run(runs, run_id))
