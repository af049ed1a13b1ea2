"""The outcome stream on a real Redis: each transition a producer cares about appends one event.

Every event is written by the script that changes the state; a fenced or refused transition
writes none, and the stream stays near its bound.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
import redis

from schemas import Attempt, AttemptOutcome, CommandState, DeadReason
from store import keys
from store.command_store import Claim, CommandStore, LeaseLost, Spend, StoreLimits
from store.deadletters import DeadLetters, NotADeadLetter
from store.outcomes import Outcome, OutcomeEvent, Outcomes
from store.replay_edit import edit_and_replay
from tests.factories import make_command, make_envelope

ATTEMPT = Attempt(
    number=1,
    started_at=datetime(2026, 12, 1, tzinfo=UTC),
    duration_ms=12,
    outcome=AttemptOutcome.FAILED,
    http_status=500,
    message="upstream down",
)


@pytest.fixture
def real_store(redis_client: redis.Redis) -> CommandStore:
    """A command store on the session's real Redis (flushed), outcome stream bound 200."""
    limits = StoreLimits(retention_s=3600, guard_ms=60_000, lease_ms=30_000, outcomes_max_len=200)
    return CommandStore(redis_client, limits)


def claimed(store: CommandStore, command_id: str) -> Claim:
    claim = store.claim(command_id)
    assert isinstance(claim, Claim), claim
    return claim


def events(store: CommandStore) -> list[Outcome]:
    return Outcomes(store.client).read("0-0", count=10_000)


def admit_and_claim(store: CommandStore, key: str = "k-1", **overrides: str) -> Claim:
    return claimed(store, store.admit(make_envelope(key, **overrides)).command_id)


def dead(store: CommandStore, key: str = "k-1") -> str:
    claim = admit_and_claim(store, key)
    store.finish(claim, CommandState.DEAD, ATTEMPT, reason=DeadReason.REJECTED, message="no")
    return claim.command_id


@pytest.mark.parametrize(
    ("state", "reason", "event"),
    [
        (CommandState.SUCCEEDED, None, OutcomeEvent.SUCCEEDED),
        (CommandState.ALREADY_DONE, None, OutcomeEvent.ALREADY_DONE),
        (CommandState.DEAD, DeadReason.EXHAUSTED, OutcomeEvent.DEAD),
    ],
)
def test_a_finish_appends_one_event_with_the_whole_body(real_store, state, reason, event):
    claim = admit_and_claim(real_store)
    real_store.finish(claim, state, ATTEMPT, reason=reason, message="done at the provider")
    [outcome] = events(real_store)
    assert outcome == Outcome(
        event_id=outcome.event_id,
        event=event,
        command_id=claim.command_id,
        idempotency_key="k-1",
        provider="backd",
        account="acme",
        order_id="BO-000001",
        kind="cancel",
        state=str(state),
        reason=str(reason or ""),
        attempts=1,
        message="done at the provider",
        at_ms=outcome.at_ms,
    )
    assert outcome.final
    assert abs(outcome.at_ms - int(outcome.event_id.split("-")[0])) <= 1


def test_a_fenced_finish_appends_nothing(real_store):
    claim = admit_and_claim(real_store)
    real_store.finish(claim, CommandState.SUCCEEDED, None)
    with pytest.raises(LeaseLost):
        real_store.finish(claim, CommandState.SUCCEEDED, None)
    assert [e.event for e in events(real_store)] == [OutcomeEvent.SUCCEEDED]


def test_a_retry_after_an_attempt_is_one_event_and_a_free_wait_is_none(real_store):
    claim = admit_and_claim(real_store)
    real_store.retry(
        claim, ATTEMPT, delay_s=0, spend=Spend.ATTEMPT, reconcile_first=True, message="5xx"
    )
    claim = claimed(real_store, claim.command_id)
    real_store.retry(claim, None, delay_s=0, spend=Spend.NOTHING, reconcile_first=False)
    [outcome] = events(real_store)
    assert (outcome.event, outcome.state, outcome.attempts, outcome.message) == (
        OutcomeEvent.RETRY_SCHEDULED,
        "retrying",
        1,
        "5xx",
    )
    assert not outcome.final


