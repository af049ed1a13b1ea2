"""Reads command records back out of the store as ``CommandRecord`` models."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta

import redis

from providers.accounts import Account
from schemas import Attempt, CommandEnvelope, CommandRecord, CommandState, DeadReason, WaitingFor
from store import keys
from store.clock import from_ms, utcnow
from store.waits import BacklogRates, Place


def read_records(
    client: redis.Redis,
    command_ids: Sequence[str],
    *,
    accounts: Mapping[str, Account] | None = None,
) -> list[CommandRecord | None]:
    """The records of ``command_ids``; ``None`` where a record is gone.

    A command in its account's bulk backlog gets its place there and an ETA, at the rate the
    backlog drains at (configured in ``accounts`` while none is measured).
    """
    pipe = client.pipeline(transaction=False)
    for command_id in command_ids:
        pipe.hgetall(keys.command(command_id))
        pipe.lrange(keys.attempts(command_id), 0, -1)
    replies = pipe.execute()
    records = list(replies[0::2])
    lanes = _lane_positions(client, records)
    places = _backlog_places(client, records, accounts)
    return [
        _to_record(fields, attempts, lane_position, places.get(fields.get("id", "")))
        for fields, attempts, lane_position in zip(records, replies[1::2], lanes, strict=True)
    ]


def read_record(
    client: redis.Redis, command_id: str, *, accounts: Mapping[str, Account] | None = None
) -> CommandRecord | None:
    """One command's record, or ``None`` when it does not exist (or expired)."""
    return read_records(client, [command_id], accounts=accounts)[0]


def _lane_positions(client: redis.Redis, records: list[dict[str, str]]) -> list[int | None]:
    pipe = client.pipeline(transaction=False)
    for fields in records:
        pipe.lpos(keys.lane(fields.get("lane", "")), fields.get("id", ""))
    return list(pipe.execute())


def _backlog_places(
    client: redis.Redis, records: list[dict[str, str]], accounts: Mapping[str, Account] | None
) -> dict[str, Place | None]:
    """Place and ETA of each record waiting for the backlog (one more round trip if any)."""
    backlogged = [
        (fields["id"], CommandEnvelope.model_validate_json(fields["envelope"]).command.account)
        for fields in records
        if fields and _waiting_for(fields) is WaitingFor.BACKLOG
    ]
    places = BacklogRates(client, accounts).places(backlogged)
    return {command_id: place for (command_id, _), place in zip(backlogged, places, strict=True)}


def _waiting_for(fields: dict[str, str]) -> WaitingFor | None:
    """What a waiting record waits for (its lane when written before the field existed)."""
    if fields.get("state") != CommandState.WAITING:
        return None
    return WaitingFor(fields.get("waiting_for") or WaitingFor.LANE)


def _to_record(
    fields: dict[str, str],
    attempts: list[str],
    lane_position: int | None,
    place: Place | None,
) -> CommandRecord | None:
    if not fields:
        return None
    next_ms = fields.get("next_ms")
    dead_reason = fields.get("dead_reason")
    state = CommandState(fields["state"])
    return CommandRecord(
        id=fields["id"],
        envelope=CommandEnvelope.model_validate_json(fields["envelope"]),
        state=state,
        created_at=from_ms(int(fields["created_ms"])),
        updated_at=from_ms(int(fields["updated_ms"])),
        attempts=[Attempt.model_validate_json(a) for a in attempts],
        deliveries=int(fields.get("deliveries", 0)),
        next_attempt_at=from_ms(int(next_ms)) if next_ms else None,
        dead_reason=DeadReason(dead_reason) if dead_reason else None,
        last_message=fields.get("last_message", ""),
        lane_position=lane_position,
        **_wait(fields, place),
        **(_holder(fields) if state is CommandState.RUNNING else {}),
    )


def _wait(fields: dict[str, str], place: Place | None) -> dict[str, object]:
    """What a waiting command waits for, its place in a backlog, and until when, if known."""
    waiting_for = _waiting_for(fields)
    if waiting_for is None:
        return {}
    wait: dict[str, object] = {"waiting_for": waiting_for}
    next_ms = fields.get("next_ms")
    if place is not None:
        wait["backlog_place"] = place.place
        if place.eta_s is not None:
            wait["waiting_until"] = utcnow() + timedelta(seconds=place.eta_s)
    elif waiting_for is not WaitingFor.LANE and next_ms:
        # a gate's due time; out of the backlog, a released bulk command's slot
        wait["waiting_until"] = from_ms(int(next_ms))
    return wait


def _holder(fields: dict[str, str]) -> dict[str, object]:
    """Who runs the command and until when its lease holds (records from before: unknown)."""
    holder: dict[str, object] = {"running_on": fields.get("worker")}
    if claimed_ms := fields.get("claimed_ms"):
        holder["running_since"] = from_ms(int(claimed_ms))
    if lease_until := fields.get("lease_until"):
        holder["lease_until"] = from_ms(int(lease_until))
    return holder
