"""HTTP intake for producers: ``POST /v1/commands``, ``/v1/commands:batch``, ``GET`` a status.

Every route needs a producer's API key. Bodies are the command schemas plus an optional
``idempotency_key`` (or the ``Idempotency-Key`` header for one command). Answers: 202 admitted,
200 the same key and content seen before, 409 the key seen with other content, 422 field
errors, 413 body over ``web.max_body_bytes``, 401 no valid key, 503 the store did not answer
(with ``Retry-After`` and ``may_have_been_admitted``: if true, retry with the same idempotency
key); refusals are ``Errors``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import structlog
from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request, Response

from producer import Producer
from providers.errors import InvalidSubmission
from schemas import CommandEnvelope
from store.command_store import Admitted
from web.intake_auth import producer_name
from web.intake_errors import IntakeError, IntakeRoute
from web.intake_models import (
    Accepted,
    BatchAccepted,
    BatchBody,
    CancelBody,
    CommandBody,
    CommandView,
    Conflict,
    Errors,
    ItemResult,
    RefundBody,
    Unavailable,
    UpdateBody,
    command_input,
)
from web.state import AppState, app_state
from web.waiting import MAX_WAIT_S, read_when_final

log = structlog.get_logger("ordercmd.intake")

router = APIRouter(prefix="/v1", tags=["intake"], route_class=IntakeRoute)

State = Annotated[AppState, Depends(app_state)]
ProducerName = Annotated[str, Depends(producer_name)]
REFUSALS: dict[int | str, dict[str, Any]] = {
    401: {"model": Errors, "description": "No API key, or not a configured producer's"},
    413: {"model": Errors, "description": "The body is over web.max_body_bytes"},
    422: {"model": Errors, "description": "Field errors; nothing was admitted"},
    503: {
        "model": Unavailable,
        "description": "The store did not answer in time; retry after Retry-After seconds, with "
        "the same idempotency key when may_have_been_admitted is true",
    },
}


ITEM_STATUS: dict[Admitted, Literal["new", "existing", "conflict"]] = {
    Admitted.NEW: "new",
    Admitted.EXISTING: "existing",
    Admitted.CONFLICT: "conflict",
}


WAIT_DOC = (
    f"Long poll: answer when the command ends (succeeded, already_done, dead, discarded), or "
    f"after this many seconds (at most {MAX_WAIT_S:g}) with its state then"
)


def status_url(command_id: str) -> str:
    """Where a command's state can be read."""
    return f"{router.prefix}/commands/{command_id}"


@router.post(
    "/commands",
    status_code=202,
    response_description="Admitted: the command id and where to read its state",
    response_model=Accepted,
    responses={
        200: {"model": Accepted, "description": "The key was seen with the same content"},
        409: {"model": Conflict, "description": "The key was seen with other content"},
        **REFUSALS,
    },
)
def submit_command(
    body: Annotated[CommandBody, Body()],
    response: Response,
    state: State,
    producer: ProducerName,
    idempotency_key: Annotated[
        str | None, Header(description="Alternative to the body field")
    ] = None,
) -> Accepted:
    """Submit one command."""
    if idempotency_key and body.idempotency_key and idempotency_key != body.idempotency_key:
        raise IntakeError(
            422, [("idempotency_key", "differs from the Idempotency-Key header; send one")]
        )
    envelope = _envelopes(
        state.producer, [body], producer, header_key=idempotency_key, indexed=False
    )[0]
    submission = state.producer.admit([envelope])[0]
    if submission.admitted is Admitted.CONFLICT:
        reason = f"{envelope.idempotency_key!r} was used before for a different command"
        raise IntakeError(409, [("idempotency_key", reason)], command_id=submission.command_id)
    log.info("intake", producer=producer, command_id=submission.command_id, status="single")
    if submission.admitted is Admitted.EXISTING:
        response.status_code = 200
    return Accepted(
        command_id=submission.command_id,
        idempotency_key=submission.idempotency_key,
        status="new" if submission.admitted is Admitted.NEW else "existing",
        status_url=status_url(submission.command_id),
    )


@router.post(
    "/commands:batch",
    status_code=202,
    response_description="Validated and admitted: one result per item, in order",
    response_model=BatchAccepted,
    responses={
        200: {"model": BatchAccepted, "description": "Every item existed already"},
        **REFUSALS,
    },
)
def submit_batch(
    body: BatchBody, response: Response, state: State, producer: ProducerName
) -> BatchAccepted:
    """Submit many commands: all are validated first, and any invalid item refuses them all.

    Items whose key was used before for other content come back with status ``conflict``
    (nothing admitted for them); the others are admitted.
    """
    envelopes = _envelopes(state.producer, body.commands, producer, header_key=None, indexed=True)
    submissions = state.producer.admit(envelopes)
    results = [
        ItemResult(
            index=index,
            command_id=s.command_id,
            idempotency_key=s.idempotency_key,
            status=ITEM_STATUS[s.admitted],
            status_url=status_url(s.command_id),
        )
        for index, s in enumerate(submissions)
    ]
    if all(s.admitted is Admitted.EXISTING for s in submissions):
        response.status_code = 200
    log.info("intake", producer=producer, commands=len(results), status="batch")
    return BatchAccepted(results=results)


@router.get(
    "/commands/{command_id}",
    response_model=CommandView,
    responses={404: {"model": Errors, "description": "No such command"}, **REFUSALS},
)
async def command_status(
    command_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,80}$")],
    request: Request,
    state: State,
    producer: ProducerName,
    wait: Annotated[float, Query(ge=0, description=WAIT_DOC)] = 0,
) -> CommandView:
    """A command's state and attempts; with ``wait``, once it has ended (long poll)."""
    record = await read_when_final(
        request.app, state.store.client, command_id, wait, state.settings.accounts
    )
    if record is None:
        raise IntakeError(404, [("command_id", "no such command (unknown, or expired)")])
    return CommandView.of(record)


def _envelopes(
    producer: Producer,
    bodies: list[CancelBody | UpdateBody | RefundBody],
    name: str,
    *,
    header_key: str | None,
    indexed: bool,
) -> list[CommandEnvelope]:
    """Envelopes for every body, or a 422 naming every bad field (``commands[i].`` if indexed)."""
    envelopes: list[CommandEnvelope] = []
    problems: list[tuple[str, str]] = []
    keys: dict[str, tuple[int, str]] = {}
    for index, body in enumerate(bodies):
        where = f"commands[{index}]." if indexed else ""
        try:
            envelope = producer.envelope(
                command_input(body),
                idempotency_key=body.idempotency_key or header_key,
                source="http",
                producer=name,
            )
        except InvalidSubmission as exc:
            problems += [(f"{where}{field}", reason) for field, reason in exc.problems]
            continue
        first = keys.setdefault(envelope.idempotency_key, (index, envelope.fingerprint()))
        if first[0] != index and first[1] != envelope.fingerprint():
            reason = f"the same key as commands[{first[0]}] with other content"
            problems.append((f"{where}idempotency_key", reason))
        envelopes.append(envelope)
    if problems:
        raise IntakeError(422, problems)
    return envelopes