def test_replay_appends_replayed_with_the_reason_it_had(real_store):
    command_id = dead(real_store)
    DeadLetters(real_store).replay(command_id, actor="ops", why="fixed")
    with pytest.raises(NotADeadLetter):
        DeadLetters(real_store).replay(command_id, actor="ops", why="twice")
    assert [(e.event, e.state, e.reason) for e in events(real_store)] == [
        (OutcomeEvent.DEAD, "dead", "rejected"),
        (OutcomeEvent.REPLAYED, "queued", "rejected"),
    ]


def test_edit_and_replay_appends_edited(real_store):
    command_id = dead(real_store)
    edited = make_command(reason="customer asked")
    edit_and_replay(real_store, command_id, edited, actor="ops", why="typo")
    assert [(e.event, e.state) for e in events(real_store)] == [
        (OutcomeEvent.DEAD, "dead"),
        (OutcomeEvent.EDITED, "queued"),
    ]


def test_discarding_a_dead_letter_appends_discarded_once(real_store):
    command_id = dead(real_store)
    DeadLetters(real_store).discard(command_id, actor="ops", why="duplicate")
    with pytest.raises(NotADeadLetter):
        DeadLetters(real_store).discard(command_id, actor="ops", why="again")
    outcome = events(real_store)[-1]
    assert (outcome.event, outcome.state, outcome.reason, len(events(real_store))) == (
        OutcomeEvent.DISCARDED,
        "discarded",
        "rejected",
        2,
    )


def test_discarding_a_pending_command_appends_discarded(real_store):
    head = real_store.admit(make_envelope("a"))
    waiting = real_store.admit(make_envelope("b", kind="refund"))
    assert real_store.discard_pending(waiting.command_id, actor="ops", why="mistake")
    assert not real_store.discard_pending(waiting.command_id, actor="ops", why="again")
    [outcome] = events(real_store)
    assert (outcome.command_id, outcome.event, outcome.kind) == (
        waiting.command_id,
        OutcomeEvent.DISCARDED,
        "refund",
    )
    assert head.command_id != outcome.command_id


def test_admission_and_claims_append_nothing(real_store):
    admission = real_store.admit(make_envelope())
    real_store.admit(make_envelope())
    claimed(real_store, admission.command_id)
    assert events(real_store) == []


def test_the_stream_is_bounded_near_its_max_length(real_store):
    for n in range(300):
        real_store.finish(admit_and_claim(real_store, f"k-{n}"), CommandState.SUCCEEDED, None)
    length = real_store.client.xlen(keys.outcomes())
    assert 200 <= length < 300  # MAXLEN ~ trims whole radix-tree nodes (100 entries each)


def test_wait_final_returns_at_once_for_a_finished_command(real_store):
    claim = admit_and_claim(real_store)
    real_store.finish(claim, CommandState.SUCCEEDED, None)
    assert Outcomes(real_store.client).wait_final(claim.command_id, 0) is CommandState.SUCCEEDED


def test_wait_final_times_out_on_a_running_command_and_refuses_unknown_ones(real_store):
    claim = admit_and_claim(real_store)
    assert Outcomes(real_store.client).wait_final(claim.command_id, 0.2) is None
    with pytest.raises(LookupError):
        Outcomes(real_store.client).wait_final("nope", 0.1)


def test_wait_final_is_woken_by_the_event_of_a_later_finish(real_store):
    claim = admit_and_claim(real_store)
    other = admit_and_claim(real_store, "other", order_id="BO-000009")
    real_store.finish(other, CommandState.SUCCEEDED, None)
    finisher = threading.Timer(
        0.3, real_store.finish, (claim, CommandState.DEAD, None), {"reason": DeadReason.AUTH}
    )
    finisher.start()
    started = time.monotonic()
    assert Outcomes(real_store.client).wait_final(claim.command_id, 10) is CommandState.DEAD
    assert time.monotonic() - started < 2
    finisher.join()
