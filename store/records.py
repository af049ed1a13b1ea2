"""Reads command records back out of the store as ``CommandRecord`` models."""

from __future__ import annotations

from collections.abc import Sequence

import redis

from schemas import Attempt, CommandEnvelope, CommandRecord, CommandState, DeadReason
from store import keys
from store.clock import from_ms


def read_records(client: redis.Redis, command_ids: Sequence[str]) -> list[CommandRecord | None]:
    """The records of ``command_ids`` in one round trip; ``None`` where a record is gone."""
    pipe = client.pipeline(transaction=False)
    for command_id in command_ids:
        pipe.hgetall(keys.command(command_id))
        pipe.lrange(keys.attempts(command_id), 0, -1)
    replies = pipe.execute()
    lanes = _lane_positions(client, [fields for fields in replies[0::2]])
    return [
        _to_record(fields, attempts, lane_position)
        for fields, attempts, lane_position in zip(replies[0::2], replies[1::2], lanes, strict=True)
    ]


def read_record(client: redis.Redis, command_id: str) -> CommandRecord | None:
    """One command's record, or ``None`` when it does not exist (or expired)."""
    return read_records(client, [command_id])[0]


def _lane_positions(client: redis.Redis, records: list[dict[str, str]]) -> list[int | None]:
    pipe = client.pipeline(transaction=False)
    for fields in records:
        pipe.lpos(keys.lane(fields.get("lane", "")), fields.get("id", ""))
    return list(pipe.execute())


def _to_record(
    fields: dict[str, str], attempts: list[str], lane_position: int | None
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
        **(_holder(fields) if state is CommandState.RUNNING else {}),
    )


def _holder(fields: dict[str, str]) -> dict[str, object]:
    """Who runs the command and until when its lease holds (records from before: unknown)."""
    holder: dict[str, object] = {"running_on": fields.get("worker")}
    if claimed_ms := fields.get("claimed_ms"):
        holder["running_since"] = from_ms(int(claimed_ms))
    if lease_until := fields.get("lease_until"):
        holder["lease_until"] = from_ms(int(lease_until))
    return holder
