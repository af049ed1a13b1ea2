"""Read-only looks at the store a bulk check needs: keys admitted before, commands' states."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import redis

from worker import keys


class KnownKey(NamedTuple):
    """An idempotency key the store has admitted: its command and content fingerprint."""

    command_id: str
    fingerprint: str


def known_keys(client: redis.Redis, idempotency_keys: Sequence[str]) -> list[KnownKey | None]:
    """For each key, what the store admitted under it (``None``: never, or expired).

    One pipelined round trip. The stored value is ``"<command id> <fingerprint>"``, as the
    admission script writes it.
    """
    if not idempotency_keys:
        return []
    pipe = client.pipeline(transaction=False)
    for key in idempotency_keys:
        pipe.get(keys.idempotency(key))
    found: list[KnownKey | None] = []
    for value in pipe.execute():
        command_id, _, fingerprint = str(value or "").partition(" ")
        found.append(KnownKey(command_id, fingerprint) if value else None)
    return found


def command_fields(
    client: redis.Redis, command_ids: Sequence[str], fields: Sequence[str]
) -> list[list[str | None]]:
    """Some fields of each command's record hash, in one pipelined round trip."""
    pipe = client.pipeline(transaction=False)
    for command_id in command_ids:
        pipe.hmget(keys.command(command_id), list(fields))
    return [list(values) for values in pipe.execute()]
