"""Operator actions shared by the pages and the JSON API, with errors as HTTP statuses."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException

from producer.validation import check_account, to_command
from providers.errors import InvalidSubmission, OrderCmdError
from runs.bulk_runs import BulkRuns, Run, RunAction, RunStatus
from runs.planning import Planner
from schemas import CommandRecord, CommandState
from store.deadletters import DeadLetters, NotADeadLetter
from store.dispatching import send_or_defer
from store.records import read_record
from store.replay_edit import edit_and_replay
from store.search import Search, SearchFilter
from web.state import AppState


def search_of(state: AppState) -> Search:
    """A search over the app's store, knowing its configured accounts."""
    return Search.of(state.store.client, state.settings)


def runs_of(state: AppState) -> BulkRuns:
    """Bulk runs over the app's store."""
    return BulkRuns(state.store.client)


@contextmanager
def http_errors() -> Iterator[None]:
    """Ordercmd's errors as HTTP errors: 404/409 not dead, 422 invalid, 400 otherwise."""
    try:
        yield
    except NotADeadLetter as exc:
        raise HTTPException(404 if str(exc).startswith("no ") else 409, str(exc)) from None
    except InvalidSubmission as exc:
        detail = [{"field": field, "problem": problem} for field, problem in exc.problems]
        raise HTTPException(422, detail) from None
    except OrderCmdError as exc:
        raise HTTPException(400, str(exc)) from None


def get_record(state: AppState, command_id: str) -> CommandRecord:
    """A command's record.

    Raises:
        HTTPException: 404 when unknown or expired.
    """
    record = read_record(state.store.client, command_id, accounts=state.settings.accounts)
    if record is None:
        raise HTTPException(404, f"no command {command_id} (unknown, or expired)")
    return record


def replay(state: AppState, command_id: str, *, actor: str, why: str) -> CommandState:
    """Replay one dead letter and send its message when it heads its lane."""
    with http_errors():
        result = DeadLetters(state.store).replay(command_id, actor=actor, why=why)
    if result is CommandState.QUEUED:
        send_or_defer(state.store, state.publish, [command_id])
    return result


def edit(
    state: AppState, command_id: str, command: Mapping[str, Any], *, actor: str, why: str
) -> CommandState:
    """Validate an edited command like the producer would, then replay it in place."""
    with http_errors():
        model = to_command(command)
        check_account(model, state.settings)
        result = edit_and_replay(state.store, command_id, model, actor=actor, why=why)
    if result is CommandState.QUEUED:
        send_or_defer(state.store, state.publish, [command_id])
    return result


def parse_json_object(text: str) -> dict[str, Any]:
    """The operator's edited JSON.

    Raises:
        HTTPException: 422 when it is not a JSON object.
    """
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise HTTPException(422, f"command: not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise HTTPException(422, "command: a JSON object is needed")
    return data


def discard(state: AppState, command_id: str, *, actor: str, why: str) -> None:
    """Discard one dead letter for good."""
    with http_errors():
        DeadLetters(state.store).discard(command_id, actor=actor, why=why)


@dataclass(frozen=True)
class EachDone:
    """What a selection action did: ``(id, new state)`` done, ``(id, why not)`` refused."""

    done: list[tuple[str, str]]
    refused: list[tuple[str, str]]


def act_on_each(
    state: AppState, command_ids: list[str], *, discard: bool, actor: str, why: str
) -> EachDone:
    """Replay (or discard) each dead letter on its own, audited one by one as a single action.

    A selection is one page at most, so the per-item path serves it (a bulk run is for a
    filter's every match); one that is no longer dead is refused and the rest go on.
    """
    dead = DeadLetters(state.store)
    done: list[tuple[str, str]] = []
    refused: list[tuple[str, str]] = []
    for command_id in command_ids:
        try:
            if discard:
                dead.discard(command_id, actor=actor, why=why)
                done.append((command_id, "discarded"))
            else:
                done.append((command_id, str(dead.replay(command_id, actor=actor, why=why))))
        except NotADeadLetter as exc:
            refused.append((command_id, str(exc)))
    queued = [command_id for command_id, now in done if now == CommandState.QUEUED]
    if queued:
        send_or_defer(state.store, state.publish, queued)
    return EachDone(done, refused)


def plan_run(
    state: AppState, where: SearchFilter, *, action: RunAction, actor: str, why: str
) -> Run:
    """Create a plan and add its first chunk, so a small plan is complete at once.

    A larger one goes on planning in the workers, one bounded chunk per tick; the request
    never reads more than one chunk.
    """
    runs = runs_of(state)
    run = runs.plan(where, action=action, actor=actor, why=why)
    Planner(runs, search_of(state)).step(run.id)
    return runs.require(run.id)


def start_run(state: AppState, run_id: str, *, actor: str, rate_per_s: float) -> None:
    """Start a planned run; the workers drive it (no thread of this process does).

    Raises:
        HTTPException: 404 when unknown; 409 when it is still planning, or already started,
            done or cancelled.
    """
    runs = runs_of(state)
    with http_errors():
        run = runs.require(run_id)
    if run.status is RunStatus.PLANNING:
        raise HTTPException(409, f"bulk run {run_id} is still planning ({run.total} found so far)")
    if not runs.start(run_id, actor=actor, rate_per_s=rate_per_s):
        raise HTTPException(409, f"bulk run {run_id} is not waiting to start")
