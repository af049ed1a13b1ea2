"""The system at a glance from the store: commands per state, dead letters by reason, workers."""

from __future__ import annotations

from dataclasses import dataclass

import redis

from schemas import CommandState, DeadReason, WaitingFor
from store import keys
from store.clock import redis_now_ms

WORKER_SEEN_S = 60  # a worker whose scheduler ticked this recently counts as alive


@dataclass(frozen=True)
class Summary:
    """Counts read in one round trip; finished commands count until their retention runs out."""

    states: dict[CommandState, int]
    dead_by_reason: dict[DeadReason, int]
    workers: list[str]  # node names seen in the last WORKER_SEEN_S
    waiting_for: dict[WaitingFor, int]  # the waiting ones by what they wait for

    def to_json(self) -> dict[str, object]:
        """The summary as plain JSON values."""
        return {
            "states": {state.value: count for state, count in self.states.items()},
            "waiting_for": {what.value: n for what, n in self.waiting_for.items()},
            "dead_by_reason": {reason.value: n for reason, n in self.dead_by_reason.items()},
            "workers": self.workers,
        }


def read_summary(client: redis.Redis) -> Summary:
    """Counts per state and per wait (the search's indexes), dead letters per reason, workers."""
    pipe = client.pipeline(transaction=False)
    for state in CommandState:
        pipe.zcard(keys.index("state", state))
    for reason in DeadReason:
        pipe.zcard(keys.dead_letters_by("reason", reason))
    for what in WaitingFor:
        pipe.zcard(keys.index("waiting_for", what))
    counts = iter(pipe.execute())
    states = {state: next(counts) for state in CommandState}
    by_reason = {reason: next(counts) for reason in DeadReason}
    waiting_for = {what: next(counts) for what in WaitingFor}
    return Summary(states, by_reason, workers_seen(client), waiting_for)


def workers_seen(client: redis.Redis) -> list[str]:
    """Node names of the workers whose scheduler ticked in the last ``WORKER_SEEN_S``."""
    since_ms = redis_now_ms(client) - WORKER_SEEN_S * 1000
    return sorted(str(name) for name in client.zrangebyscore(keys.workers_seen(), since_ms, "+inf"))


# where a command waits before it ends, by name: its state, a waiting one by what for (the
# index score is its admission time); a bulk backlog waits by design, apart from queued ones
WAITING_INDEXES: dict[str, str] = {
    CommandState.QUEUED.value: keys.index("state", CommandState.QUEUED),
    CommandState.RETRYING.value: keys.index("state", CommandState.RETRYING),
    **{f"waiting ({w})": keys.index("waiting_for", w) for w in WaitingFor},
}


def oldest_waiting(client: redis.Redis) -> dict[str, int | None]:
    """Per waiting state (and what for), the admission time (ms) of its oldest command."""
    pipe = client.pipeline(transaction=False)
    for index in WAITING_INDEXES.values():
        pipe.zrange(index, 0, 0, withscores=True)
    return {
        name: int(first[0][1]) if first else None
        for name, first in zip(WAITING_INDEXES, pipe.execute(), strict=True)
    }
