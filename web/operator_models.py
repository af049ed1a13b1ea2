"""Request and response bodies of the operator API (they document ``/openapi.json``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from runs.bulk_runs import RunAction, RunStatus
from schemas import CommandKind, CommandRecord, DeadReason, Provider

Why = Annotated[str, Field(min_length=1, max_length=500, description="kept in the audit log")]


class Page(BaseModel):
    """Commands newest first; pass ``cursor`` back for the next page (``null``: no more)."""

    items: list[CommandRecord]
    cursor: str | None
    examined: int


class Acted(BaseModel):
    """A command after an action: ``queued`` (heads its lane), ``waiting`` or ``discarded``."""

    command_id: str
    state: str


class WhyBody(BaseModel):
    """Why the operator acts."""

    model_config = ConfigDict(extra="forbid")
    why: Why


class EditBody(BaseModel):
    """The edited command (same provider, account, order and kind) and why."""

    model_config = ConfigDict(extra="forbid")
    command: dict[str, Any]
    why: Why


class RunFilter(BaseModel):
    """Which dead letters a bulk run takes; every field optional."""

    model_config = ConfigDict(extra="forbid")
    provider: Provider | None = None
    account: Annotated[str | None, Field(max_length=128)] = None
    kind: CommandKind | None = None
    reason: DeadReason | None = None
    order_id: Annotated[str | None, Field(max_length=128)] = None
    since: datetime | None = None
    until: datetime | None = None


class RunBody(BaseModel):
    """Plan (dry-run) a bulk action over the dead letters matching ``filter``."""

    model_config = ConfigDict(extra="forbid")
    action: RunAction = RunAction.REPLAY
    filter: RunFilter = Field(default_factory=RunFilter)
    why: Why


class StartBody(BaseModel):
    """How fast a run acts."""

    model_config = ConfigDict(extra="forbid")
    rate_per_s: Annotated[float, Field(gt=0, le=1000)] = 10.0


class RunOut(BaseModel):
    """A bulk run: its plan (``counts`` by ``provider|kind|reason``) and its progress.

    While ``planning``, ``total`` and ``counts`` grow as the workers read chunks and
    ``examined`` counts the index entries read; they are final once ``planned``.
    """

    id: str
    action: RunAction
    status: RunStatus
    filter: str
    actor: str
    why: str
    total: int
    examined: int
    processed: int
    left: int  # ids not handed out yet (cancelled: never handed out)
    in_flight: int  # ids handed to a driver whose result has not come back
    rate_per_s: float
    results: dict[str, int]
    counts: dict[str, int]


class AuditPage(BaseModel):
    """Audit entries newest first; pass ``cursor`` as ``before`` for the next page."""

    items: list[dict[str, str]]
    cursor: str | None
